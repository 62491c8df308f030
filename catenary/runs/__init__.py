"""Runs owned by nodes (issue 15, docs/design.md "Runs owned by nodes").

- :mod:`catenary.runs.orders`: what a run was submitted with (its inputs by segment), kept
  with its lease so that any node can continue it;
- :mod:`catenary.runs.driver`: the node's run driver: submit, drive to the end holding the
  run's lease, renew it, take over runs whose lease lapsed, cancel;
- :mod:`catenary.runs.follow`: follow a run another process drives, segment by segment
  (local node or gRPC client alike).
"""

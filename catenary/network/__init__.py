"""A network of nodes that share no database (issue 18, docs/network.md).

By job: :mod:`.blocks` (every record and value of a node as an IPLD block, by CID),
:mod:`.gateway` (the IPFS Trustless Gateway responses over those blocks), :mod:`.peers`
(the nodes this one follows), :mod:`.fetch` (bounded HTTP reads from a peer) and
:mod:`.sync` (following a peer's announcements and storing what verifies).
"""

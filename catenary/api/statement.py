"""The ``Statement`` gRPC service: thin, each call goes to ``node.statements``.

Signing stays with the claimant: a client sends an envelope it signed (its key never
travels); the node verifies it against its own store by re-execution."""

from __future__ import annotations

import json

import grpc

from catenary.api import convert
from catenary.api.errors import unary
from catenary.errors import BadInputError
from catenary.proto.api import statement_pb2, statement_pb2_grpc
from catenary.sdk import Node
from catenary.statements import Envelope, StatementReport


def report_to_pb(r: StatementReport) -> statement_pb2.StatementReport:
    msg = statement_pb2.StatementReport(id=r.id.cid_bytes, holds=r.ok, reason=r.reason)
    if r.claimant is not None:
        msg.claimant = r.claimant
    if r.claim is not None:
        msg.claim = json.dumps(r.claim, sort_keys=True)
    if r.proof is not None:
        msg.execution = r.proof.execution.cid_bytes
    if r.refused is not None:
        msg.refused = r.refused
    return msg


def _envelope(request: statement_pb2.StatementEnvelope) -> Envelope:
    if not request.json:
        raise BadInputError("json: the DSSE envelope is required")
    return Envelope.loads(request.json, "json")


# Shaped like every servicer in api/servicers.py (holds the node, converts), by design.
class StatementServicer(statement_pb2_grpc.StatementServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Verify(
        self, request: statement_pb2.StatementEnvelope, context: grpc.ServicerContext
    ) -> statement_pb2.StatementReport:
        return report_to_pb(self.node.statements.verify(_envelope(request)))

    @unary
    def Submit(
        self, request: statement_pb2.StatementEnvelope, context: grpc.ServicerContext
    ) -> statement_pb2.StatementReport:
        return report_to_pb(self.node.statements.submit(_envelope(request)))

    @unary
    def Get(
        self, request: statement_pb2.GetStatementRequest, context: grpc.ServicerContext
    ) -> statement_pb2.StatementEnvelope:
        envelope = self.node.statements.get(convert.cid(request.id, "id"))
        return statement_pb2.StatementEnvelope(json=envelope.dumps())

    @unary
    def List(
        self, request: statement_pb2.ListStatementsRequest, context: grpc.ServicerContext
    ) -> statement_pb2.ListStatementsResponse:
        execution = convert.cid(request.execution, "execution") if request.execution else None
        rows = []
        for s in self.node.statements.list(execution):
            msg = statement_pb2.StatementReport(
                id=s.id.cid_bytes,
                claimant=s.claimant,
                claim=json.dumps(s.claim, sort_keys=True),
                execution=s.proof.execution.cid_bytes,
                holds=True,
                reason="as signed (not re-checked by List)",
            )
            rows.append(msg)
        return statement_pb2.ListStatementsResponse(statements=rows)

"""Sessions: one grant, then a MAC per call; each refusal class is its own problem, and the
session key is the one both sides derive without sending it."""

from __future__ import annotations

import base64
import hmac
import json
import os
import time

import pytest
from cryptography.hazmat.primitives import serialization

from catenary.errors import AuthenticationError, TokenError
from catenary.trust.identity import Identity
from catenary.trust.session import (
    GRANT_KEY,
    GRANT_TYPE,
    WINDOW,
    ClientSession,
    Keyed,
    SessionChecker,
    Sessions,
    exchange_private,
    exchange_public,
)
from catenary.trust.token import MAX_LIFETIME, Issuer, Problem, TokenChecker

METHOD = "/catenary.api.v1.Run/Next"
OTHER = "/catenary.api.v1.Run/New"


@pytest.fixture
def keys() -> tuple[Identity, Identity]:
    return Identity.generate(), Identity.generate()  # a caller, a node


def proof(session: ClientSession, method: str = METHOD, grant: bool = True) -> tuple[str, str | None]:
    metadata = dict(session.metadata(method, grant=True))
    return metadata["authorization"].removeprefix("Session "), metadata[GRANT_KEY] if grant else None


def refused(checker: SessionChecker, sent: tuple[str, str | None], method: str = METHOD, **kw) -> Problem:
    with pytest.raises(TokenError) as info:
        checker.check(*sent, method, **kw)
    assert isinstance(info.value, AuthenticationError)
    assert str(info.value).startswith(info.value.problem.value + ": ")
    return info.value.problem


def test_the_exchange_key_of_a_did_is_the_one_its_private_key_gives() -> None:
    for _ in range(20):
        identity = Identity.generate()
        raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert exchange_public(identity.id).public_bytes(*raw) == (
            exchange_private(identity).public_key().public_bytes(*raw)
        )


def test_the_precomputed_mac_is_hmac_sha256() -> None:
    for size in (0, 1, 32, 64, 65, 200):
        key, message = os.urandom(size), os.urandom(size * 3)
        assert Keyed(key).hexdigest(message) == hmac.digest(key, message, "sha256").hex()


def test_a_session_names_its_caller_on_every_call_and_each_counter_once(keys) -> None:
    caller, node = keys
    checker = SessionChecker(node)
    session = Sessions(caller).current(node.id)
    first = proof(session)
    assert checker.check(*first, METHOD) == caller.id
    for _ in range(3):  # once open, the grant need not come along
        assert checker.check(*proof(session, grant=False), METHOD) == caller.id
    assert len(checker) == 1
    assert refused(checker, first) is Problem.REPLAYED_COUNTER
    header = json.loads(base64.urlsafe_b64decode(session.grant.split(".")[0] + "=="))
    assert header == {"alg": "Ed25519", "typ": GRANT_TYPE}


def test_counters_may_arrive_out_of_order_within_the_window(keys) -> None:
    caller, node = keys
    checker = SessionChecker(node)
    session = Sessions(caller).current(node.id)
    sent = [proof(session) for _ in range(WINDOW + 2)]
    checker.check(*sent[1], METHOD)
    checker.check(*sent[0], METHOD)  # late, but not used yet
    checker.check(*sent[WINDOW + 1], METHOD)
    assert refused(checker, sent[0]) is Problem.REPLAYED_COUNTER  # now behind the window
    assert refused(checker, sent[1]) is Problem.REPLAYED_COUNTER
    checker.check(*sent[WINDOW], METHOD)
    assert refused(checker, sent[WINDOW]) is Problem.REPLAYED_COUNTER


def test_every_refusal_class_is_named(keys) -> None:
    caller, node = keys
    checker = SessionChecker(node)
    issuer = Issuer(caller)
    session = ClientSession(issuer, node.id)
    sid_proof, grant = proof(session)
    assert refused(checker, (sid_proof, None)) is Problem.UNKNOWN_SESSION
    assert refused(checker, ("no-dots", grant)) is Problem.MALFORMED
    assert refused(checker, (sid_proof.replace(".0.", ".x."), grant)) is Problem.MALFORMED
    assert refused(checker, (sid_proof, grant), OTHER) is Problem.BAD_MAC  # bound to its method
    assert refused(checker, (sid_proof[:-4] + "0000", grant)) is Problem.BAD_MAC
    assert checker.check(sid_proof, grant, METHOD) == caller.id
    assert refused(checker, (sid_proof, grant)) is Problem.REPLAYED_COUNTER
    other = ClientSession(issuer, node.id)
    assert refused(checker, (proof(other)[0], grant)) is Problem.MALFORMED  # grant of another sid
    stranger = Identity.generate()
    assert refused(checker, proof(ClientSession(issuer, stranger.id))) is Problem.WRONG_AUDIENCE
    stale = ClientSession(issuer, node.id, now=time.time() - 900)
    assert refused(checker, proof(stale)) is Problem.EXPIRED_SESSION
    assert refused(checker, proof(ClientSession(issuer, node.id, lifetime=MAX_LIFETIME * 2))) is (
        Problem.MALFORMED
    )


def test_a_session_expires_on_the_node(keys) -> None:
    caller, node = keys
    checker = SessionChecker(node)
    session = ClientSession(Issuer(caller), node.id, lifetime=60)
    checker.check(*proof(session), METHOD)
    later = time.time() + 60 + checker.skew + 1
    assert refused(checker, proof(session, grant=False), now=later) is Problem.EXPIRED_SESSION


def test_a_grant_signed_by_another_key_is_a_bad_signature(keys) -> None:
    caller, node = keys
    forger = ClientSession(Issuer(Identity.generate()), node.id)
    header, payload, signature = forger.grant.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = caller.id
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    sent = (proof(forger)[0], f"{header}.{altered}.{signature}")
    assert refused(SessionChecker(node), sent) is Problem.BAD_SIGNATURE


def test_grants_and_tokens_are_not_taken_for_each_other(keys) -> None:
    caller, node = keys
    session = ClientSession(Issuer(caller), node.id)
    with pytest.raises(TokenError) as info:
        TokenChecker(node.id).check(session.grant, METHOD)
    assert info.value.problem is Problem.MALFORMED
    token = Issuer(caller).issue(node.id, METHOD)
    assert refused(SessionChecker(node), (proof(session)[0], token)) is Problem.MALFORMED


def test_a_session_is_renewed_before_it_ends(keys) -> None:
    caller, node = keys
    sessions = Sessions(caller, lifetime=100)
    now = time.time()
    first = sessions.current(node.id, now)
    assert sessions.current(node.id, now + 10) is first
    assert sessions.current(node.id, now + 60) is not first  # under half its life left


def test_the_grant_is_sent_until_the_node_has_taken_it(keys) -> None:
    caller, node = keys
    session = Sessions(caller).current(node.id)
    assert [name for name, _ in session.metadata(METHOD)] == ["authorization", GRANT_KEY]
    session.acknowledged = True
    assert [name for name, _ in session.metadata(METHOD)] == ["authorization"]
    assert [name for name, _ in session.metadata(METHOD, grant=True)] == ["authorization", GRANT_KEY]


def test_the_node_forgets_sessions_as_they_expire(keys) -> None:
    caller, node = keys
    checker = SessionChecker(node)
    now = time.time()
    for _ in range(3):
        checker.check(*proof(ClientSession(Issuer(caller), node.id, lifetime=60, now=now)), METHOD, now=now)
    assert len(checker) == 3
    later = now + 60 + checker.skew + 5
    checker.check(*proof(ClientSession(Issuer(caller), node.id, now=later)), METHOD, now=later)
    assert len(checker) == 1

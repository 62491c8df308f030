"""Call tokens: each refusal class is its own error, and the replay cache forgets expired tokens."""

from __future__ import annotations

import base64
import json
import time

import pytest

from catenary.errors import AuthenticationError
from catenary.trust.identity import Identity
from catenary.trust.token import MAX_LIFETIME, Problem, TokenChecker, TokenError, issue

METHOD = "/catenary.api.v1.Run/Next"


@pytest.fixture
def keys() -> tuple[Identity, Identity]:
    return Identity.generate(), Identity.generate()  # a caller, a node


def refused(
    checker: TokenChecker, token: str | None, method: str = METHOD, now: float | None = None
) -> TokenError:
    with pytest.raises(TokenError) as info:
        checker.check(token, method, now=now)
    assert isinstance(info.value, AuthenticationError)
    assert str(info.value).startswith(info.value.problem.value + ": ")
    return info.value


def test_a_valid_token_names_its_issuer_once(keys) -> None:
    caller, node = keys
    checker = TokenChecker(node.id)
    token = issue(caller, node.id, METHOD)
    claims = checker.check(token, METHOD)
    assert (claims.issuer, claims.audience, claims.method) == (caller.id, node.id, METHOD)
    assert claims.expires - claims.issued_at <= MAX_LIFETIME
    assert refused(checker, token).problem is Problem.REPLAYED
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "Ed25519"


def test_every_refusal_class_is_named(keys) -> None:
    caller, node = keys
    checker = TokenChecker(node.id)
    other = Identity.generate()
    assert refused(checker, None).problem is Problem.MISSING
    assert refused(checker, "").problem is Problem.MISSING
    assert refused(checker, "not.a.jws").problem is Problem.MALFORMED
    assert refused(checker, issue(caller, other.id, METHOD)).problem is Problem.WRONG_AUDIENCE
    assert (
        refused(checker, issue(caller, node.id, "/catenary.api.v1.Run/New")).problem is Problem.WRONG_METHOD
    )
    stale = issue(caller, node.id, METHOD, now=time.time() - 600)
    assert refused(checker, stale).problem is Problem.EXPIRED
    long_lived = issue(caller, node.id, METHOD, lifetime=MAX_LIFETIME * 10)
    assert "over the" in str(refused(checker, long_lived))


def test_a_token_signed_by_another_key_than_its_issuer_is_a_bad_signature(keys) -> None:
    caller, node = keys
    forger = Identity.generate()
    header, payload, signature = issue(forger, node.id, METHOD).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = caller.id  # claim to be the caller, signed by the forger
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    error = refused(TokenChecker(node.id), f"{header}.{forged}.{signature}")
    assert error.problem is Problem.BAD_SIGNATURE and caller.id in str(error)


def test_the_replay_cache_is_bounded_by_expiry(keys) -> None:
    caller, node = keys
    checker = TokenChecker(node.id)
    start = time.time()
    for _ in range(50):
        checker.check(issue(caller, node.id, METHOD, lifetime=10, now=start), METHOD, now=start)
    assert len(checker) == 50
    later = start + 10 + checker.skew + 1  # all 50 have expired: the next check forgets them
    checker.check(issue(caller, node.id, METHOD, lifetime=10, now=later), METHOD, now=later)
    assert len(checker) == 1

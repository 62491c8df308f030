"""Call tokens: short-lived JWS (EdDSA) proofs that a call comes from the holder of a did:key.

A token is a compact JWS (RFC 7515) signed with EdDSA (RFC 8037; alg "Ed25519", the RFC 9864
name) by the caller's ed25519 key, over these JWT claims::

    iss  the caller's did:key: the public key that checks the signature travels in the id
    aud  the node's did:key: a token made for one node is refused by every other
    mth  the full gRPC method ("/catenary.api.v1.Run/Next"): one token, one kind of call
    iat  issued at, exp  expiry (seconds since the epoch); at most MAX_LIFETIME apart
    jti  a random id: the checker remembers it until ``exp`` and refuses it a second time

The replay cache holds only tokens not yet expired, so its size is bounded by the call
rate times MAX_LIFETIME, whatever the traffic; a token is one call, never a session.
"""

from __future__ import annotations

import base64
import heapq
import json
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from catenary.errors import BadInputError, TokenError
from catenary.limits import shown
from catenary.trust.identity import Identity, public_key_from_did

ALGORITHM = "Ed25519"  # EdDSA over Ed25519, by its RFC 9864 fully-specified name
LIFETIME = 60.0  # seconds a client's token lives
MAX_LIFETIME = 300.0  # longer-lived tokens are refused: they would grow the replay cache
CLOCK_SKEW = 30.0  # tolerated difference between the caller's and the node's clocks
KEY_CACHE = 4096  # issuers whose public JWK is kept (building one costs about a signature)
_ALG = jws.JWSRegistry(algorithms=[ALGORITHM]).get_alg(ALGORITHM)


class Problem(StrEnum):
    """Why a token or a session proof (catenary/trust/session.py) was refused; each is the
    start of the error message."""

    MISSING = "missing token"
    MALFORMED = "malformed token"
    BAD_SIGNATURE = "bad signature"
    EXPIRED = "expired token"
    WRONG_AUDIENCE = "wrong audience"
    WRONG_METHOD = "wrong method"
    REPLAYED = "replayed token"
    UNKNOWN_SESSION = "unknown session"
    EXPIRED_SESSION = "expired session"
    BAD_MAC = "bad mac"
    REPLAYED_COUNTER = "replayed counter"


@dataclass(frozen=True)
class Claims:
    issuer: str
    audience: str
    method: str
    issued_at: float
    expires: float
    token_id: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(did: str) -> OKPKey:
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_key_from_did(did))})


class Issuer:
    """Makes tokens signed by one key (the JWK is built once: clients sign every call)."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self._key = OKPKey.import_key(identity._private)

    def issue(self, audience: str, method: str, lifetime: float = LIFETIME, now: float | None = None) -> str:
        """A token for one call of ``method`` on the node ``audience``."""
        issued = time.time() if now is None else now
        claims = {
            "iss": self.identity.id,
            "aud": audience,
            "mth": method,
            "iat": int(issued),
            "exp": int(issued + lifetime),
            "jti": secrets.token_urlsafe(16),
        }
        return self.sign(claims)

    def sign(self, claims: dict[str, object], typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` (a token, or a session grant with its own ``typ``)."""
        return jws.serialize_compact(
            {"alg": ALGORITHM, "typ": typ},
            json.dumps(claims, separators=(",", ":")).encode(),
            self._key,
            algorithms=[ALGORITHM],
        )


def issue(
    identity: Identity, audience: str, method: str, lifetime: float = LIFETIME, now: float | None = None
) -> str:
    """A token for one call of ``method`` on the node ``audience``, signed by ``identity``."""
    return Issuer(identity).issue(audience, method, lifetime, now)


class SignatureChecker:
    """Checks the EdDSA signature of a compact JWS against the key inside its ``iss`` did:key,
    keeping the public keys of recent issuers (building one costs about a signature)."""

    def __init__(self) -> None:
        self._keys: dict[str, OKPKey] = {}

    def payload(self, token: str, typ: str | None = None) -> dict[str, object]:
        """The JSON payload of ``token`` once its signature verifies; TokenError otherwise.
        ``typ``, when given, is the ``typ`` header the token must carry."""
        try:
            compact = jws.extract_compact(token.encode())
            payload = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeError, RecursionError) as exc:
            raise TokenError(Problem.MALFORMED, f"not a compact JWS with a JSON payload ({exc})") from None
        if compact.protected.get("alg") != ALGORITHM:
            raise TokenError(
                Problem.MALFORMED, f"alg is {shown(compact.protected.get('alg'))}, expected {ALGORITHM!r}"
            )
        extra = sorted(set(compact.protected) - {"alg", "typ", "kid"})
        if extra:  # e.g. "crit": a header this checker does not understand must not be ignored
            raise TokenError(Problem.MALFORMED, f"unsupported header parameter {shown(extra[0])}")
        if typ is not None and compact.protected.get("typ") != typ:
            raise TokenError(
                Problem.MALFORMED, f"typ is {shown(compact.protected.get('typ'))}, expected {typ!r}"
            )
        if not isinstance(payload, dict):
            raise TokenError(Problem.MALFORMED, "the payload is not a JSON object")
        issuer = payload.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise TokenError(Problem.MALFORMED, "claim 'iss' is missing or not a string")
        key = self._keys.get(issuer)
        if key is None:
            try:
                key = _public_jwk(issuer)
            except BadInputError as exc:
                raise TokenError(Problem.MALFORMED, f"iss: {exc}") from None
            if len(self._keys) >= KEY_CACHE:
                self._keys.clear()  # crude but bounded: rebuilt on the next call of each issuer
            self._keys[issuer] = key
        try:
            # joserfc.jws uses verify_compact but leaves it out of its __all__.
            valid = jws.verify_compact(compact, _ALG, key)  # type: ignore[attr-defined]
        except (JoseError, ValueError):
            valid = False
        if not valid:
            raise TokenError(
                Problem.BAD_SIGNATURE,
                f"the signature does not verify under {issuer} (forged, altered, or signed by another key)",
            ) from None
        return payload


class TokenChecker:
    """Checks tokens for one node (``audience``) and remembers used ones until they expire."""

    def __init__(self, audience: str, max_lifetime: float = MAX_LIFETIME, skew: float = CLOCK_SKEW) -> None:
        self.audience = audience
        self.max_lifetime = max_lifetime
        self.skew = skew
        self._seen: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []  # min-heap: forget tokens as they expire
        self._lock = threading.Lock()
        self._signatures = SignatureChecker()

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, token: str | None, method: str, now: float | None = None) -> Claims:
        """The claims of a valid, unused token for ``method``; TokenError says what is wrong."""
        now = time.time() if now is None else now
        if not token:
            raise TokenError(
                Problem.MISSING,
                f"{method} changes state: send 'authorization: "
                f"Bearer <token>' metadata or a client certificate",
            )
        claims = _claims(self._signatures.payload(token))
        if claims.audience != self.audience:
            raise TokenError(
                Problem.WRONG_AUDIENCE, f"the token is for {claims.audience}, this node is {self.audience}"
            )
        if claims.method != method:
            raise TokenError(Problem.WRONG_METHOD, f"the token is for {claims.method}, not {method}")
        if claims.expires + self.skew < now:
            raise TokenError(Problem.EXPIRED, f"the token expired at {claims.expires:.0f}, now is {now:.0f}")
        if claims.issued_at - self.skew > now:
            raise TokenError(
                Problem.MALFORMED,
                f"the token is issued in the future (iat {claims.issued_at:.0f}, now {now:.0f})",
            )
        if claims.expires - claims.issued_at > self.max_lifetime:
            raise TokenError(
                Problem.MALFORMED,
                f"the token lives {claims.expires - claims.issued_at:.0f}"
                f" s, over the {self.max_lifetime:.0f} s allowed",
            )
        self._remember(claims, now)
        return claims

    def _remember(self, claims: Claims, now: float) -> None:
        with self._lock:
            while self._expiry and self._expiry[0][0] + self.skew < now:
                self._seen.pop(heapq.heappop(self._expiry)[1], None)
            if claims.token_id in self._seen:
                raise TokenError(
                    Problem.REPLAYED,
                    f"token {claims.token_id} of {claims.issuer} was already used; make one per call",
                )
            self._seen[claims.token_id] = claims.expires
            heapq.heappush(self._expiry, (claims.expires, claims.token_id))


def _claims(payload: object) -> Claims:
    if not isinstance(payload, dict):
        raise TokenError(Problem.MALFORMED, "the payload is not a JSON object")
    for name, kind in (
        ("iss", str),
        ("aud", str),
        ("mth", str),
        ("jti", str),
        ("iat", (int, float)),
        ("exp", (int, float)),
    ):
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            raise TokenError(
                Problem.MALFORMED,
                f"claim {name!r} is missing or not a {'string' if kind is str else 'number'}",
            )
    return Claims(
        payload["iss"],
        payload["aud"],
        payload["mth"],
        float(payload["iat"]),
        float(payload["exp"]),
        payload["jti"],
    )

"""Sessions: one signed grant per client and node, then a keyed MAC per call.

A call token (catenary/trust/token.py) costs an Ed25519 signature on the client and a
verification on the node for every call. A session pays that once, when it opens:

The **grant** is a compact JWS signed by the caller's key like a token, with header
``"typ": "catenary-session+jwt"`` (a grant is never taken for a token, nor a token for a
grant) and these claims::

    iss  the caller's did:key         aud  the node's did:key
    sid  a random session id          epk  a fresh X25519 public key of the client
    iat, exp  at most MAX_LIFETIME apart (clients ask for LIFETIME)

The **session key** is ``HKDF-SHA256(X25519(e, N), info = "catenary-session-v1" sid iss aud)``:
``e`` is the private half of ``epk``, ``N`` the node's X25519 key, which is its ed25519
identity key carried over by the birational map of RFC 7748 (as libsodium's
``crypto_sign_ed25519_pk_to_curve25519`` does), so the client needs only the node's did,
which it already has as the audience. The node computes the same key from its private key
and ``epk``. The key never travels: reading the traffic of a plain-text channel gives the
grant and the MACs, not the means to make a MAC for another call.

**Each call** carries ``authorization: Session <sid>.<counter>.<mac>``, where ``mac`` is
hex(HMAC-SHA256(key, method LF sid LF counter)): it is bound to the method, and each
counter is accepted once. Concurrent calls arrive out of order, so the node keeps a window
of the last WINDOW counters (as IPsec and DTLS do). The grant rides along in
``catenary-session-grant`` metadata until a call carrying it has passed the node's check
(and always on streams and futures, whose outcome comes later); a node that holds the
session only compares a grant with its own copy. A node that restarted (sessions live in
memory) refuses a call without the grant as ``unknown session``; the client then sends the
call once more with the grant, which reopens the session: nothing ran the first time.

The node forgets a session at its ``exp``, so the table is bounded by the rate of new
grants times MAX_LIFETIME, as the token replay cache is. Neither tokens nor sessions bind
the request body: without TLS, someone on the path could alter a request in flight either way.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from catenary.errors import BadInputError, TokenError
from catenary.limits import shown
from catenary.trust.identity import Identity, public_key_from_did
from catenary.trust.token import CLOCK_SKEW, MAX_LIFETIME, Issuer, Problem, SignatureChecker

SCHEME = "Session"  # authorization: Session <sid>.<counter>.<mac>
GRANT_KEY = "catenary-session-grant"
GRANT_TYPE = "catenary-session+jwt"
LIFETIME = 240.0  # seconds a client's session lives
RENEW = 60.0  # a client opens the next session when less than this is left
WINDOW = 1024  # counters accepted out of order, behind the highest seen
_MAX_COUNTER = 2**63
_INFO = b"catenary-session-v1"
_P = 2**255 - 19  # the field of Curve25519 and edwards25519


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def exchange_private(identity: Identity) -> X25519PrivateKey:
    """The X25519 key of an ed25519 identity: the scalar ed25519 derives from its seed."""
    seed = identity._private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return X25519PrivateKey.from_private_bytes(hashlib.sha512(seed).digest()[:32])  # clamped on use


def exchange_public(did: str) -> X25519PublicKey:
    """The X25519 public key of a did:key: Montgomery u = (1 + y) / (1 - y) of its Edwards y."""
    y = int.from_bytes(public_key_from_did(did), "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % _P, _P - 2, _P) % _P
    return X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))


def session_key(shared: bytes, sid: str, issuer: str, audience: str) -> bytes:
    info = b"\n".join((_INFO, sid.encode(), issuer.encode(), audience.encode()))
    return HKDF(hashes.SHA256(), 32, None, info).derive(shared)


class Keyed:
    """HMAC-SHA256 under one key with the inner and outer hash states computed once, as RFC 2104
    section 4 suggests: a call then costs two hash copies (``hmac.new`` per call, or copying
    an OpenSSL HMAC, costs two to three times more, which is most of a session's overhead)."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # longer than SHA-256's block: HMAC hashes it first
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def mac(keyed: Keyed, sid: str, counter: int, method: str) -> str:
    """The per-call MAC, in hex: HMAC-SHA256 over the method, the session and the counter."""
    return keyed.hexdigest(f"{method}\n{sid}\n{counter}".encode())


class ClientSession:
    """A caller's session with one node: its grant, and a proof for each call."""

    def __init__(
        self, issuer: Issuer, audience: str, lifetime: float = LIFETIME, now: float | None = None
    ) -> None:
        issued = time.time() if now is None else now
        ephemeral = X25519PrivateKey.generate()
        self.sid = _b64url(secrets.token_bytes(16))
        self.audience = audience
        self.expires = int(issued + lifetime)
        shared = ephemeral.exchange(exchange_public(audience))
        self._mac = Keyed(session_key(shared, self.sid, issuer.identity.id, audience))
        epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        claims = {
            "iss": issuer.identity.id,
            "aud": audience,
            "sid": self.sid,
            "epk": _b64url(epk),
            "iat": int(issued),
            "exp": self.expires,
        }
        self.grant = issuer.sign(claims, GRANT_TYPE)
        self.acknowledged = False  # set once a call with the grant got past the node's check
        # next() on a count is one C call, atomic under the GIL: no two calls share a counter.
        self._counter = itertools.count()

    def metadata(self, method: str, grant: bool = False) -> list[tuple[str, str]]:
        """The metadata for the next call of ``method``: its proof, and the grant when ``grant``
        is true or the node has not yet acknowledged the session."""
        counter = next(self._counter)
        proof = (
            "authorization",
            f"{SCHEME} {self.sid}.{counter}.{mac(self._mac, self.sid, counter, method)}",
        )
        if grant or not self.acknowledged:
            return [proof, (GRANT_KEY, self.grant)]
        return [proof]


class Sessions:
    """The client side: one session per node, opened on first use and renewed before expiry."""

    def __init__(self, identity: Identity, lifetime: float = LIFETIME) -> None:
        self.issuer = Issuer(identity)
        self.lifetime = lifetime
        self._current: dict[str, ClientSession] = {}
        self._lock = threading.Lock()

    def current(self, audience: str, now: float | None = None) -> ClientSession:
        """The session with the node ``audience``, a new one when the last is near its end."""
        now = time.time() if now is None else now
        renew = min(RENEW, self.lifetime / 2)
        session = self._current.get(audience)
        if session is None or session.expires - now < renew:
            with self._lock:
                session = self._current.get(audience)
                if session is None or session.expires - now < renew:
                    session = ClientSession(self.issuer, audience, self.lifetime, now)
                    self._current[audience] = session
        return session


@dataclass
class _Session:
    issuer: str
    mac: Keyed = field(repr=False)
    grant: str
    expires: float
    highest: int = -1
    window: int = 0  # bit i set: counter highest - i was used


class SessionChecker:
    """The node side: opens sessions from grants made for ``identity``'s node, checks each
    call's MAC and counter, and forgets sessions as they expire."""

    def __init__(
        self, identity: Identity, max_lifetime: float = MAX_LIFETIME, skew: float = CLOCK_SKEW
    ) -> None:
        self.audience = identity.id
        self.max_lifetime = max_lifetime
        self.skew = skew
        self._exchange = exchange_private(identity)
        self._signatures = SignatureChecker()
        self._sessions: dict[str, _Session] = {}
        self._expiry: list[tuple[float, str]] = []  # min-heap: forget sessions as they expire
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def check(self, proof: str, grant: str | None, method: str, now: float | None = None) -> str:
        """The caller's did once ``proof`` (``<sid>.<counter>.<mac>``) is valid for ``method``."""
        now = time.time() if now is None else now
        sid, counter, tag = _parse(proof)
        session = self._sessions.get(sid)
        if session is None:
            if not grant:
                raise TokenError(
                    Problem.UNKNOWN_SESSION,
                    f"session {shown(sid)} is not open on this node (expired, or the node "
                    f"restarted): send its grant in {GRANT_KEY} metadata",
                )
            session = self._open(grant, sid, now)
        elif grant and not hmac.compare_digest(grant, session.grant):
            raise TokenError(Problem.MALFORMED, f"session {shown(sid)} was opened by another grant")
        if session.expires + self.skew < now:
            raise TokenError(
                Problem.EXPIRED_SESSION,
                f"session {shown(sid)} expired at {session.expires:.0f}, now is {now:.0f}: open a new one",
            )
        if not hmac.compare_digest(tag, mac(session.mac, sid, counter, method)):
            raise TokenError(
                Problem.BAD_MAC,
                f"the MAC of call {counter} in session {shown(sid)} does not verify for {method} "
                f"(made for another method, altered, or not by the session's holder)",
            )
        with self._lock:
            _use(session, sid, counter)
        return session.issuer

    def _open(self, grant: str, sid: str, now: float) -> _Session:
        payload = self._signatures.payload(grant, GRANT_TYPE)
        for name in ("aud", "sid", "epk"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                raise TokenError(Problem.MALFORMED, f"grant claim {name!r} is missing or not a string")
        for name in ("iat", "exp"):
            value = payload.get(name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TokenError(Problem.MALFORMED, f"grant claim {name!r} is missing or not a number")
        issuer, audience = str(payload["iss"]), str(payload["aud"])
        issued, expires = float(payload["iat"]), float(payload["exp"])  # type: ignore[arg-type]
        if audience != self.audience:
            raise TokenError(
                Problem.WRONG_AUDIENCE, f"the session grant is for {audience}, this node is {self.audience}"
            )
        if payload["sid"] != sid:
            raise TokenError(
                Problem.MALFORMED,
                f"the grant is for session {shown(payload['sid'])}, the call names {shown(sid)}",
            )
        if expires + self.skew < now:
            raise TokenError(
                Problem.EXPIRED_SESSION,
                f"the grant of session {shown(sid)} expired at {expires:.0f}, now is {now:.0f}",
            )
        if issued - self.skew > now:
            raise TokenError(
                Problem.MALFORMED, f"the grant is issued in the future (iat {issued:.0f}, now {now:.0f})"
            )
        if expires - issued > self.max_lifetime:
            raise TokenError(
                Problem.MALFORMED,
                f"the session lives {expires - issued:.0f} s, over the {self.max_lifetime:.0f} s allowed",
            )
        try:
            peer = X25519PublicKey.from_public_bytes(_unb64url(str(payload["epk"])))
            shared = self._exchange.exchange(peer)  # refuses low-order points (all-zero result)
        except (ValueError, BadInputError) as exc:
            raise TokenError(
                Problem.MALFORMED, f"grant claim 'epk' is not a usable X25519 key ({exc})"
            ) from None
        session = _Session(issuer, Keyed(session_key(shared, sid, issuer, audience)), grant, expires)
        with self._lock:
            while self._expiry and self._expiry[0][0] + self.skew < now:
                self._sessions.pop(heapq.heappop(self._expiry)[1], None)
            known = self._sessions.get(sid)
            if known is not None:  # opened meanwhile by a concurrent call with the same grant
                if known.grant != grant:
                    raise TokenError(Problem.MALFORMED, f"session {shown(sid)} was opened by another grant")
                return known
            self._sessions[sid] = session
            heapq.heappush(self._expiry, (expires, sid))
        return session


def _parse(proof: str) -> tuple[str, int, str]:
    parts = proof.split(".")
    if len(parts) != 3 or not parts[0] or not parts[2] or len(parts[0]) > 64:
        raise TokenError(Problem.MALFORMED, "a session proof is '<sid>.<counter>.<mac>'")
    if not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 19:
        raise TokenError(Problem.MALFORMED, f"session counter {shown(parts[1])} is not a decimal number")
    counter = int(parts[1])
    if counter >= _MAX_COUNTER:
        raise TokenError(Problem.MALFORMED, f"session counter {counter} is over 2**63")
    return parts[0], counter, parts[2]


def _use(session: _Session, sid: str, counter: int) -> None:
    """Marks ``counter`` used in ``session``'s window; REPLAYED_COUNTER if it was, or is too old."""
    if counter > session.highest:
        shift = counter - session.highest
        session.window = ((session.window << shift) | 1) & ((1 << WINDOW) - 1) if shift < WINDOW else 1
        session.highest = counter
        return
    behind = session.highest - counter
    if behind >= WINDOW:
        raise TokenError(
            Problem.REPLAYED_COUNTER,
            f"call {counter} of session {shown(sid)} is {behind} behind the newest ({session.highest}), "
            f"older than the {WINDOW} remembered",
        )
    if session.window >> behind & 1:
        raise TokenError(Problem.REPLAYED_COUNTER, f"call {counter} of session {shown(sid)} was already made")
    session.window |= 1 << behind

"""Identities: ed25519 key pairs in PEM files (mode 0600), and the ``did:key`` ids derived from them.

A node keeps its key in its data dir (``node_key.pem``); a remote executor in its own
directory; a user or a script in any file named by ``--key`` / ``CATENARY_KEY``
(``catenary key new``). All are the same kind of file and the same kind of id.

The node id is ``did:key:z`` + base58btc(0xed 0x01 + public key): the multicodec
``ed25519-pub`` prefix and the 32 raw key bytes, as the W3C did:key method writes
it. Anyone holding the id holds the public key, so a signature by a node can be
checked with nothing but the id that claims it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from catenary.errors import BadInputError, StoreError

KEY_FILE = "node_key.pem"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub (0xed) as an unsigned varint
_DID_PREFIX = "did:key:z"
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Bitcoin base58: big-endian base-58 digits, one ``1`` per leading zero byte."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; ValueError names the first character outside the alphabet."""
    number = 0
    for position, char in enumerate(text):
        if char not in _INDEX:
            raise ValueError(f"{char!r} at position {position} is not a base58btc character")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def did_from_public_key(public: bytes) -> str:
    """The ``did:key`` id of a raw 32-byte ed25519 public key."""
    return _DID_PREFIX + b58encode(_ED25519_PUB + public)


def public_key_from_did(did: str) -> bytes:
    """The raw ed25519 public key inside a ``did:key`` id; BadInputError says why it is not one."""
    if not isinstance(did, str) or not did.startswith(_DID_PREFIX):
        raise BadInputError(f"signer {did!r} is not a did:key (expected 'did:key:z...')")
    try:
        raw = b58decode(did[len(_DID_PREFIX) :])
    except ValueError as exc:
        raise BadInputError(f"signer {did!r} is not valid base58btc: {exc}") from exc
    if raw[:2] != _ED25519_PUB or len(raw) != 34:
        raise BadInputError(f"signer {did!r} is not an ed25519 did:key (multicodec 0xed, 32-byte key)")
    return raw[2:]


def verify_signature(did: str, signature: bytes, message: bytes) -> str | None:
    """None when ``signature`` is the ed25519 signature of ``message`` by ``did``, else why not."""
    try:
        public = Ed25519PublicKey.from_public_bytes(public_key_from_did(did))
    except BadInputError as exc:
        return str(exc)
    except ValueError as exc:
        return f"signer {did!r} holds no valid ed25519 key: {exc}"
    if not isinstance(signature, bytes) or len(signature) != 64:
        return "signature is not 64 bytes (an ed25519 signature)"
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return f"signature does not verify under {did} (forged, altered, or made by another key)"
    return None


class Identity:
    """An ed25519 key pair (a node's, an executor's or a user's). ``id`` is its did:key;
    :meth:`sign` signs bytes."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_key = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.id = did_from_public_key(self.public_key)

    @classmethod
    def generate(cls) -> Identity:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"Identity({self.id})"

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Identity:
        """The node key in ``data_dir/node_key.pem``, created (mode 0600) on first use."""
        return cls.load_or_create_file(Path(data_dir) / KEY_FILE)

    @classmethod
    def load_or_create_file(cls, path: Path) -> Identity:
        """The key in the PEM file ``path``, created (mode 0600) when there is none.

        Two processes starting on a fresh file at once agree on one key: each
        writes its own temporary file, and only the first hard link to the final
        name wins; the other reads the winner's key.
        """
        path = Path(path)
        if not path.exists():
            cls._create(path, exclusive=False)
        return cls._load(path)

    @classmethod
    def create_file(cls, path: Path) -> Identity:
        """A new key written to ``path`` (mode 0600); BadInputError if the file exists."""
        path = Path(path)
        if not path.parent.is_dir():
            raise BadInputError(f"cannot create key {path}: directory {path.parent} does not exist")
        if not cls._create(path, exclusive=True):
            raise BadInputError(f"key file {path} already exists; remove it first or choose another path")
        return cls._load(path)

    @classmethod
    def load_file(cls, path: Path) -> Identity:
        """The key in an existing PEM file; BadInputError when there is none."""
        path = Path(path)
        if not path.is_file():
            raise BadInputError(f"key file {path} does not exist (create one: catenary key new {path})")
        return cls._load(path)

    @classmethod
    def _create(cls, path: Path, exclusive: bool) -> bool:
        """Write a fresh key to ``path`` through a hard link; False when another file won."""
        identity = cls.generate()
        pem = identity._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False  # another process won the race (or, exclusive, the file was there)
        finally:
            os.unlink(tmp)
        return True

    @classmethod
    def _load(cls, path: Path) -> Identity:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise StoreError(
                f"key {path} is readable by other users (mode {mode:04o}); run: chmod 600 {path}"
            )
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"key {path} is not a PEM ed25519 private key: {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise StoreError(f"key {path} is not an ed25519 key")
        return cls(private)


KEY_ENV = "CATENARY_KEY"


def resolve_key(option: str | Path | None) -> Identity | None:
    """The key named by ``--key``, else by ``$CATENARY_KEY``, else the default file if it
    exists (see :func:`default_key_path`); None when there is none."""
    named = option if option else os.environ.get(KEY_ENV)
    if named:
        return Identity.load_file(Path(named))
    default = default_key_path()
    return Identity.load_file(default) if default.is_file() else None


def default_key_path() -> Path:
    """Where ``catenary key new`` puts a user's key: ``$XDG_CONFIG_HOME/catenary/key.pem``."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "catenary" / "key.pem"

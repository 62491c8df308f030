"""The trust policy of a node: which keys may do what, read from ``policy.toml`` in its data dir.

A fresh node has no file and this default: only the node's own key may act or read over
gRPC (the local CLI opens the data dir directly and acts as the node). A file replaces
the rules it names; rules it leaves out keep their default. Reference: docs/trust.md.

    [rules]
    create_workflow = ["self"]          # Workflow.Create
    run = ["self", "did:key:z6Mk..."]   # Run.New, Run.Next, Value.Put
    verify = ["self"]                   # Execution.Verify (stores the node's attestation)
    read = ["self", "any"]              # Get, List, Updates, Trace, Attestations

    [[rules.claim]]                     # Execution.Update (claim, report, fail), Queue.Claim
    keys = ["did:key:z6Mk..."]
    operations = ["std/add", "bafy..."] # operation names or version ids; "*" for all

    [[rules.emit]]                      # Execution.Create: record an execution in a run
    keys = ["self"]
    events = ["*"]                      # workflow names or ids it may record into

    [[rules.trust_executor]]            # completed executions whose results may be reused
    keys = ["did:key:z6Mk..."]
    operations = ["*"]

    [[clients]]                         # mutual TLS: a certificate's common name acts as a key
    common_name = "executor-1"
    key = "did:key:z6Mk..."

    [[quorum]]                          # what makes a result accepted (docs/network.md)
    operations = ["*"]
    keys = ["did:key:z6Mk...", "did:key:z6Mk...", "did:key:z6Mk..."]
    need = 2                            # of keys vouching for the same output (default: all)
    executor = true                     # and the executor's own attestation (default)

    [memo]
    reuse = "accepted"                  # or "trusted" (default: the trust_executor rules)

    [validate]                          # serve re-executes what others executed
    on_serve = true                     # as with serve --validate
    sample = {"*" = 1.0, "std/add" = 0.25}   # the fraction per operation, picked by key

    [sync]                              # what peer sync checks before it stores
    reexecute = false                   # leave outputs to validators and the quorum (default: true)

A key is written ``self`` (this node), ``any`` (every authenticated key), ``anonymous``
(calls without any proof: for tests and closed networks only; refused on a non-loopback
address unless ``serve --insecure``), or a ``did:key:z...`` id.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catenary.errors import BadInputError, ManifestError
from catenary.limits import shown
from catenary.trust.identity import public_key_from_did

POLICY_FILE = "policy.toml"
SELF = "self"
ANY = "any"
ANONYMOUS = "anonymous"
ALL = "*"
SIMPLE_RULES = ("create_workflow", "run", "verify", "read")
SCOPED_RULES = {"claim": "operations", "emit": "events", "trust_executor": "operations"}
_MAX_DECISIONS = 4096  # cached answers of Policy.decide, cleared when full
SECTIONS = ("version", "rules", "clients", "quorum", "memo", "validate", "sync")
REUSE = ("trusted", "accepted")  # [memo] reuse: trust_executor rules alone, or the quorum too


@dataclass(frozen=True)
class Grant:
    """Keys allowed something, limited to ``scope`` (operation or workflow names/ids, or ``*``)."""

    keys: tuple[str, ...]
    scope: tuple[str, ...] = (ALL,)


@dataclass(frozen=True)
class Decision:
    """Whether a key may act; ``rule`` names the rule that decided (for PERMISSION_DENIED)."""

    allowed: bool
    rule: str


@dataclass(frozen=True)
class QuorumRule:
    """What makes a result of the operations in ``scope`` accepted: ``need`` of ``keys``
    vouch for the same output and, with ``executor``, the executor's own attestation too."""

    keys: tuple[str, ...]
    need: int
    executor: bool = True
    scope: tuple[str, ...] = (ALL,)
    label: str = "quorum"  # where it was written (quorum[0]), or "quorum (default)"


# No [[quorum]]: a result counts once this node has signed it (by doing it, or by verify).
SIGNED_HERE = QuorumRule((SELF,), 1, executor=False, label="quorum (default: signed by this node)")


@dataclass
class Policy:
    """The effective policy. ``node`` is the did:key that ``self`` stands for."""

    node: str
    rules: dict[str, tuple[Grant, ...]] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)  # certificate common name -> did:key
    source: Path | None = None  # the file it was read from; None for the default
    quorum: tuple[QuorumRule, ...] = ()  # the first whose scope matches decides; none: SIGNED_HERE
    reuse: str = "trusted"  # [memo] reuse: "accepted" also needs the quorum (one of REUSE)
    validate: bool = False  # [validate] on_serve: serve re-executes as with --validate
    sample: dict[str, float] = field(default_factory=lambda: {ALL: 1.0})  # [validate] sample
    sync_reexecute: bool = True  # [sync] reexecute: false stores synced outputs pending the quorum
    # decide()'s answers: a policy is read once and not changed after, and the interceptor
    # asks the same question (rule, key, target) for every call of a method.
    _decisions: dict[tuple[str, str | None, tuple[str, ...]], Decision] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def default(cls, node: str) -> Policy:
        own = (Grant((SELF,)),)
        return cls(node, {name: own for name in (*SIMPLE_RULES, *SCOPED_RULES)})

    @classmethod
    def load(cls, data_dir: Path, node: str) -> Policy:
        """``data_dir/policy.toml`` over the default; the default alone when there is no file."""
        path = Path(data_dir) / POLICY_FILE
        if not path.exists():
            return cls.default(node)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInputError(f"policy {path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise BadInputError(f"policy {path}: cannot read it: {exc.strerror}") from None
        try:
            return cls.parse(document, node, path)
        except ManifestError as exc:
            raise ManifestError(exc.path, f"{exc.reason} (in {path})") from None

    @classmethod
    def parse(cls, document: dict[str, Any], node: str, source: Path | None = None) -> Policy:
        """A policy from a parsed TOML document; ManifestError names the JSON path at fault."""
        policy = cls.default(node)
        policy.source = source
        unknown = sorted(set(document) - set(SECTIONS))
        if unknown:
            raise ManifestError(unknown[0], f"unknown section (expected {', '.join(SECTIONS)})")
        if document.get("version", 1) != 1:
            raise ManifestError(
                "version",
                f"unsupported policy version {shown(document['version'])} (this catenary reads version 1)",
            )
        rules = document.get("rules", {})
        if not isinstance(rules, dict):
            raise ManifestError("rules", "expected a table")
        for name, value in rules.items():
            where = f"rules.{name}"
            if name in SIMPLE_RULES:
                policy.rules[name] = (Grant(_keys(value, where)),)
            elif name in SCOPED_RULES:
                policy.rules[name] = _grants(value, where, SCOPED_RULES[name])
            else:
                raise ManifestError(
                    where, f"unknown rule (expected one of {', '.join([*SIMPLE_RULES, *SCOPED_RULES])})"
                )
        clients = document.get("clients", [])
        if not isinstance(clients, list):
            raise ManifestError("clients", "expected an array of tables ([[clients]])")
        for i, entry in enumerate(clients):
            where = f"clients[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"common_name", "key"}:
                raise ManifestError(where, "expected a table with exactly common_name and key")
            if not isinstance(entry["common_name"], str) or not entry["common_name"]:
                raise ManifestError(f"{where}.common_name", "expected a non-empty string")
            policy.clients[entry["common_name"]] = _did(entry["key"], f"{where}.key")
        policy.quorum = _quorum(document.get("quorum", []))
        memo = _table(document.get("memo", {}), "memo", {"reuse"})
        if memo.get("reuse", "trusted") not in REUSE:
            raise ManifestError("memo.reuse", f'expected "trusted" or "accepted", got {shown(memo["reuse"])}')
        policy.reuse = memo.get("reuse", "trusted")
        validate = _table(document.get("validate", {}), "validate", {"on_serve", "sample"})
        if not isinstance(validate.get("on_serve", False), bool):
            raise ManifestError("validate.on_serve", "expected true or false")
        policy.validate = validate.get("on_serve", False)
        policy.sample = _sample(validate.get("sample", {ALL: 1.0}))
        sync = _table(document.get("sync", {}), "sync", {"reexecute"})
        if not isinstance(sync.get("reexecute", True), bool):
            raise ManifestError("sync.reexecute", "expected true or false")
        policy.sync_reexecute = sync.get("reexecute", True)
        return policy

    def quorum_for(self, operation: tuple[str, ...]) -> QuorumRule:
        """The rule that decides acceptance for an operation (name, version id)."""
        for rule in self.quorum:
            if ALL in rule.scope or any(t in rule.scope for t in operation):
                return rule
        return SIGNED_HERE

    def counts(self, rule: QuorumRule, signer: str) -> bool:
        """Whether ``signer``'s vouching counts toward ``rule``."""
        return self._matches(rule.keys, signer)

    def sample_for(self, operation: tuple[str, ...]) -> float:
        """The fraction of this operation's executions a validator re-executes."""
        for name in operation:
            if name in self.sample:
                return self.sample[name]
        return self.sample.get(ALL, 1.0)

    def decide(self, rule: str, key: str | None, target: tuple[str, ...] = ()) -> Decision:
        """May ``key`` (None: an anonymous caller) act under ``rule`` on something named ``target``
        (e.g. an operation's name and version id)? The first grant that matches allows it."""
        question = (rule, key, target)
        decision = self._decisions.get(question)
        if decision is None:
            if len(self._decisions) >= _MAX_DECISIONS:  # many keys or targets: start over
                self._decisions.clear()
            decision = self._decisions[question] = self._decide(rule, key, target)
        return decision

    def _decide(self, rule: str, key: str | None, target: tuple[str, ...]) -> Decision:
        for i, grant in enumerate(self.rules.get(rule, ())):
            label = f"rules.{rule}" if rule in SIMPLE_RULES else f"rules.{rule}[{i}]"
            if self._matches(grant.keys, key) and (
                ALL in grant.scope or any(t in grant.scope for t in target)
            ):
                return Decision(True, label)
        return Decision(False, f"rules.{rule}")

    def allows_anonymous(self, rules: tuple[str, ...] = (*SIMPLE_RULES, *SCOPED_RULES)) -> list[str]:
        """The rules among ``rules`` that let calls without proof through."""
        return [name for name in rules for grant in self.rules.get(name, ()) if ANONYMOUS in grant.keys]

    def trusts_executor(self, key: str, operation: tuple[str, ...]) -> bool:
        """Whether a result signed by ``key`` for this operation (name, version id) may be reused."""
        return key == self.node or self.decide("trust_executor", key, operation).allowed

    def _matches(self, keys: tuple[str, ...], key: str | None) -> bool:
        if key is None:
            return ANONYMOUS in keys
        return ANY in keys or key in keys or (SELF in keys and key == self.node)

    def to_json(self) -> dict[str, Any]:
        """The effective policy as a document of the file's shape (``catenary policy show``)."""
        rules: dict[str, Any] = {}
        for name, grants in self.rules.items():
            if name in SIMPLE_RULES:
                rules[name] = [k for g in grants for k in g.keys]
            else:
                rules[name] = [{"keys": list(g.keys), SCOPED_RULES[name]: list(g.scope)} for g in grants]
        return {
            "version": 1,
            "node": self.node,
            "source": str(self.source) if self.source else None,
            "rules": rules,
            "clients": [{"common_name": n, "key": k} for n, k in self.clients.items()],
            "quorum": [
                {"operations": list(r.scope), "keys": list(r.keys), "need": r.need, "executor": r.executor}
                for r in self.quorum or (SIGNED_HERE,)
            ],
            "memo": {"reuse": self.reuse},
            "validate": {"on_serve": self.validate, "sample": dict(self.sample)},
            "sync": {"reexecute": self.sync_reexecute},
        }


def _did(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(where, f"expected a did:key string, got {type(value).__name__}")
    try:
        public_key_from_did(value)
    except BadInputError as exc:
        raise ManifestError(where, str(exc)) from None
    return value


def _keys(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ManifestError(where, 'expected an array of keys ("self", "any", "anonymous" or did:key ids)')
    keys = []
    for i, item in enumerate(value):
        keys.append(item if item in (SELF, ANY, ANONYMOUS) else _did(item, f"{where}[{i}]"))
    return tuple(keys)


def _grants(value: Any, where: str, scope: str) -> tuple[Grant, ...]:
    if not isinstance(value, list):
        raise ManifestError(where, f"expected an array of tables ([[{where}]]) with keys and {scope}")
    grants = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ManifestError(at, f"expected a table with keys and {scope}")
        extra = sorted(set(entry) - {"keys", scope})
        if extra:
            raise ManifestError(f"{at}.{extra[0]}", f"unknown field (expected keys, {scope})")
        if "keys" not in entry:
            raise ManifestError(f"{at}.keys", "missing")
        names = entry.get(scope, [ALL])
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ManifestError(f"{at}.{scope}", 'expected a non-empty array of names or ids ("*" for all)')
        grants.append(Grant(_keys(entry["keys"], f"{at}.keys"), tuple(names)))
    return tuple(grants)


def _table(value: Any, where: str, fields: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(where, f"expected a table ([{where}])")
    extra = sorted(set(value) - fields)
    if extra:
        raise ManifestError(f"{where}.{extra[0]}", f"unknown field (expected {', '.join(sorted(fields))})")
    return value


def _quorum(value: Any) -> tuple[QuorumRule, ...]:
    if not isinstance(value, list):
        raise ManifestError("quorum", "expected an array of tables ([[quorum]]) with keys, need, operations")
    rules = []
    for i, entry in enumerate(value):
        at = f"quorum[{i}]"
        entry = _table(entry, at, {"keys", "need", "executor", "operations"})
        if "keys" not in entry:
            raise ManifestError(f"{at}.keys", "missing")
        keys = _keys(entry["keys"], f"{at}.keys")
        if not keys:
            raise ManifestError(f"{at}.keys", "expected at least one key")
        need = entry.get("need", len(keys))
        if type(need) is not int or not 1 <= need <= len(keys):
            raise ManifestError(
                f"{at}.need", f"expected an integer from 1 to {len(keys)} (the number of keys)"
            )
        executor = entry.get("executor", True)
        if not isinstance(executor, bool):
            raise ManifestError(f"{at}.executor", "expected true or false")
        names = entry.get("operations", [ALL])
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ManifestError(
                f"{at}.operations", 'expected a non-empty array of names or ids ("*" for all)'
            )
        rules.append(QuorumRule(keys, need, executor, tuple(names), at))
    return tuple(rules)


def _sample(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ManifestError("validate.sample", 'expected a table of operation -> fraction, e.g. {"*" = 1.0}')
    sample = {ALL: 1.0}
    for name, fraction in value.items():
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ManifestError(
                f"validate.sample.{name}", f"expected a fraction from 0 to 1, got {shown(fraction)}"
            )
        sample[name] = float(fraction)
    return sample

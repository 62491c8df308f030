"""The policy file: defaults, decisions, and validation errors that name the JSON path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catenary.errors import BadInputError, ManifestError
from catenary.trust.identity import Identity
from catenary.trust.policy import Policy

ROOT = Path(__file__).resolve().parents[2]
NODE = Identity.generate().id
ALICE = Identity.generate().id


def test_a_fresh_node_allows_only_its_own_key(tmp_path: Path) -> None:
    policy = Policy.load(tmp_path, NODE)
    assert policy.source is None
    for rule in ("create_workflow", "run", "verify", "read", "claim", "emit"):
        assert policy.decide(rule, NODE).allowed
        assert not policy.decide(rule, ALICE).allowed
        assert not policy.decide(rule, None).allowed
    assert policy.trusts_executor(NODE, ("test/inc",)) and not policy.trusts_executor(ALICE, ())


def test_scoped_grants_match_operation_names_or_ids(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(f"""
[rules]
read = ["any"]

[[rules.claim]]
keys = ["{ALICE}"]
operations = ["test/inc", "bafyversion"]

[[rules.trust_executor]]
keys = ["{ALICE}"]
operations = ["test/inc"]
""")
    policy = Policy.load(tmp_path, NODE)
    assert policy.decide("claim", ALICE, ("test/inc", "bafyother")).allowed
    assert policy.decide("claim", ALICE, ("test/add", "bafyversion")).rule == "rules.claim[0]"
    denied = policy.decide("claim", ALICE, ("test/add", "bafyother"))
    assert not denied.allowed and denied.rule == "rules.claim"
    assert not policy.decide("claim", NODE, ("test/inc",)).allowed  # the file replaced the rule
    assert policy.decide("read", ALICE).allowed and not policy.decide("read", None).allowed
    assert policy.decide("run", NODE).allowed  # rules the file leaves out keep their default
    assert policy.trusts_executor(ALICE, ("test/inc", "x"))
    assert not policy.trusts_executor(ALICE, ("test/add", "x"))


@pytest.mark.parametrize(
    "text,path",
    [
        ('[[rules.claim]]\nkeys = ["self"]\noperations = "test/inc"', "rules.claim[0].operations"),
        ('[[rules.claim]]\nkeys = ["did:key:zNotAKey"]', "rules.claim[0].keys[0]"),
        ('[[rules.emit]]\nkeys = ["self"]\nworkflows = ["x"]', "rules.emit[0].workflows"),
        ('[rules]\nread = "self"', "rules.read"),
        ('[rules]\nwrite = ["self"]', "rules.write"),
        ('[[clients]]\ncommon_name = "ex"\nkey = 3', "clients[0].key"),
        ("version = 2", "version"),
        ("[extra]\nx = 1", "extra"),
    ],
)
def test_errors_name_the_json_path(tmp_path: Path, text: str, path: str) -> None:
    (tmp_path / "policy.toml").write_text(text)
    with pytest.raises(ManifestError) as info:
        Policy.load(tmp_path, NODE)
    assert info.value.path == path and str(info.value).startswith(f"{path}: ")
    assert "policy.toml" in str(info.value)


def test_a_file_that_is_not_toml_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text("[rules\n")
    with pytest.raises(BadInputError, match="not valid TOML"):
        Policy.load(tmp_path, NODE)


def catenary(
    *args: str, env: dict[str, str] | None = None, code: int = 0
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("CATENARY_NODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", *args], capture_output=True, text=True, env=full, timeout=120
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def test_policy_show_prints_the_effective_policy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shown = json.loads(catenary("--data-dir", str(data), "policy", "show", "--json").stdout)
    node = Identity.load_file(data / "node_key.pem").id
    assert shown["node"] == node and shown["source"] is None
    assert shown["rules"]["read"] == ["self"] and shown["rules"]["claim"] == [
        {"keys": ["self"], "operations": ["*"]}
    ]
    (data / "policy.toml").write_text(f'[[rules.claim]]\nkeys = ["{ALICE}"]\noperations = ["test/inc"]\n')
    human = catenary("--data-dir", str(data), "policy", "show").stdout
    assert f"claim[0]            keys {ALICE}; on test/inc" in human
    (data / "policy.toml").write_text('[[rules.claim]]\nkeys = ["self"]\noperations = []\n')
    bad = catenary("--data-dir", str(data), "policy", "show", code=2)
    assert "rules.claim[0].operations: expected a non-empty array" in bad.stderr


def test_key_new_and_show(tmp_path: Path) -> None:
    path = tmp_path / "me.pem"
    made = json.loads(catenary("key", "new", str(path), "--json").stdout)
    assert made["key"].startswith("did:key:z6Mk") and oct(path.stat().st_mode & 0o777) == "0o600"
    assert catenary("key", "show", str(path)).stdout.strip() == made["key"]
    assert catenary("--key", str(path), "key", "show").stdout.strip() == made["key"]
    assert catenary("key", "show", env={"CATENARY_KEY": str(path)}).stdout.strip() == made["key"]
    again = catenary("key", "new", str(path), code=2)
    assert "already exists" in again.stderr and Identity.load_file(path).id == made["key"]
    default = json.loads(
        catenary("key", "new", "--json", env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}).stdout
    )
    assert default["path"] == str(tmp_path / "cfg" / "catenary" / "key.pem")
    missing = catenary("key", "show", env={"XDG_CONFIG_HOME": str(tmp_path / "none")}, code=2)
    assert "no key" in missing.stderr

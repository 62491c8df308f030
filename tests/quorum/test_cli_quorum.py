"""The quorum commands as a user runs them: real processes, separate data dirs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.trust.conftest import CHAIN
from tests.trust.test_cli_trust import cli


def as_json(data_dir: Path, *args: str, code: int = 0) -> dict:
    return json.loads(cli(data_dir, *args, "--json", code=code).stdout)


def test_import_validate_accept(tmp_path: Path) -> None:
    a, b, d = tmp_path / "a", tmp_path / "b", tmp_path / "d"
    manifest = tmp_path / "chain.json"
    manifest.write_text(json.dumps(CHAIN))
    wf = as_json(a, "workflow", "create", str(manifest))["id"]
    run = as_json(a, "run", wf, "-i", "0=1", "-i", "1=5")
    final = run["final"]
    cli(a, "export", final, "-o", str(tmp_path / "a.car"))

    # B takes A's records without re-executing them: pending under its default policy
    cli(b, "import", str(tmp_path / "a.car"), "--no-reexecute")
    shown = as_json(b, "exec", "get", final)["acceptance"]
    assert shown["status"] == "pending" and shown["rule"].startswith("quorum (default")
    pending = as_json(b, "exec", "list", "--acceptance", "pending")["executions"]
    assert final in {e["hash"] for e in pending}
    assert as_json(b, "exec", "list", "--acceptance", "accepted")["executions"] == []

    done = as_json(b, "validate", "--run", run["run"])
    assert {v["outcome"] for v in done["validations"]} == {"validated"} and len(done["validations"]) == 4
    accepted = as_json(b, "exec", "get", final)["acceptance"]
    assert (
        accepted["status"] == "accepted"
        and accepted["canonical"] == as_json(b, "exec", "get", final)["output"]
    )
    assert "already signed here" in cli(b, "validate", final).stdout
    cli(b, "export", final, "-o", str(tmp_path / "b.car"))

    # D counts B's key alone: B's bundle is accepted there, A's pending (D's own re-execution
    # does not count: D is not among the keys)
    b_id = cli(b, "key", "show", str(b / "node_key.pem")).stdout.strip()
    d.mkdir()
    (d / "policy.toml").write_text(f'[[quorum]]\nkeys = ["{b_id}"]\nneed = 1\n')
    checked = as_json(d, "verify-bundle", str(tmp_path / "b.car"))["acceptance"]
    assert checked[final]["status"] == "accepted"
    assert {v["signer"] for v in checked[final]["votes"] if v["counted"]} == {b_id}
    assert as_json(d, "verify-bundle", str(tmp_path / "a.car"))["acceptance"][final]["status"] == "pending"


def test_bad_policy_and_usage(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "policy.toml").write_text('[[quorum]]\nkeys = ["self"]\nneed = 2\n')
    refused = cli(d, "policy", "show", code=2)
    assert "quorum[0].need: expected an integer from 1 to 1" in refused.stderr
    (d / "policy.toml").write_text('[memo]\nreuse = "always"\n')
    assert 'memo.reuse: expected "trusted" or "accepted"' in cli(d, "policy", "show", code=2).stderr
    (d / "policy.toml").write_text('[validate]\nsample = {"*" = 2}\n')
    assert "validate.sample.*: expected a fraction from 0 to 1" in cli(d, "policy", "show", code=2).stderr
    (d / "policy.toml").unlink()
    assert "give an execution HASH or --run RUN" in cli(d, "validate", code=2).stderr
    shown = as_json(d, "policy", "show")
    assert shown["quorum"] == [{"operations": ["*"], "keys": ["self"], "need": 1, "executor": False}]
    assert shown["memo"] == {"reuse": "trusted"}

"""The docs keep up with the code.

- docs/cli.md and the click tree agree: the index and the sections name
  exactly the commands there are, every option a table lists exists (and a
  command's table lists all its options), the global options are the
  group's, and the exit table says what a real process exits with.
- README's Quick start is exactly `make demo` and `make test`.
- The worked hash example (README, docs/hashing.md) recomputes.
- Relative links between the docs resolve, anchors included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from catenary.cid import CID, block, cid_of, encode
from catenary.cli.main import cli
from catenary.model import Event, Run, hash_data, key_data

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
HASHING_DOC = ROOT / "docs" / "hashing.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "CHANGELOG.md"]


def _commands(group: click.Group, prefix: str = "catenary") -> list[tuple[str, click.Command]]:
    """Every command under ``group`` with its full path, groups included."""
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


COMMANDS = _commands(cli)
LEAVES = {path: command for path, command in COMMANDS if not isinstance(command, click.Group)}
# Taken after any command as well as before it (docs/cli.md, "Global options").
GLOBAL_AFTER = {"--node", "--data-dir", "--db", "--key"}


def _words(usage: str) -> str:
    """The command path of a documented usage: `catenary exec trace HASH` -> `catenary exec trace`."""
    words = []
    for word in usage.split():
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            break
        words.append(word)
    return " ".join(words)


def _cli_doc() -> str:
    return re.sub(r"^```.*?^```", "", CLI_DOC.read_text(), flags=re.M | re.S)


def _sections() -> dict[str, str]:
    """Each `### ...` section of docs/cli.md by its title: `catenary exec list`, `Filters`, ..."""
    parts = re.split(r"^###? (.+)$", _cli_doc(), flags=re.M)
    found = {}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        usage = re.fullmatch(r"`(catenary[^`]*)`", title.strip())
        found[_words(usage.group(1)) if usage else title.strip()] = body
    return found


def _table_options(body: str) -> set[str]:
    """The options of the option table(s) of a section: the `--long` names of each row's first cell."""
    return {
        opt
        for cell in re.findall(r"^\| *(`-[^|]*)\|", body, re.M)
        for opt in re.findall(r"`(--[a-z][a-z0-9-]*)", cell)
    }


def _options(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in p.opts if opt.startswith("--")} - {"--help"}


def _index() -> set[str]:
    """The commands of the index table at the top of docs/cli.md."""
    return {_words(usage) for usage in re.findall(r"^\| \[`(catenary[^`]*)`\]\(#", _cli_doc(), re.M)}


def test_the_walk_finds_the_commands():
    paths = {path for path, _ in COMMANDS}
    assert {
        "catenary workflow create",
        "catenary run",
        "catenary exec watch",
        "catenary value get",
        "catenary doctor",
        "catenary executor",
        "catenary exec history",
        "catenary op register-remote",
    } <= paths


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_has_help(path: str, command: click.Command):
    assert (command.help or "").strip(), f"`{path}` has no help text (give it a docstring)"


def test_index_lists_exactly_the_commands():
    index = _index()
    assert not LEAVES.keys() - index, (
        f"commands missing from the index of docs/cli.md: {sorted(LEAVES.keys() - index)}"
    )
    assert not index - LEAVES.keys(), (
        f"docs/cli.md indexes commands that do not exist: {sorted(index - LEAVES.keys())}"
    )


def test_every_command_has_a_section_and_every_section_a_command():
    documented = {title for title in _sections() if title.startswith("catenary")}
    missing, stale = sorted(LEAVES.keys() - documented), sorted(documented - LEAVES.keys())
    assert not missing, f"no `### catenary ...` section for {missing}"
    assert not stale, f"sections for commands that do not exist: {stale}"


@pytest.mark.parametrize("path", sorted(LEAVES), ids=sorted(LEAVES))
def test_options_in_a_commands_table_exist_and_it_lists_them_all(path: str):
    body = _sections()[path]
    listed = _table_options(body)
    real = _options(LEAVES[path])
    assert not listed - real, (
        f"docs/cli.md lists {sorted(listed - real)} for `{path}`, which has no such option"
    )
    if "[filters](#filters)" in body:
        listed |= _table_options(_sections()["Filters"])
    if listed:  # a command documented with a table lists every option it has
        missing = real - listed - GLOBAL_AFTER - {"--json"}
        assert not missing, f"`{path}` has {sorted(missing)}, missing from its table in docs/cli.md"


def test_filter_options_exist_on_both_filtering_commands():
    filters = _table_options(_sections()["Filters"])
    assert filters
    for path in ("catenary exec list", "catenary exec watch"):
        assert filters <= _options(LEAVES[path]), f"{path}: no {sorted(filters - _options(LEAVES[path]))}"


def test_global_options_table_is_exactly_the_groups_options():
    listed = _table_options(_sections()["Global options"]) - {"--help"}
    assert listed == _options(cli), f"docs/cli.md global options differ: {sorted(listed ^ _options(cli))}"


@pytest.mark.parametrize("path", sorted(LEAVES), ids=sorted(LEAVES))
def test_global_options_are_taken_after_every_command(path: str):
    assert GLOBAL_AFTER <= _options(LEAVES[path]) | {"--node"}  # `executor` has a --node of its own


# Exit codes: the documented table against the real CLI, in a real process on a real data dir.
HELLO = {
    "data": {
        "name": "hello-cid",
        "creators": ["you"],
        "description": "",
        "groups": [],
        "segments": [
            {
                "inputs": [-1],
                "sequence": [{"op": "std/utf8-encode", "config": {}}, {"op": "std/cid", "config": {}}],
            },
            {"inputs": [-1, 0], "sequence": [{"op": "std/equals", "config": {}}]},
        ],
    }
}
DECODE = {
    "data": {
        "name": "decode",
        "creators": ["you"],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-decode", "config": {}}]}],
    }
}


def _exit_table() -> dict[int, str]:
    body = _sections()["Exit status"]
    return {int(code): text for code, text in re.findall(r"^\| (\d) \|(.*)$", body, re.M)}


class _Cli:
    def __init__(self, data_dir: Path) -> None:
        self.env = {**os.environ, "CATENARY_HOME": str(data_dir)}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "catenary", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data dir with a finished run and a failed one, and what each command there did."""
    tmp = tmp_path_factory.mktemp("docs-cli")
    run_cli = _Cli(tmp / "data")
    (tmp / "hello.json").write_text(json.dumps(HELLO))
    (tmp / "decode.json").write_text(json.dumps(DECODE))
    (tmp / "bad.bin").write_bytes(b"\xff\xfe")
    hello = json.loads(run_cli("workflow", "create", str(tmp / "hello.json"), "--json").stdout)["id"]
    decode = json.loads(run_cli("workflow", "create", str(tmp / "decode.json"), "--json").stdout)["id"]
    claim = "text:bafkreiaqqdxn3owvnl6nd2mjr2zfmcn3kpsqbvwfivgd2dvqa5gvnxl3ku"
    done = run_cli("run", hello, "-i", "0=text:hi", "-i", f"1={claim}", "--json")
    failed = run_cli("run", decode, "-i", f"0=@{tmp / 'bad.bin'}", "--json")
    return {
        "success": done,
        "operation failed": failed,
        "stepping a run that is already completed": run_cli("next", json.loads(done.stdout)["run"]),
        "stepping a run that is already completed or failed": run_cli(
            "next", json.loads(failed.stdout)["run"]
        ),
        "bad CID text": run_cli("run", "bafyfoo"),
        "an unknown option": run_cli("exec", "list", "--no-such-option"),
        "an unknown workflow/run/hash/CID": run_cli("runs", "get", hello),
    }


@pytest.mark.parametrize(
    "case,code",
    [
        ("success", 0),
        ("operation failed", 1),
        ("stepping a run that is already completed", 2),
        ("stepping a run that is already completed or failed", 2),
        ("bad CID text", 2),
        ("an unknown option", 2),
        ("an unknown workflow/run/hash/CID", 2),
    ],
)
def test_documented_exit_codes_are_the_real_ones(real: dict[str, Any], case: str, code: int):
    proc = real[case]
    assert proc.returncode == code, f"{case}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    if case in ("success", "operation failed"):
        return  # rows 0 and 1 say so in general terms
    table = _exit_table()
    assert case in table[code], f"docs/cli.md's exit table does not list '{case}' under exit {code}"
    others = [c for c, text in table.items() if c != code and case in text]
    assert not others, f"docs/cli.md also lists '{case}' under exit {others}"


def test_a_failed_json_run_prints_the_documented_failure_document(real: dict[str, Any]):
    proc = real["operation failed"]
    document = json.loads(proc.stdout)
    assert document["done"] is False and document["error"] and document["final"]
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")
    said = _sections()["`--json` and output"]
    assert "failure document" in said and "stdout is empty" not in said
    assert not real["bad CID text"].stdout  # bad input: nothing on stdout


def test_design_doc_exit_codes_match_the_error_classes():
    """Every `SomeError (exit N)` / "`SomeError` ... exit N" claim in design.md is the class's."""
    import catenary.errors as errors

    text = (ROOT / "docs" / "design.md").read_text()
    claims = re.findall(r"`(\w+Error)`[^.|`]{0,60}?\(?(?:CLI )?exit (\d)", text)
    assert claims, "design.md makes no exit-code claim about an error class"
    for name, code in claims:
        real = getattr(errors, name).exit_code
        assert real == int(code), f"design.md: {name} exits {real}, not {code}"


def test_quick_start_is_exactly_make_demo_and_make_test():
    text = README.read_text()
    match = re.search(r"^## Quick start\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README has no '## Quick start' section"
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", match.group(1), re.M | re.S)
    assert len(blocks) == 1, "the Quick start has exactly one code block"
    commands = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_makefile_has_the_quick_start_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


# The worked example of docs/hashing.md and the README, recomputed.
WORKFLOW = CID.parse("bafy2bzacecineugt7wx2skrkj5k7plogkt5rf6qizr24gkxu6xqreiyb74dn2")
OPERATION = CID.parse("bafy2bzaceacb32a2uqafk2cwb6paicq2hbeiox64qyqjry4y22234zd73sqzm")


def _worked_example() -> dict[str, str]:
    value, value_bytes = block("hello world")
    run = Run(WORKFLOW, bytes(range(16)))
    event = Event(run.id, 0, (value,))
    key = key_data(OPERATION, {}, [value])
    execution = hash_data(WORKFLOW, 0, 0, OPERATION, {}, [event.hash], [value])
    return {
        "value bytes": value_bytes.hex(),
        "value CID": str(value),
        "run bytes": encode(run.data()).hex(),
        "run id": str(run.id),
        "event bytes": encode(event.data()).hex(),
        "event hash": str(event.hash),
        "key bytes": encode(key).hex(),
        "key": str(cid_of(key)),
        "hash bytes": encode(execution).hex(),
        "hash": str(cid_of(execution)),
    }


def test_worked_example_in_hashing_doc_recomputes():
    text = HASHING_DOC.read_text()
    for name, expected in _worked_example().items():
        assert expected in text, f"docs/hashing.md: the {name} should be {expected}"


def test_worked_example_in_readme_recomputes():
    text = README.read_text()
    numbers = _worked_example()
    for name in ("value bytes", "value CID", "run id", "event bytes", "event hash", "key"):
        assert numbers[name] in text, f"README: the {name} should be {numbers[name]}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {_anchor(h) for h in re.findall(r"^#+\s+(.*)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_relative_links_resolve(doc: Path):
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.M | re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        assert path.exists(), f"{doc.name}: link to {target} does not resolve"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{doc.name}: no heading for #{anchor} in {path.name}"

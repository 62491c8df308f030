"""The docs keep up with the code.

- Every CLI command and subcommand has help text and is documented in
  docs/cli.md, and so is every option.
- README's Quick start is exactly `make demo` and `make test`.
- The worked hash example (README, docs/hashing.md) recomputes.
- Relative links between the docs resolve, anchors included.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from catenary.cli.main import cli
from catenary.cid import CID, block, cid_of, encode
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


def test_the_walk_finds_the_commands():
    paths = {path for path, _ in COMMANDS}
    assert {"catenary workflow create", "catenary run", "catenary exec watch", "catenary value get"} <= paths


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_has_help(path: str, command: click.Command):
    assert (command.help or "").strip(), f"`{path}` has no help text (give it a docstring)"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_is_in_cli_reference(path: str, command: click.Command):
    text = CLI_DOC.read_text()
    if isinstance(command, click.Group):
        # A group is documented through its subcommands ("catenary exec get ...").
        assert f"{path} " in text, f"`{path}` is not mentioned in docs/cli.md"
    else:
        assert re.search(rf"`{re.escape(path)}(\s[^`]*)?`", text), (
            f"`{path}` is not documented in docs/cli.md (add a `{path} ...` section)")


def _options() -> list[tuple[str, str]]:
    found = [("catenary", opt) for p in cli.params for opt in p.opts if opt.startswith("--")]
    for path, command in COMMANDS:
        for param in command.params:
            found.extend((path, opt) for opt in param.opts if opt.startswith("--"))
    return sorted(set(found))


@pytest.mark.parametrize("path,option", _options(), ids=[f"{p} {o}" for p, o in _options()])
def test_option_is_in_cli_reference(path: str, option: str):
    assert f"`{option}" in CLI_DOC.read_text(), f"{path} {option} is not documented in docs/cli.md"


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
        "value bytes": value_bytes.hex(), "value CID": str(value),
        "run bytes": encode(run.data()).hex(), "run id": str(run.id),
        "event bytes": encode(event.data()).hex(), "event hash": str(event.hash),
        "key bytes": encode(key).hex(), "key": str(cid_of(key)),
        "hash bytes": encode(execution).hex(), "hash": str(cid_of(execution)),
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

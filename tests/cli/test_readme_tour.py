"""The README's tour, rerun as written: every `$ command` of its console blocks runs, in order,
in one shell on a fresh directory, and prints what the README shows (issue 19).

What the README says differs on another machine is compared by shape only: run ids and the
execution hashes that depend on them, times and dates. A CID that recurs must recur in the same
places; the workflow id and value CIDs, which depend only on content, must be the same text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARK = "@@catenary-tour@@"
CID = re.compile(r"bafy2bzace[a-z2-7]{50,}|…[a-z2-7]{12}")


def tour() -> str:
    text = README.read_text()
    start = text.index("## A short tour")
    return text[start : text.index("\n## ", start + 1)]


def commands(section: str) -> list[tuple[str, list[str]]]:
    """Each `$ command` of the console blocks and the lines shown after it."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def shape(lines: list[str]) -> list[str]:
    """Lines with each CID named by where it first appeared, and times and dates blanked."""
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        text = match.group(0)
        tail = text[-12:]  # a table's short form and the whole id are one CID
        return names.setdefault(tail, f"<cid{len(names)}>")

    out = []
    for line in lines:
        line = CID.sub(name, line)
        line = re.sub(r"\d+\.\d+ ms", "<ms>", line)
        line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", "<date>", line)
        out.append(line.rstrip())
    return out


class Shell:
    """One bash for the whole tour, as a reader's terminal: variables set by one command are
    there for the next."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._bash = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
        )

    def __call__(self, command: str, streams: bool) -> list[str]:
        assert self._bash.stdin is not None and self._bash.stdout is not None
        run = f"timeout 4 {command}" if streams else command  # a stream the README cuts short
        # Grouped, so that stderr joins stdout (and nothing reads the tour's input) for every
        # command of a pipeline, not only its last.
        self._bash.stdin.write(f"{{ {run}\n}} 2>&1 </dev/null\necho {MARK}\n")
        self._bash.stdin.flush()
        lines = []
        for line in self._bash.stdout:
            if line.rstrip("\n") == MARK:
                return lines
            lines.append(line.rstrip("\n"))
        raise AssertionError(f"the shell ended during {command!r}: {lines}")

    def close(self) -> None:
        assert self._bash.stdin is not None
        self._bash.stdin.close()
        self._bash.wait(timeout=30)


def learn(shown: list[str], lines: list[str], ids: dict[str, str]) -> None:
    """The README's CIDs that differ here (run ids and what depends on them), as a reader copies
    them from their own output: the CIDs of each line shown and printed, in order."""
    for want, have in zip(shown, lines, strict=False):
        theirs, ours = CID.findall(want), CID.findall(have)
        if len(theirs) == len(ours):
            for a, b in zip(theirs, ours, strict=True):
                ids.setdefault(a, b)


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    section = tour()
    (tmp_path / "hello.json").write_text(re.findall(r"```json\n(.*?)```", section, re.S)[0])
    (tmp_path / "hello.py").write_text(re.findall(r"```python\n(.*?)```", section, re.S)[0])
    steps = commands(section)
    assert len(steps) >= 10, "the tour has fewer commands than expected: did its format change?"
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(ROOT))

    shell = Shell(tmp_path, env)
    ids: dict[str, str] = {}
    problems = []
    try:
        for command, shown in steps:
            streams = bool(shown) and shown[-1].strip() == "..."
            if streams:
                shown = shown[:-1]
            typed = CID.sub(lambda m: ids.get(m.group(0), m.group(0)), command)
            lines = shell(typed, streams)
            if streams:
                lines = lines[: len(shown)]
            learn(shown, lines, ids)
            # A value's CID depends on the value alone: where the tour prints one, it is exact.
            exact = "value get" in command or '["output"]' in command
            if (lines != shown) if exact else (shape(lines) != shape(shown)):
                problems.append(
                    f"$ {command}\n  README:\n    "
                    + "\n    ".join(shown)
                    + "\n  got:\n    "
                    + "\n    ".join(lines)
                )
    finally:
        shell.close()
    assert not problems, "the README's tour differs from what it prints:\n" + "\n".join(problems)
    # Content alone makes the workflow id: the README's is the one computed here.
    [wf] = [c.removeprefix("WF=") for c, _ in steps if c.startswith("WF=")]
    assert ids.get(wf, wf) == wf

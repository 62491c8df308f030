"""The Python workflow builder, operations defined anywhere, honest code versions (issue 19),
on both stores."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from catenary import RunResult, WorkflowBuilder, operation, step
from catenary.cid import cid_of
from catenary.errors import InputError, ManifestError
from catenary.operations import Registry

CLAIM = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
# The README tour's hello.json, and the id `catenary workflow create hello.json` prints.
HELLO_JSON = """{"data": {"name": "hello-cid", "creators": ["you"],
 "description": "Does the claimed IPFS CID belong to this text?", "groups": [],
 "segments": [
  {"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}, {"op": "std/cid", "config": {}}]},
  {"inputs": [-1, 0], "sequence": [{"op": "std/equals", "config": {}}]}]}}"""
HELLO_ID = "bafy2bzacecineugt7wx2skrkj5k7plogkt5rf6qizr24gkxu6xqreiyb74dn2"


def hello() -> WorkflowBuilder:
    wf = WorkflowBuilder(
        "hello-cid", creators=["you"], description="Does the claimed IPFS CID belong to this text?"
    )
    text, claim = wf.input("text"), wf.input("claim")
    cid = wf.segment(text, steps=["std/utf8-encode", "std/cid"])
    wf.segment(claim, cid, steps=["std/equals"])
    return wf


def test_builder_manifest_and_id_equal_the_json_twin(node) -> None:
    built = hello().create(node)
    twin = node.workflows.create(HELLO_JSON)
    assert str(built.id) == str(twin.id) == HELLO_ID
    assert built.workflow.data() == twin.workflow.data()
    assert node.workflows.create(hello().to_json()).id == twin.id  # its JSON text too


def test_builder_run_returns_a_run_result(node) -> None:
    result = hello().run(node, text="hello world", claim=CLAIM)
    assert isinstance(result, RunResult)
    assert (result.result, result.status) == (True, "completed")
    assert result.final == result.outputs[1].producer
    state, last = result  # still unpacks as runs.run()'s (state, last) did
    assert state.id == result.id and last.final == result.final
    assert node.runs.run(node.workflows.create(HELLO_JSON).id, {0: ["x"], 1: ["y"]}).result is False


def test_builder_steps_by_object_with_config(node) -> None:
    @operation("mine/suffix", inputs=["string"], output="string", config={"end": []})
    def suffix(text: str, end: str = "!") -> str:
        return text + end

    wf = WorkflowBuilder("suffix")
    word = wf.input("word")
    wf.segment(word, steps=[step(suffix, end="?"), "std/utf8-encode", step("std/hash", algorithm="blake3")])
    result = wf.run(node, word="why")
    import blake3

    assert result.result == blake3.blake3(b"why?").digest()
    seq = node.workflows.get(wf.create(node).id).workflow.segments[0].sequence
    assert seq[0].version_id == suffix.version_id and seq[0].config == {"end": "?"}


def test_builder_refuses_bad_structure_and_inputs(node) -> None:
    wf = WorkflowBuilder("bad")
    other = WorkflowBuilder("other").input("x")
    with pytest.raises(ManifestError, match=r"segments\[0\]\.inputs\[0\]: expected an input or a segment"):
        wf.segment(other, steps=["std/cid"])
    with pytest.raises(ManifestError, match=r"segments\[0\]\.sequence\[0\]: a step is"):
        wf.segment(wf.input("x"), steps=[42])
    with pytest.raises(ManifestError, match="already an input named 'x'"):
        wf.input("x")
    wf.segment(wf._inputs["x"], steps=["std/utf8-encode"])
    with pytest.raises(InputError, match="missing value.*for x; no input named y"):
        wf.run(node, y=1)
    with pytest.raises(
        ManifestError, match=r"segments\[0\]\.sequence\[0\]\.op: no registered operation named 'nope'"
    ):
        b = WorkflowBuilder("nope")
        b.segment(b.input("x"), steps=["nope"])
        b.create(node)


def test_node_takes_operation_objects_and_custom_registry_keeps_std(make_node, tmp_path: Path) -> None:
    @operation("mine/twice", inputs=["int"], output="int")
    def twice(x: int) -> int:
        return 2 * x

    node = make_node(operations=[twice])
    assert node.operations.resolve_name("mine/twice") == twice.version_id
    custom = make_node(data_dir=tmp_path / "b", operations=[], registry=Registry([twice]))
    assert custom.operations.resolve_name("std/cid") is not None
    bare = make_node(data_dir=tmp_path / "c", operations=[], registry=Registry([twice]), std=False)
    assert bare.operations.resolve_name("std/cid") is None


def _module(tmp_path: Path, name: str, body: str):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


OP = """
from catenary import operation
SCALE = {scale}

def helper(x):
    return x * SCALE + {offset}

@operation("mine/scaled", inputs=["int"], output="int"{pin})
def scaled(x):
    return helper(x)
"""


def test_version_covers_helpers_and_constants_and_version_pins(tmp_path: Path) -> None:
    def version(name: str, scale: int = 2, offset: int = 0, pin: str = "") -> str:
        mod = _module(tmp_path, name, OP.format(scale=scale, offset=offset, pin=pin))
        return str(mod.scaled.version_id)

    base = version("m_a")
    assert version("m_b") != base  # the entry (module:qualname) is hashed too
    v1 = version("m_c")
    assert version("m_c", scale=3) != v1  # a constant changed
    assert version("m_c", offset=1) != v1  # a helper changed
    assert version("m_c") == v1  # the same code, the same version
    pinned = version("m_c", pin=', version="1"')
    assert version("m_c", scale=7, offset=9, pin=', version="1"') == pinned
    assert version("m_c", pin=', version="2"') != pinned


def test_an_operation_without_helpers_hashes_its_own_source(tmp_path: Path) -> None:
    mod = _module(
        tmp_path,
        "m_plain",
        "from catenary import operation\nimport math\n"
        '@operation("mine/plain", inputs=["int"], output="int")\ndef plain(x):\n    return math.floor(x)\n',
    )
    assert mod.plain.version.implementation["source"] == cid_of(
        '@operation("mine/plain", inputs=["int"], output="int")\ndef plain(x):\n    return math.floor(x)\n'
    )


def test_operation_defined_in_python_c_runs_end_to_end(tmp_path: Path, db: str | None) -> None:
    script = textwrap.dedent(
        """
        import sys
        from catenary import Node, WorkflowBuilder, operation

        @operation("mine/shout", inputs=["string"], output="string")
        def shout(text):
            return text.upper() + MARK

        MARK = "!"
        wf = WorkflowBuilder("shout")
        wf.segment(wf.input("text"), steps=[shout])
        with Node(sys.argv[1], db=sys.argv[2] or None) as node:
            result = wf.run(node, text="hi")
            print(result.result, result.status, shout.source.splitlines()[0])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data"), db or ""],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HI! completed # no source: bytecode of shout")


def test_export_of_a_custom_operation_needs_no_ops(make_node, tmp_path: Path) -> None:
    mod = _module(tmp_path, "m_export", OP.format(scale=2, offset=1, pin=""))
    wf = WorkflowBuilder("scaled")
    wf.segment(wf.input("x"), steps=[mod.scaled])
    first = make_node(operations=[mod.scaled])
    result = wf.run(first, x=20)
    assert result.result == 41
    first.close()
    later = make_node(operations=[])  # a new process on the node that ran it: no --ops
    assert later.registry.by_name("mine/scaled") is None
    out = io.BytesIO()
    later.trust.export(result.final, out)
    assert not later.trust.verify_bundle(out.getvalue()).problems  # the source block is in it
    checker = make_node(data_dir=tmp_path / "checker", operations=[mod.scaled])
    assert checker.trust.verify_bundle(out.getvalue()).ok  # and it re-executes where the code is

"""Long-running fuzzing of the gRPC request decoding path with atheris (libFuzzer). Not run in
CI: the test suite runs the same target for a bounded, seeded budget
(tests/reliability/test_fuzz.py).

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/fuzz_grpc.py --write-seeds .fuzz/grpc-seeds
    mkdir -p .fuzz/grpc && .venv/bin/python fuzz/fuzz_grpc.py -max_total_time=3600 \\
        .fuzz/grpc .fuzz/grpc-seeds

A real server is started on loopback over a fresh data dir. The first byte of each input picks
one of catenary's RPC methods; the rest is sent, unparsed, as the serialized request through a
raw channel, so the server decodes garbage itself. The seeds are the corpus's requests
(tests/corpus/requests/) and a well-formed request to every method. An answer other than
success or a well-formed status (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, ...), a call
that does not end within its deadline, or a refused request that changed the database stops
the run (see ``fuzz.targets.GrpcTarget``); the input is saved as ``crash-<sha1>``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_seeds(folder: Path) -> None:
    """One file per corpus request (method byte + request bytes) and per method."""
    from fuzz.targets import methods, request_types

    names, types = methods(), request_types()
    folder.mkdir(parents=True, exist_ok=True)
    index = json.loads((ROOT / "tests" / "corpus" / "index.json").read_text())["cases"]
    for case in index:
        if case["kind"] == "request" and case["method"] in names:
            data = (ROOT / "tests" / "corpus" / case["file"]).read_bytes()
            (folder / case["name"]).write_bytes(bytes([names.index(case["method"])]) + data)
    for number, method in enumerate(names):
        (folder / f"method-{number}").write_bytes(bytes([number]) + types[method]().SerializeToString())
    print(f"wrote {len(list(folder.iterdir()))} seeds to {folder}")


def main() -> None:
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: .venv/bin/pip install atheris")

    with atheris.instrument_imports(include=["catenary"]):
        from catenary.api import Server
        from catenary.sdk import Node
        from fuzz.targets import GrpcTarget, methods

    node = Node(Path(tempfile.mkdtemp(prefix="catenary-fuzz-")) / "data", max_value_size=256 * 1024)
    wf = node.workflows.create(
        {
            "data": {
                "name": "fuzz",
                "creators": [],
                "description": "",
                "groups": [],
                "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-decode", "config": {}}]}],
            }
        }
    ).id
    node.runs.new(wf)
    from tests.helpers import open_policy  # the fuzzer calls without keys: let it reach the servicers

    server = Server(node, "127.0.0.1:0", max_workers=32, policy=open_policy(node)).start()
    target = GrpcTarget(node, server.address)
    names = methods()

    def one_input(data: bytes) -> None:
        if data:
            target(names[data[0] % len(names)], data[1:])

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(Path(sys.argv[2]))
    else:
        main()

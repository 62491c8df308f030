"""Long-running fuzzing of the manifest loader with atheris (libFuzzer). Not run in CI: the
test suite runs the same target for a bounded, seeded budget (tests/reliability/test_fuzz.py).

    .venv/bin/pip install atheris
    mkdir -p .fuzz/manifest && .venv/bin/python fuzz/fuzz_manifest.py -max_total_time=3600 \\
        .fuzz/manifest tests/corpus/manifests

The first directory collects the inputs that reached new code; the others seed it (the bad-input
corpus). Each input is handed to ``WorkflowManager.create`` as bytes; an input that makes an
invariant of ``fuzz.targets.ManifestTarget`` break (an exception other than a CatenaryError,
an unclear message, or a refused manifest that changed the database) stops the run and is saved
as ``crash-<sha1>``. Turn it into a case of tests/corpus/make_corpus.py and a minimal fix.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import atheris
except ImportError:
    sys.exit("atheris is not installed: .venv/bin/pip install atheris")

with atheris.instrument_imports(include=["catenary"]):
    from fuzz.targets import ManifestTarget


def main() -> None:
    target = ManifestTarget(Path(tempfile.mkdtemp(prefix="catenary-fuzz-")) / "data")

    def one_input(data: bytes) -> None:
        target(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Executions verified per second: the browser page (headless Chromium, the page opened from a
file, a worker) against `catenary verify-bundle`, on one bundle of N executions.

The bundle is the ancestry of the last step of one segment of N `example/reverse` steps (WASM),
exported by the CLI. reverse(reverse(x)) is x, so the chain has two distinct keys: both
verifiers re-execute once per key, and what is timed is reading the CAR, hashing every block,
recomputing every record, following every link and checking the signatures.

    python benchmarks/browser_verify.py [N]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CATENARY = Path(sys.executable).parent / "catenary"


def main(n: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    tmp = Path(tempfile.mkdtemp(prefix="browser-bench-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATENARY_HOME": str(tmp / "home")}

    def cli(*args: str) -> str:
        return subprocess.run(
            [str(CATENARY), *args], check=True, capture_output=True, text=True, env=env
        ).stdout

    cli("op", "add", str(ROOT / "examples" / "wasm" / "reverse.wat"))
    manifest = {
        "data": {
            "name": "chain",
            "creators": ["bench"],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [{"op": "example/reverse", "config": {}}] * n}],
        }
    }
    (tmp / "chain.json").write_text(json.dumps(manifest))
    wf = json.loads(cli("workflow", "create", str(tmp / "chain.json"), "--json"))["id"]
    final = json.loads(cli("run", wf, "--input", "0=@" + str(ROOT / "README.md"), "--json"))["final"]
    bundle = tmp / "chain.car"
    cli("export", final, "-o", str(bundle))

    python = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [str(CATENARY), "--data-dir", str(tmp / "fresh"), "verify-bundle", str(bundle)],
            check=True,
            capture_output=True,
            env=env,
        )
        python.append(time.perf_counter() - started)
    browser = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page()
        page.goto((ROOT / "catenary" / "web" / "static" / "verify.html").as_uri())
        for _ in range(3):
            page.evaluate("window.catenaryReport = null")
            started = time.perf_counter()
            page.set_input_files("#file", str(bundle))
            page.wait_for_function("window.catenaryReport != null", timeout=600_000, polling=50)
            browser.append(time.perf_counter() - started)
            report = page.evaluate(
                "({v: window.catenaryReport.verdict, n: window.catenaryReport.executions.length})"
            )
            assert report == {"v": "verified", "n": n}, report
        chromium.close()
    size = bundle.stat().st_size
    print(f"bundle: {n} executions, {size} bytes")
    print(
        f"catenary verify-bundle (whole command, best of 3): {min(python):.2f} s, {n / min(python):,.0f} executions/s"
    )
    print(
        f"browser page, Chromium (file picked to verdict, best of 3): {min(browser):.2f} s, {n / min(browser):,.0f} executions/s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)

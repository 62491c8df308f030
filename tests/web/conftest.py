"""The explorer on a real loopback server over a real node, and Debian's Chromium driven by
Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from catenary.sdk import Node
from catenary.web import WebServer
from tests.web.data import Dataset, populate

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEST_OPS = "tests.ops_fixture"


class Site:
    """A served explorer: its node, what was recorded, and an HTTP client on its URL."""

    def __init__(self, node: Node, data: Dataset, server: WebServer) -> None:
        self.node = node
        self.data = data
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.node.close()


def open_site(tmp: Path, **app_options: object) -> Site:
    node = Node(tmp / "data", operations=[TEST_OPS])
    data = populate(node, tmp)
    return Site(node, data, WebServer(node, "127.0.0.1:0", **app_options).start())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One populated node and its explorer per test module (tests here only read, or add
    what they then look for)."""
    s = open_site(tmp_path_factory.mktemp("site"))
    yield s
    s.close()


@pytest.fixture
def fresh_site(tmp_path: Path) -> Iterator[Site]:
    """A populated node and explorer of this test's own."""
    s = open_site(tmp_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium from Debian (``make test`` installs it with apt-get)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            f"(apt-get install chromium); Playwright never downloads a browser here"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page (1366x860, a laptop screen); console errors fail the test."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    # A deliberate 404 page logs "Failed to load resource"; anything else is a bug.
    tab.on(
        "console",
        lambda m: (
            errors.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert not errors, "\n".join(errors)


def screenshot(tab, name: str) -> Path:
    """Save a screenshot under tests/artifacts/ (gitignored; CI keeps them as artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"explorer-{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def vendored() -> bool:
    from catenary.web.app import graph_available

    return graph_available()

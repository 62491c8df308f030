"""Generic fixtures: a real Node in a temporary data directory with the test operations.

Backends: tests under tests/store, tests/sdk and tests/engine that use the
``backend`` fixture (directly, or through ``node`` / ``make_node`` / ``store``) run once on
SQLite and once on PostgreSQL; ``--backend sqlite`` or ``--backend postgresql`` picks one.
PostgreSQL tests use a real server that the session starts itself (``pg_server``, tests/pg.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catenary import Node
from tests import ops_fixture
from tests.pg import PostgresMissing, PostgresServer

TEST_OPS = "tests.ops_fixture"
BACKENDS = ("sqlite", "postgresql")
# Test directories whose tests run on every backend.
BACKEND_SUITES = {"store", "sdk", "engine"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        default=None,
        help="run the backend-parametrized tests on this store only (repeatable; "
        "default: sqlite and postgresql)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    path = metafunc.definition.path
    if path.parent.name in BACKEND_SUITES and path.parent.parent == Path(__file__).parent:
        chosen = metafunc.config.getoption("--backend") or list(BACKENDS)
        metafunc.parametrize("backend", chosen, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store the test runs on: ``sqlite`` (default outside the backend suites) or ``postgresql``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (initdb + pg_ctl in a temporary directory)."""
    try:
        server = PostgresServer.start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A new, empty database on the session's server (dropped afterwards); its URL."""
    dsn = pg_server.create_database()
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> str | None:
    """What ``Node(db=...)`` gets: None (the data dir's SQLite file) or a fresh PostgreSQL URL."""
    return request.getfixturevalue("pg_database") if backend == "postgresql" else None


@pytest.fixture
def ops() -> Iterator[object]:
    """The test operations module, with its call counters reset."""
    ops_fixture.reset()
    yield ops_fixture
    ops_fixture.reset()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "catenary-data"


@pytest.fixture
def make_node(data_dir: Path, ops: object, db: str | None) -> Iterator[Callable[..., Node]]:
    """Open Nodes on the shared data dir and database (closed at teardown); kwargs go to Node."""
    opened: list[Node] = []

    def make(**kwargs: object) -> Node:
        kwargs.setdefault("operations", [TEST_OPS])
        if "store" not in kwargs:
            kwargs.setdefault("db", db)
        node = Node(kwargs.pop("data_dir", data_dir), **kwargs)
        opened.append(node)
        return node

    yield make
    for node in opened:
        try:
            node.close()
        except Exception:
            pass


@pytest.fixture
def node(make_node: Callable[..., Node]) -> Node:
    """A real Node in tmp_path (on the test's backend), with the std library and tests.ops_fixture."""
    return make_node()


@pytest.fixture
def db_path(node: Node, db: str | None) -> Path | str:
    """Where the node's records are: the SQLite file, or the PostgreSQL URL (tests.helpers'
    ``snapshot`` and ``query`` take either)."""
    return db if db else node.data_dir / "catenary.db"

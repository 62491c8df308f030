"""A real, throwaway PostgreSQL server for the tests and benchmarks (no mock databases).

``PostgresServer.start()`` runs ``initdb`` and ``pg_ctl`` from the installed PostgreSQL
(``/usr/lib/postgresql/*/bin``, or ``initdb`` on ``PATH``) in a new temporary directory, on a
free loopback port, and ``stop()`` stops it and deletes the directory. PostgreSQL refuses to
run as root, so under root the server runs as the ``postgres`` system user (``nobody`` if
there is none) through ``runuser``.

``make test`` installs PostgreSQL when it is missing; when the binaries still cannot be found,
:func:`find_bin_dir` raises :class:`PostgresMissing`, and the pytest fixture turns that into a
failure naming what to install (never a silent skip).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = (
    "install PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`; `make test` "
    "does this when /usr/lib/postgresql/*/bin/initdb is missing)"
)

# Settings for a test server: durability off (the data is thrown away), room for several
# nodes' connection pools, and no background noise in the log.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "log_min_messages": "warning",
}


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed."""


def find_bin_dir() -> Path:
    """The directory of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        found.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresMissing(
        f"PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb "
        f"and no initdb on PATH): {INSTALL_HINT}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """The user to run the server as: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresMissing(
        "running as root and there is no `postgres` or `nobody` user to run "
        "the PostgreSQL server as (it refuses to run as root)"
    )


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:port."""

    _names = itertools.count(1)

    def __init__(self, bin_dir: Path, base: Path, port: int, user: str | None) -> None:
        self.bin_dir, self.base, self.port, self.user = bin_dir, base, port, user
        self.data = base / "data"
        self.log = base / "server.log"

    # lifecycle ----------------------------------------------------------------------------------
    @classmethod
    def start(cls, settings: dict[str, str] | None = None) -> PostgresServer:
        """initdb + pg_ctl start; ``settings`` override :data:`TEST_SETTINGS`."""
        bin_dir = find_bin_dir()
        user = _server_user()
        base = Path(tempfile.mkdtemp(prefix="catenary-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        server = cls(bin_dir, base, 0, user)
        try:
            server._run(
                "initdb",
                "-D",
                str(server.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-N",
            )
            conf = {
                **TEST_SETTINGS,
                **(settings or {}),
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{base}'",
            }
            with open(server.data / "postgresql.conf", "a") as f:
                for key, value in conf.items():
                    f.write(f"{key} = {value}\n")
            # A port picked free can be taken before the server binds it: try a few.
            for attempt in range(5):
                server.port = free_port()
                try:
                    server._run(
                        "pg_ctl",
                        "-D",
                        str(server.data),
                        "-l",
                        str(server.log),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-p {server.port}",
                        "start",
                    )
                    break
                except RuntimeError:
                    if attempt == 4:
                        raise
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and delete its directory."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.base)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    # databases ----------------------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for a database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop a database made by :meth:`create_database`, ending its sessions first."""
        import psycopg

        name = dsn.rsplit("/", 1)[1]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

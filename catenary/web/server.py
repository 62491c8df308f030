"""Serving the explorer: uvicorn in a background thread, on a socket bound up front.

Binding the socket before uvicorn starts means a busy or bad address is a
clear error at once ("address already in use": no SO_REUSEPORT, so a second server
cannot share the port), and port 0 yields the real port before anything is served.
The explorer has no login: off loopback it needs TLS with client certificates
(``--tls-client-ca``), or ``--insecure``.
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import uvicorn

from catenary.errors import BadInputError
from catenary.sdk import Node
from catenary.web.app import create_app
from catenary.web.security import allowed_hosts

if TYPE_CHECKING:
    from catenary.api.server import TLSFiles

START_TIMEOUT = 10.0


def parse_address(text: str, option: str = "--http") -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 as ``[::1]:PORT``) into host and port."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadInputError(f"{option}: expected HOST:PORT (e.g. 127.0.0.1:8080), got {text!r}")
    return host.strip("[]"), int(port)


class WebServer:
    """The explorer over ``node`` on ``HOST:PORT``; ``start()``, then ``stop()``."""

    def __init__(
        self,
        node: Node,
        listen: str = "127.0.0.1:8080",
        tls: TLSFiles | None = None,
        insecure: bool = False,
        hosts: Iterable[str] = (),
        **app_options: object,
    ) -> None:
        """``hosts``: the names the explorer answers to (``Host``; no DNS rebinding); by
        default the listen host and the loopback names."""
        from catenary.api.server import exposure

        host, port = parse_address(listen)
        problem = exposure(
            listen,
            tls is not None,
            None
            if tls is not None and tls.client_ca
            else "the explorer has no login: require client certificates with --tls-client-ca",
            "--http",
        )
        if problem and not insecure:
            raise BadInputError(problem)
        self.warning = problem
        if tls is not None:
            tls.server_credentials()  # unreadable files: a clear error now, not in uvicorn's thread
        self.hosts = allowed_hosts(host, hosts)
        self.app = create_app(node, hosts=self.hosts, **app_options)  # type: ignore[arg-type]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise BadInputError(f"--http: cannot listen on {listen!r}: {reason}") from exc
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.address = f"{shown}:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.address}"
        secure: dict[str, Any] = (
            {}
            if tls is None
            else {
                "ssl_certfile": str(tls.cert),
                "ssl_keyfile": str(tls.key),
                **(
                    {"ssl_ca_certs": str(tls.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
                    if tls.client_ca
                    else {}
                ),
            }
        )
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            **secure,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="catenary-http", daemon=True
        )

    def start(self) -> WebServer:
        """Serve in a background thread; returns once requests are accepted."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the explorer did not start on {self.address}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """End live streams, then stop accepting and finish requests in flight."""
        self.app.state.explorer.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

"""The explorer is read-only (issue 13): every HTTP route of the app answers GET and HEAD
only, except the routes ``catenary.web.app.STATE_CHANGING`` declares, and every other method
is refused with 405 without changing anything stored."""

from __future__ import annotations

from starlette.routing import Mount, Route

from catenary.web import create_app
from catenary.web.app import STATE_CHANGING
from tests.helpers import snapshot
from tests.web.conftest import Site

READ = {"GET", "HEAD"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def routes(site: Site) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route of a freshly made app; a mount serves files (GET)."""
    found: list[tuple[str, set[str]]] = []
    for route in create_app(site.node).routes:
        assert isinstance(route, (Route, Mount)), f"unexpected route type {type(route).__name__}"
        if isinstance(route, Mount):
            found.append((route.path + "/verify.html", READ))
        else:
            found.append((route.path, set(route.methods or READ)))
    return found


def concrete(site: Site, path: str) -> str:
    """``path`` with its parameters naming things the site holds."""
    final = site.node.executions.get(site.data.proven_final)
    values = {
        "{hash}": str(final.hash),
        "{cid}": str(final.output),
        "{id}": str(site.data.proven_run if path.startswith(("/runs", "/api/runs")) else site.data.camera),
    }
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, path
    return path


def test_every_route_reads_unless_declared(site: Site) -> None:
    listed = routes(site)
    assert len(listed) > 15  # the pages, the gateway, /verify and the static files
    for path, methods in listed:
        allowed = STATE_CHANGING.get(path, READ)
        assert methods == allowed, f"{path} takes {sorted(methods)}; declare it in STATE_CHANGING"
    assert set(STATE_CHANGING) <= {p for p, _ in listed}, "STATE_CHANGING names a route that is gone"


def test_other_methods_are_refused_with_405_and_change_nothing(site: Site) -> None:
    before = snapshot(site.node.data_dir / "catenary.db")
    for path, methods in routes(site):
        url = concrete(site, path)
        for method in METHODS:
            if method in methods:
                continue
            response = site.http.request(method, url)
            assert response.status_code == 405, f"{method} {url}: {response.status_code}"
    assert snapshot(site.node.data_dir / "catenary.db") == before

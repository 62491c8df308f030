"""The execution explorer: a web UI and a read-only JSON gateway over a node's sdk managers.

``catenary serve --http HOST:PORT`` runs it; :func:`create_app` gives the ASGI
app for any server, :class:`WebServer` runs it with uvicorn in a thread.
"""

from catenary.extras import require_extra

require_extra("web")  # one line naming the extra, not an ImportError from deep inside

from catenary.web.app import create_app  # noqa: E402
from catenary.web.server import WebServer  # noqa: E402

__all__ = ["WebServer", "create_app"]

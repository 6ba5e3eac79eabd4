"""A WSGI application served on a loopback port from a background thread.

Every part of the embedded stack that speaks HTTP runs in one of these. `stop()` shuts the server
down *and* closes its socket, so a stopped stack leaves no listening port behind (werkzeug's
`shutdown()` alone keeps the socket bound until garbage collection).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request is noise here
        pass


class BackgroundServer:
    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int | None = None,
                 request_handler: type[WSGIRequestHandler] | None = None, name: str = "server"):
        self.app = app
        self.host = host
        self.port = port or 0
        self.name = name
        self._handler = request_handler or _QuietHandler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        # Binding here (not in the thread) means the port is listening when start() returns.
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=self._handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"tfpipe-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

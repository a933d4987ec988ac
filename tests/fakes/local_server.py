"""What every fake server shares: a quiet threaded HTTP server on an ephemeral 127.0.0.1 port."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)


class QuietServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its fake and treats clients hanging up as normal."""

    daemon_threads = True
    fake: Any

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (timeouts, keep-alive closes) is normal here: log at DEBUG."""
        log.debug("fake server: connection from %s ended abruptly", client_address, exc_info=True)


class LocalServer:
    """Serves `handler` in a background thread; use as a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.stopping = threading.Event()
        self._httpd = QuietServer(("127.0.0.1", 0), handler)
        self._httpd.fake = self
        # Poll often so that stop() returns quickly.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake delayed handlers, stop serving and close the socket."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

"""A threaded HTTP server on 127.0.0.1 serving feed files, with conditional GET and injectable faults."""

from __future__ import annotations

import gzip
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.fakes.local_server import LocalServer, QuietServer

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


@dataclass
class Route:
    """What the server answers for one path, including any fault to inject."""

    body: bytes
    content_type: str | None = "application/rss+xml"
    etag: str | None = None
    last_modified: str | None = None
    status: int | None = None
    delay: float = 0.0
    truncate_at: int | None = None
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SeenRequest:
    """One request the server received: its path and headers (lower-case names)."""

    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    """Answers GETs from the routes registered on the owning FeedServer."""

    server: QuietServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Serve the route, honouring conditional headers and the route's faults."""
        fake = self.server.fake
        path = self.path.split("?")[0]
        fake.record(SeenRequest(path, {k.lower(): v for k, v in self.headers.items()}))
        route = fake.routes.get(path)
        try:
            if route is None:
                self._send(404, b"not found", "text/plain")
                return
            if route.delay:
                fake.stopping.wait(route.delay)
            if route.status is not None:
                self._send(route.status, f"fault {route.status}".encode(), "text/plain", route.headers)
                return
            pairs = (("ETag", route.etag), ("Last-Modified", route.last_modified))
            validators = {name: value for name, value in pairs if value}
            if self._not_modified(route):
                self._send(304, b"", None, validators)
                return
            payload = gzip.compress(route.body) if route.gzip else route.body
            extra = {**validators, **route.headers, **({"Content-Encoding": "gzip"} if route.gzip else {})}
            self._send(200, payload, route.content_type, extra, route.truncate_at)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away from %s", path)

    def _not_modified(self, route: Route) -> bool:
        """True when the request's validators match the route (If-None-Match wins over the date)."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return route.etag is not None and route.etag in [tag.strip() for tag in if_none_match.split(",")]
        since = self.headers.get("If-Modified-Since")
        return since is not None and since == route.last_modified

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
        truncate_at: int | None = None,
    ) -> None:
        """Write a response; with `truncate_at`, declare the full length but send fewer bytes and close."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(payload)))
        if truncate_at is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if status != 304:
            self.wfile.write(payload if truncate_at is None else payload[:truncate_at])
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: log at DEBUG instead of writing to stderr."""
        log.debug("fake feed server: " + format, *args)


class FeedServer(LocalServer):
    """Serves registered paths on an ephemeral 127.0.0.1 port and counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: dict[str, list[SeenRequest]] = defaultdict(list)
        self._lock = threading.Lock()
        super().__init__(_Handler)

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return self.base_url + path

    def serve(self, path: str, body: bytes | str, **options: object) -> Route:
        """Register `path`: `body` is bytes, or a fixture file name under tests/fixtures/feeds/."""
        data = body if isinstance(body, bytes) else (FIXTURES / body).read_bytes()
        route = Route(data, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def record(self, request: SeenRequest) -> None:
        """Remember one received request."""
        with self._lock:
            self.seen[request.path].append(request)

    def count(self, path: str) -> int:
        """How many requests the server received for `path`."""
        with self._lock:
            return len(self.seen[path])

    def last(self, path: str) -> SeenRequest:
        """The most recent request for `path`."""
        with self._lock:
            return self.seen[path][-1]

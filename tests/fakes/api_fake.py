"""A threaded JSON API fake on 127.0.0.1 with injectable faults, shared by the X and Reddit fakes."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_server import LocalServer, QuietServer

log = logging.getLogger(__name__)

FAULT_KINDS = ("status", "timeout", "invalid_json", "truncated", "empty", "drop")


@dataclass
class Fault:
    """One injected misbehaviour for the next request(s) matching `method` and `path` (a prefix).

    kinds: status (answer `status` with `headers`), timeout (answer after `delay` seconds), invalid_json,
    truncated (declare more bytes than sent), empty (an empty result), drop (close without answering).
    With `after=True` the request is carried out first and only the answer is spoiled (a reply that was
    posted although the client saw an error). `skip` lets that many matching requests through first.
    """

    kind: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    path: str | None = None
    after: bool = False
    times: int = 1
    delay: float = 1.0
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to the request."""
        return (self.method in (None, method)) and (self.path is None or path.startswith(self.path))


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What a route returns: status, JSON-able payload and headers."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: QuietServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in separate writes would wait 40 ms for a delayed ACK

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(method, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        fault = fake.take_fault(seen)
        try:
            if fault is not None and not fault.after:
                self._fault(fault, seen)
                return
            answer = fake.answer(seen)
            if fault is not None:
                self._fault(fault, seen)
                return
            data = json.dumps(answer.payload).encode()
            self._send(answer.status, data, answer.headers)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away from %s", path)

    def do_GET(self) -> None:
        """Answer a GET."""
        self._handle("GET")

    def do_POST(self) -> None:
        """Answer a POST."""
        self._handle("POST")

    def do_DELETE(self) -> None:
        """Answer a DELETE."""
        self._handle("DELETE")

    def _fault(self, fault: Fault, seen: Seen) -> None:
        fake = self.server.fake
        if fault.kind == "timeout":
            fake.stopping.wait(fault.delay)
            self.close_connection = True
            return
        if fault.kind == "drop":
            self.close_connection = True
            return
        if fault.kind == "invalid_json":
            self._send(200, b'{"data": [{"id": "1", "te', fault.headers)
        elif fault.kind == "truncated":
            self._send(200, json.dumps(fake.empty(seen)).encode() + b" " * 64, fault.headers, truncate_at=10)
        elif fault.kind == "empty":
            self._send(200, json.dumps(fake.empty(seen)).encode(), fault.headers)
        else:
            body = json.dumps({"title": "fault", "status": fault.status, "errors": [{"message": "injected"}]})
            self._send(fault.status, body.encode(), fault.headers)

    def _send(self, status: int, payload: bytes, headers: dict[str, str], truncate_at: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        # Say so when the connection ends after this answer (the client asked, e.g. prawcore's token requests, or
        # the body is cut short): a client that is not told keeps the socket and its next request is lost.
        if truncate_at is not None or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload if truncate_at is None else payload[:truncate_at])
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: DEBUG instead of stderr."""
        log.debug("fake api: " + format, *args)


class ApiFake(LocalServer):
    """Base of the fakes: subclasses implement `answer(seen)` and `empty(seen)` over their in-memory world."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.lock = threading.RLock()
        super().__init__(_Handler)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each applies to the next `times` matching requests, in order."""
        with self.lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self.lock:
            self.faults.clear()

    def take_fault(self, seen: Seen) -> Fault | None:
        """Record the request and consume the first fault that matches it."""
        with self.lock:
            self.seen.append(seen)
            for fault in self.faults:
                if fault.matches(seen.method, seen.path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def count(self, method: str, path_prefix: str = "") -> int:
        """How many requests with this method and path prefix arrived."""
        with self.lock:
            return sum(1 for s in self.seen if s.method == method and s.path.startswith(path_prefix))

    def answer(self, seen: Seen) -> Answer:
        """The normal answer to a request (subclasses)."""
        raise NotImplementedError

    def empty(self, seen: Seen) -> Any:
        """An empty result for the request's endpoint (subclasses)."""
        return {}

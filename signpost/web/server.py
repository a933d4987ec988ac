"""Serving the dashboard with uvicorn: in the foreground (CLI, demo) or in a thread (tests, screenshots)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy.engine import Engine

from core.db import make_engine, upgrade
from core.settings import Settings
from signpost.context import AppContext
from signpost.web.app import create_app
from signpost.web.auth import Login

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The http URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def print_login(console: Console, url: str, login: Login) -> None:
    """Tell the operator where to go and how to log in (a generated password is shown once, here)."""
    console.print(f"Dashboard: {url}/", markup=False, highlight=False, soft_wrap=True)
    if login.generated:
        console.print(f"Login: {login.username} / {login.password}  (generated for this run; "
                      "set SIGNPOST_WEB__PASSWORD to choose one)", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(f"Login: {login.username} with the password from SIGNPOST_WEB__PASSWORD",
                      markup=False, highlight=False, soft_wrap=True)


def _server(app: FastAPI) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                         proxy_headers=False))


def serve(app_ctx: AppContext, host: str, port: int, console: Console | None = None) -> None:
    """Serve the dashboard on host:port until interrupted, after printing the URL and login."""
    app = create_app(app_ctx)
    sock = bind(host, port)
    print_login(console or Console(), url_of(sock), app.state.login)
    _server(app).run(sockets=[sock])


def serve_dashboard(app_ctx: AppContext, console: Console) -> None:
    """The demo's dashboard: 127.0.0.1 on the configured port (a free one if that is taken)."""
    app = create_app(app_ctx)
    try:
        sock = bind("127.0.0.1", app_ctx.settings.web.port)
    except OSError:
        console.print(f"Port {app_ctx.settings.web.port} is taken; using a free one.", markup=False, highlight=False)
        sock = bind("127.0.0.1", 0)
    print_login(console, url_of(sock), app.state.login)
    console.print("Press Ctrl+C to stop.", markup=False, highlight=False, soft_wrap=True)
    _server(app).run(sockets=[sock])


class EngineContext(AppContext):
    """An AppContext on a given engine (the demo's fresh SQLite file, a test database), whatever DATABASE_URL says."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings)
        self.__dict__["engine"] = engine  # fills the cached_property


def context_for(settings: Settings, database_url: str) -> AppContext:
    """An AppContext on `database_url` (migrated), e.g. the demo database."""
    engine = make_engine(database_url)
    upgrade(engine)
    return EngineContext(settings, engine)


@dataclass
class BackgroundServer:
    """A uvicorn server running in a daemon thread; `stop()` shuts it down."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> BackgroundServer:
    """Serve `app` in a background thread on an ephemeral port; returns once it accepts connections."""
    sock = bind(host, port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="signpost-web")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.02)
    return BackgroundServer(server, thread, url_of(sock))

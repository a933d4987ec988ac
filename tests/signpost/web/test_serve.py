"""Serving: `signpost web` and the demo's `serve_dashboard` as real processes; the login account."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from core.db import make_engine, upgrade
from signpost.web.auth import Login, LoginThrottle, credentials_match, resolve_login, session_secret
from tests.factories import make_settings, write_settings

# Registers the command unless signpost/cli/__init__.py already does.
WEB_CLI = ("from signpost.cli import app, main, web; "
           "any(c.name == 'web' for c in app.registered_commands) or web.register(app); main()")
DEMO_SERVE = ("import sys; from rich.console import Console; from core.settings import load_settings; "
              "from signpost.web.server import context_for, serve_dashboard; "
              "serve_dashboard(context_for(load_settings(sys.argv[1]), sys.argv[2]), Console())")


@contextmanager
def _process(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=full_env)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("Login:") for line in lines) and len(lines) < 10:
            lines.append(proc.stdout.readline())
        url = next((m for m in (re.search(r"Dashboard: (http://\S+)/", line) for line in lines) if m), None)
        assert url, f"no URL printed: {lines!r}"
        login_line = next(line for line in lines if line.startswith("Login:"))
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url.group(1)}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not come up"
            time.sleep(0.1)
        yield proc, url.group(1), login_line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_signpost_web_serves_with_a_generated_password(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, f'[app]\ndata_dir = "{(tmp_path / "var").as_posix()}"\n')
    with _process(WEB_CLI, "--settings", str(settings), "web", "--host", "127.0.0.1", "--port", "0") as (_, url, line):
        found = re.search(r"Login: admin / (\S+)", line)
        assert found, line
        assert httpx.get(f"{url}/api/stats", auth=("admin", found.group(1))).json()["posts"] == 0
        assert httpx.get(f"{url}/api/stats", auth=("admin", "guess")).status_code == 401


def test_configured_password_is_used_and_never_printed(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, f'[app]\ndata_dir = "{(tmp_path / "var").as_posix()}"\n')
    env = {"SIGNPOST_WEB__PASSWORD": "s3cret-from-env", "SIGNPOST_WEB__USERNAME": "maria"}
    with _process(WEB_CLI, "--settings", str(settings), "web", "--port", "0", env=env) as (_, url, line):
        assert "s3cret-from-env" not in line and "SIGNPOST_WEB__PASSWORD" in line
        assert httpx.get(f"{url}/api/stats", auth=("maria", "s3cret-from-env")).status_code == 200
        assert url.startswith("http://127.0.0.1:")


def test_demo_dashboard_moves_to_a_free_port_when_its_port_is_taken(tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'demo.db').as_posix()}"
    upgrade(make_engine(db_url))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        settings = write_settings(tmp_path, f'[app]\ndata_dir = "{tmp_path.as_posix()}"\n[web]\nport = {port}\n')
        with _process(DEMO_SERVE, str(settings), db_url) as (_, url, line):
            assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{port}")
            assert "Login: admin / " in line


def test_login_account_and_secret_key(tmp_path: Path) -> None:
    generated = resolve_login(make_settings(tmp_path))
    assert generated.generated and len(generated.password) >= 16 and generated.username == "admin"
    assert generated.password not in repr(generated)
    assert resolve_login(make_settings(tmp_path)).password != generated.password
    chosen = resolve_login(make_settings(tmp_path, web={"password": SecretStr("pw"), "username": "maria"}))
    assert chosen == Login("maria", "pw", generated=False)
    assert credentials_match(chosen, "maria", "pw")
    assert not credentials_match(chosen, "maria", "pw ") and not credentials_match(chosen, "Maria", "pw")
    assert not credentials_match(chosen, "maria", "pässwort")
    assert session_secret(make_settings(tmp_path, web={"secret_key": SecretStr("k" * 40)})) == "k" * 40
    assert session_secret(make_settings(tmp_path)) != session_secret(make_settings(tmp_path))


def test_login_throttle_window() -> None:
    throttle = LoginThrottle(limit=2, window=0.2)
    throttle.failed("a")
    assert not throttle.blocked("a")
    throttle.failed("a")
    assert throttle.blocked("a") and not throttle.blocked("b")
    time.sleep(0.25)
    assert not throttle.blocked("a")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example", "", "relative"])
def test_only_local_paths_are_followed(target: str) -> None:
    from signpost.web.security import safe_next

    assert safe_next(target) == "/"
    assert safe_next("/suggestions/3?x=1") == "/suggestions/3?x=1"

"""Dashboard fixtures: a seeded real database, the app served by uvicorn on 127.0.0.1, a headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from signpost.web.app import create_app
from signpost.web.auth import Login
from signpost.web.server import BackgroundServer, EngineContext, start_in_thread
from tests.factories import make_settings
from tests.signpost.web.seed import PASSWORD, seed_queue

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def login() -> Login:
    """The operator account the tests log in with."""
    return Login("admin", PASSWORD)


@pytest.fixture
def seeded(engine: Engine) -> dict[str, int]:
    """Suggestion ids by name, on the test database."""
    return seed_queue(engine)


@pytest.fixture
def live_server(engine: Engine, seeded: dict[str, int], login: Login, tmp_path: Path) -> Iterator[BackgroundServer]:
    """The dashboard served by uvicorn in a thread on 127.0.0.1 with an ephemeral port."""
    app = create_app(EngineContext(make_settings(tmp_path), engine), login)
    server = start_in_thread(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (required when CI=true)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing: apt-get install -y chromium")
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium); set CI=true to require it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: BackgroundServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a page; console errors are collected on `page.errors`."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.errors = []
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    yield tab
    context.close()

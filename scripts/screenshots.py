"""Screenshots for the README: the demo pipeline into a temp dir, the dashboard served, Chromium driven.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import load_settings
from signpost.demo import run_pipeline
from signpost.web.app import create_app
from signpost.web.auth import Login
from signpost.web.server import context_for, start_in_thread

log = logging.getLogger(__name__)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _log_in(page: Page, url: str, login: Login) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", login.username)
    page.fill("input[name=password]", login.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def take(out: Path, chromium: str) -> list[Path]:
    """Run the demo into a temp dir, serve it, and write queue, detail and overview PNGs into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings_file = Path(tmp) / "settings.toml"
        settings_file.write_text(f'[app]\ndata_dir = "{Path(tmp, "var").as_posix()}"\n', encoding="utf-8")
        settings = load_settings(settings_file)
        summary = run_pipeline(settings)
        login = Login("admin", secrets.token_urlsafe(12))
        server = start_in_thread(create_app(context_for(settings, summary.database_url), login))
        written = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
                _log_in(page, server.url, login)
                # One decision with an edit, on the most confident English suggestion.
                items = page.request.get(f"{server.url}/api/suggestions?limit=50").json()["items"]
                sid = max((i for i in items if i["lang"] == "en"), key=lambda item: item["score"])["id"]
                page.goto(f"{server.url}/")  # the queue's first page shows these same 50, newest first
                first = page.locator(f"#s-{sid}")
                area = first.locator("textarea[name=reply_text]")
                area.fill(area.input_value().replace("This article should help", "This guide walks you through it"))
                first.locator('button[data-action="approve"]').click()
                page.wait_for_load_state()
                page.goto(f"{server.url}/")
                page.screenshot(path=out / "queue.png")
                page.goto(f"{server.url}/suggestions/{sid}")
                page.click("table.history details summary")
                page.screenshot(path=out / "suggestion-detail.png", full_page=True)
                page.goto(f"{server.url}/overview")
                page.screenshot(path=out / "overview.png", full_page=True)
                written = [out / "queue.png", out / "suggestion-detail.png", out / "overview.png"]
                browser.close()
        finally:
            server.stop()
    return written


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for path in take(args.out, args.chromium):
        print(path)


if __name__ == "__main__":
    main()

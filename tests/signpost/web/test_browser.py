"""The dashboard in a real headless Chromium against uvicorn and the real database (both backends)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import AuditEvent, Suggestion
from signpost.web.server import BackgroundServer
from tests.signpost.web.seed import PASSWORD


def _log_in(page: Any, server: BackgroundServer, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _row(engine: Engine, sid: int) -> tuple[Suggestion, list[AuditEvent]]:
    with session_scope(engine) as session:
        row = session.get(Suggestion, sid)
        assert row is not None
        events = session.exec(select(AuditEvent).where(AuditEvent.suggestion_id == sid)
                              .order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        return row, list(events)


def test_wrong_password_is_refused_then_the_queue_shows(page: Any, live_server: BackgroundServer,
                                                         seeded: dict[str, int]) -> None:
    _log_in(page, live_server, "not the password")
    assert "Wrong username or password" in page.inner_text(".flash-error")
    assert page.locator("[data-card]").count() == 0
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    cards = page.locator("[data-card]")
    assert cards.count() == 5
    first = cards.first
    assert first.get_attribute("id") == f"s-{seeded['password']}", "newest first"
    assert "@bob" in first.inner_text() and "Reset your password" in first.inner_text()
    assert first.locator("a.orig").get_attribute("href") == "https://www.reddit.com/r/shop/comments/5"
    assert "wrong article" not in page.content()
    assert page.errors == []


def test_edit_approve_and_reject_with_a_reason(page: Any, live_server: BackgroundServer, seeded: dict[str, int],
                                               engine: Engine) -> None:
    _log_in(page, live_server)
    card = page.locator(f"#s-{seeded['domain']}")
    card.locator("textarea[name=reply_text]").fill("Hi ana! Step by step: https://help.example.com/en/connect-domain")
    card.locator('button[data-action="edit"]').click()
    page.wait_for_load_state()
    assert "reply saved" in page.inner_text(".flash-ok")
    row, events = _row(engine, seeded["domain"])
    assert row.status == "pending" and row.reply_text.startswith("Hi ana! Step by step")
    page.locator(f"#s-{seeded['domain']} button[data-action=approve]").click()
    page.wait_for_load_state()
    assert "approved" in page.inner_text(".flash-ok")
    assert page.locator(f"#s-{seeded['domain']}").count() == 0, "approved cards leave the pending queue"
    row, events = _row(engine, seeded["domain"])
    assert row.status == "approved" and row.decided_by == "admin"
    assert [(e.action, e.actor, e.to_status) for e in events] == [
        ("created", "pipeline", "pending"), ("edited", "admin", None), ("approved", "admin", "approved")]

    reject = page.locator(f"#s-{seeded['password']} form.reject")
    reject.locator("button").click()  # empty reason: the browser refuses to submit
    assert reject.locator("input[name=reason]").evaluate("el => el.validity.valueMissing")
    row, events = _row(engine, seeded["password"])
    assert row.status == "pending" and len(events) == 1
    reject.locator("input[name=reason]").fill("asks about login, not password reset")
    reject.locator("button").click()
    page.wait_for_load_state()
    assert "rejected" in page.inner_text(".flash-ok")
    row, events = _row(engine, seeded["password"])
    assert (row.status, row.reason) == ("rejected", "asks about login, not password reset")
    assert (events[-1].action, events[-1].from_status, events[-1].reason) == (
        "rejected", "pending", "asks about login, not password reset")

    page.goto(f"{live_server.url}/suggestions/{seeded['domain']}")
    history = page.inner_text("table.history")
    assert "edited" in history and "pending → approved" in history
    page.goto(f"{live_server.url}/?status=rejected")
    assert page.locator("[data-card]").count() == 1
    assert "asks about login" in page.inner_text("[data-card]")
    assert page.errors == []


def test_hostile_post_is_shown_as_text_and_never_runs(page: Any, live_server: BackgroundServer,
                                                      seeded: dict[str, int]) -> None:
    _log_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/")
    for path in ("/", f"/suggestions/{seeded['hostile']}", "/?status=all"):
        page.goto(f"{live_server.url}{path}")
        card = page.locator(f"#s-{seeded['hostile']}")
        text = card.inner_text()
        assert "<script>window.__pwned=1</script>" in text
        assert '<img src=x onerror="window.__pwned=1">' in text
        assert card.locator("script, img, b").count() == 0
        assert card.locator("a.orig").count() == 0, "javascript: links are not rendered"
        card.locator("textarea").hover()
        assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == []


def test_long_and_invisible_text_is_truncated_and_flagged(page: Any, live_server: BackgroundServer,
                                                          seeded: dict[str, int]) -> None:
    _log_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/")
    long_card = page.locator(f"#s-{seeded['long']}")
    details = long_card.locator("details.longtext")
    assert details.get_attribute("open") is None
    assert "Show all" in details.locator("summary").inner_text()
    assert len(page.content()) < 600_000, "the 1 MB post is not sent whole in the queue"
    details.locator("summary").click()
    assert details.get_attribute("open") is not None
    assert "Cut at 20,000 characters" in long_card.inner_text()
    page.goto(f"{live_server.url}/suggestions/{seeded['long']}")
    page.locator("details.longtext summary").click()
    assert "THE-VERY-END" in page.locator("details.longtext").inner_text()
    page.goto(f"{live_server.url}/")
    assert "hidden character" in page.locator(f"#s-{seeded['rtl']}").inner_text()


def test_keyboard_moves_and_approves(page: Any, live_server: BackgroundServer, seeded: dict[str, int],
                                     engine: Engine) -> None:
    _log_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/")
    cards = page.locator("[data-card]")
    assert "focused" in (cards.nth(0).get_attribute("class") or "")
    page.keyboard.press("j")
    assert "focused" in (cards.nth(1).get_attribute("class") or "")
    second = int((cards.nth(1).get_attribute("id") or "s-0").removeprefix("s-"))
    page.keyboard.press("a")
    page.wait_for_load_state()
    page.wait_for_selector(".flash-ok")
    assert _row(engine, second)[0].status == "approved"
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "reason"
    assert page.errors == []


def test_overview_and_knowledge_pages(page: Any, live_server: BackgroundServer, seeded: dict[str, int]) -> None:
    _log_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav >> text=Overview")
    tiles = page.inner_text(".tiles")
    assert "5\nposts" in tiles and "5\npending" in tiles
    assert "twitter" in page.inner_text("table.stats")
    page.click("nav >> text=Knowledge")
    assert "Connect your own domain" in page.inner_text("main")
    page.click(".tabs >> text=es")
    assert "Conectar tu propio dominio" in page.inner_text("main")
    assert "Reset your password" not in page.inner_text("main")
    assert page.errors == []

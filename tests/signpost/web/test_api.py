"""The JSON API and the auth around it, over real HTTP against uvicorn and the real database (both backends)."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import AuditEvent, Suggestion
from signpost.web.auth import Login
from signpost.web.server import BackgroundServer
from tests.signpost.web.seed import PASSWORD


def _client(server: BackgroundServer, **kw: object) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=10, **kw)  # type: ignore[arg-type]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _logged_in(server: BackgroundServer) -> tuple[httpx.Client, str]:
    client = _client(server)
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client, _csrf(client.get("/").text)


def _events(engine: Engine, sid: int) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.suggestion_id == sid)
                                 .order_by(AuditEvent.id)).all())  # type: ignore[arg-type]


def _status(engine: Engine, sid: int) -> str:
    with session_scope(engine) as session:
        row = session.get(Suggestion, sid)
        assert row is not None
        return row.status


def test_everything_needs_a_login(live_server: BackgroundServer) -> None:
    with _client(live_server) as client:
        r = client.get("/api/suggestions")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert client.post("/api/suggestions/1/approve").status_code == 401
        assert client.get("/api/stats").status_code == 401
        for path in ("/", "/overview", "/knowledge", "/suggestions/1"):
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert client.get("/api/suggestions", auth=("admin", "wrong")).status_code == 401
        assert client.get("/api/suggestions", auth=("root", PASSWORD)).status_code == 401
        assert client.get("/healthz").json() == {"status": "ok"}


def test_basic_auth_lists_newest_first_and_reads_one(live_server: BackgroundServer, seeded: dict[str, int]) -> None:
    with _client(live_server, auth=("admin", PASSWORD)) as client:
        body = client.get("/api/suggestions").json()
        assert body["total"] == 5
        assert [i["id"] for i in body["items"]] == sorted(seeded.values(), reverse=True)
        long_item = next(i for i in body["items"] if i["id"] == seeded["long"])
        assert long_item["post"]["text_truncated"] and len(long_item["post"]["text"]) == 2000
        assert client.get("/api/suggestions", params={"network": "reddit"}).json()["total"] == 1
        assert client.get("/api/suggestions", params={"status": "approved"}).json()["total"] == 0
        one = client.get(f"/api/suggestions/{seeded['domain']}").json()
        assert one["article"]["slug"] == "connect-domain" and one["article"]["title"] == "Connect your own domain"
        assert one["post"]["author"]["handle"] == "ana" and one["explanation"]["matched_terms"]
        assert [h["action"] for h in one["history"]] == ["created"]
        r = client.get("/api/suggestions/99999")
        assert r.status_code == 404 and "does not exist" in r.json()["detail"]


def test_api_decisions_reach_the_tables(live_server: BackgroundServer, seeded: dict[str, int],
                                        engine: Engine) -> None:
    sid, other = seeded["domain"], seeded["password"]
    with _client(live_server, auth=("admin", PASSWORD)) as client:
        r = client.post(f"/api/suggestions/{sid}/edit", json={"text": "Hi ana! Here you go: https://h.example/d"})
        assert r.status_code == 200 and r.json()["reply_text"] == "Hi ana! Here you go: https://h.example/d"
        r = client.post(f"/api/suggestions/{sid}/approve")
        assert r.status_code == 200 and r.json()["status"] == "approved"
        assert client.post(f"/api/suggestions/{other}/reject", json={"reason": "  "}).status_code == 422
        assert client.post(f"/api/suggestions/{other}/reject", json={}).status_code == 422
        assert _status(engine, other) == "pending"
        r = client.post(f"/api/suggestions/{other}/reject", json={"reason": "wrong article"})
        assert r.status_code == 200 and r.json()["reason"] == "wrong article"
    assert _status(engine, sid) == "approved" and _status(engine, other) == "rejected"
    assert [(e.action, e.actor) for e in _events(engine, sid)] == [
        ("created", "pipeline"), ("edited", "admin"), ("approved", "admin")]
    rejected = _events(engine, other)[-1]
    assert (rejected.action, rejected.from_status, rejected.to_status, rejected.reason) == (
        "rejected", "pending", "rejected", "wrong article")


def test_invalid_transition_is_409(live_server: BackgroundServer, seeded: dict[str, int]) -> None:
    sid = seeded["domain"]
    with _client(live_server, auth=("admin", PASSWORD)) as client:
        assert client.post(f"/api/suggestions/{sid}/reject", json={"reason": "off topic"}).status_code == 200
        r = client.post(f"/api/suggestions/{sid}/approve")
        assert r.status_code == 409 and r.json()["error"] == "invalid_transition"
        assert "rejected" in r.json()["detail"]
        assert client.post(f"/api/suggestions/{sid}/edit", json={"text": "x"}).status_code == 409
        assert client.post("/api/suggestions/99999/approve").status_code == 404


def test_csrf_is_enforced_on_every_session_write(live_server: BackgroundServer, seeded: dict[str, int],
                                                 engine: Engine) -> None:
    sid = seeded["domain"]
    anonymous = _client(live_server)
    token = _csrf(anonymous.get("/login").text)
    r = anonymous.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/"})
    assert r.status_code == 403, "login without CSRF token"
    r = anonymous.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token + "x"})
    assert r.status_code == 403
    client, token = _logged_in(live_server)
    assert client.post(f"/api/suggestions/{sid}/approve").status_code == 403
    assert client.post(f"/api/suggestions/{sid}/approve", headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post(f"/suggestions/{sid}/approve", data={"reply_text": "hi"}).status_code == 403
    assert client.post(f"/suggestions/{sid}/reject", data={"reason": "x", "csrf_token": "nope"}).status_code == 403
    assert client.post("/logout").status_code == 403
    assert _status(engine, sid) == "pending" and len(_events(engine, sid)) == 1
    r = client.post(f"/api/suggestions/{sid}/approve", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and _status(engine, sid) == "approved"
    # A cross-site write with cached Basic credentials is refused too.
    r = httpx.post(f"{live_server.url}/api/suggestions/{seeded['password']}/approve", auth=("admin", PASSWORD),
                   headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and _status(engine, seeded["password"]) == "pending"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_page_forms_decide_and_require_a_reason(live_server: BackgroundServer, seeded: dict[str, int],
                                                engine: Engine) -> None:
    client, token = _logged_in(live_server)
    sid = seeded["password"]
    r = client.post(f"/suggestions/{sid}/reject", data={"csrf_token": token, "reason": "   ", "back": "/"})
    assert r.status_code == 303 and r.headers["location"] == f"/#s-{sid}"
    assert "a rejection needs a reason" in client.get("/").text
    assert _status(engine, sid) == "pending"
    r = client.post(f"/suggestions/{sid}/approve", data={"csrf_token": token, "reply_text": "Hi bob! New text",
                                                         "back": "https://evil.example/", "next_id": "3"})
    assert r.status_code == 303 and r.headers["location"] == "/#s-3", "no open redirect"
    assert [e.action for e in _events(engine, sid)] == ["created", "edited", "approved"]
    r = client.post(f"/suggestions/{sid}/approve", data={"csrf_token": token, "back": "/"})
    assert "cannot go from approved to approved" in client.get("/").text
    assert client.get("/suggestions/99999").status_code == 404


def test_login_redirects_only_locally_and_sets_safe_cookie(live_server: BackgroundServer) -> None:
    client = _client(live_server)
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token,
                                    "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "signpost_session=" in cookie
    r = client.get("/overview")
    assert r.status_code == 200 and "Per network" in r.text
    assert "connect-domain" in client.get("/knowledge").text


def test_security_headers_on_pages_and_api(live_server: BackgroundServer) -> None:
    client, _ = _logged_in(live_server)
    for path in ("/", "/login", "/api/stats", "/static/style.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/").headers["cache-control"] == "no-store"


def test_stats_count_by_status_network_and_language(live_server: BackgroundServer, seeded: dict[str, int]) -> None:
    with _client(live_server, auth=("admin", PASSWORD)) as client:
        client.post(f"/api/suggestions/{seeded['domain']}/approve")
        stats = client.get("/api/stats").json()
    assert stats["posts"] == 5 and stats["questions"] == 5
    assert stats["suggestions_by_status"]["pending"] == 4 and stats["suggestions_by_status"]["approved"] == 1
    assert stats["by_network"]["twitter"]["posts"] == 3 and stats["by_network"]["twitter"]["approved"] == 1
    assert stats["by_language"]["en"]["suggestions"] == 5
    assert stats["channels"] == []


def test_failed_logins_are_throttled_and_never_log_secrets(live_server: BackgroundServer, login: Login,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client(live_server)
    token = _csrf(client.get("/login").text)
    codes = [client.post("/login", data={"username": "admin", "password": f"guess-{i}", "csrf_token": token}
                         ).status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert "Too many failed attempts" in client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}).text
    assert PASSWORD not in caplog.text and "guess-3" not in caplog.text
    assert "login refused" in caplog.text

"""Operator login: one account from settings, a signed session cookie, CSRF tokens and HTTP Basic for scripts."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from core.settings import Settings
from signpost.web.render import render
from signpost.web.security import SESSION_CSRF, SESSION_USER, check_csrf, safe_next, session_user

log = logging.getLogger(__name__)
router = APIRouter()

CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class Login:
    """The one operator account; `generated` tells the caller to print the password."""

    username: str
    password: str = field(repr=False)
    generated: bool = False


def resolve_login(settings: Settings) -> Login:
    """The account from `[web] username` and SIGNPOST_WEB__PASSWORD, or a random password when none is set."""
    configured = settings.web.password.get_secret_value() if settings.web.password else ""
    if configured:
        return Login(settings.web.username, configured)
    return Login(settings.web.username, secrets.token_urlsafe(12), generated=True)


def session_secret(settings: Settings) -> str:
    """The cookie signing key: SIGNPOST_WEB__SECRET_KEY, else random for this process."""
    configured = settings.web.secret_key.get_secret_value() if settings.web.secret_key else ""
    return configured or secrets.token_urlsafe(32)


def credentials_match(login: Login, username: str, password: str) -> bool:
    """Constant-time comparison of both username and password."""
    user_ok = hmac.compare_digest(username.encode("utf-8"), login.username.encode("utf-8"))
    password_ok = hmac.compare_digest(password.encode("utf-8"), login.password.encode("utf-8"))
    return user_ok and password_ok


class LoginThrottle:
    """Refuses further attempts from a client after too many recent failures."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, client: str) -> bool:
        """Whether `client` has used up its failures in the current window."""
        recent = self._failures[client]
        while recent and recent[0] < time.monotonic() - self.window:
            recent.popleft()
        return len(recent) >= self.limit

    def failed(self, client: str) -> None:
        """Record one failed attempt."""
        self._failures[client].append(time.monotonic())


class LoginRequired(Exception):
    """A page needs a logged-in operator; the handler redirects to the login form."""


def page_user(request: Request) -> str:
    """Dependency for pages: the operator, or a redirect to the login form."""
    user = session_user(request)
    if user is None:
        raise LoginRequired()
    return user


def form_user(request: Request, csrf_token: Annotated[str, Form()] = "") -> str:
    """Dependency for page forms: a logged-in operator who sent the right CSRF token."""
    user = page_user(request)
    check_csrf(request, csrf_token)
    return user


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Basic realm="signpost", charset="UTF-8"'})


def api_user(request: Request) -> str:
    """Dependency for the API: session cookie (with CSRF header on writes) or HTTP Basic."""
    writes = request.method not in {"GET", "HEAD", "OPTIONS"}
    user = session_user(request)
    if user is not None:
        if writes:
            check_csrf(request, request.headers.get(CSRF_HEADER))
        return user
    creds = _basic_credentials(request)
    if creds is None:
        raise _unauthorized("log in or send HTTP Basic credentials")
    throttle: LoginThrottle = request.app.state.throttle
    client = request.client.host if request.client else "?"
    if throttle.blocked(client):
        raise HTTPException(429, "too many failed logins; wait a few minutes")
    if not credentials_match(request.app.state.login, *creds):
        throttle.failed(client)
        log.warning("API login refused for a client at %s", client)
        raise _unauthorized("wrong username or password")
    # Browsers may replay cached Basic credentials on cross-site requests: refuse those writes.
    if writes and request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise HTTPException(403, "cross-site request refused")
    return creds[0]


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The login form."""
    if session_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials in constant time; start a fresh session on success."""
    check_csrf(request, csrf_token)
    throttle: LoginThrottle = request.app.state.throttle
    client = request.client.host if request.client else "?"
    target = safe_next(next)
    if throttle.blocked(client):
        return render(request, "login.html", status_code=429, next=target,
                      error="Too many failed attempts. Wait a few minutes and try again.")
    if not credentials_match(request.app.state.login, username, password):
        throttle.failed(client)
        log.warning("login refused for a client at %s", client)
        return render(request, "login.html", status_code=401, next=target, error="Wrong username or password.")
    request.session.clear()
    request.session[SESSION_USER] = request.app.state.login.username
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    log.info("operator %s logged in", request.app.state.login.username)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, user: Annotated[str, Depends(form_user)]) -> Response:
    """End the session."""
    request.session.clear()
    log.info("operator %s logged out", user)
    return RedirectResponse("/login", status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Where LoginRequired leads: the login form, then back to the page asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

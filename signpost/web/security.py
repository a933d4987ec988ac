"""Session helpers (CSRF, who is logged in, safe redirects) and the security headers on every response."""

from __future__ import annotations

import hmac
import logging
import secrets

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SESSION_USER = "user"
SESSION_CSRF = "csrf"
CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_csrf(request: Request, supplied: str | None) -> None:
    """403 unless `supplied` equals the session's CSRF token."""
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not supplied or not hmac.compare_digest(supplied, expected):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")


def session_user(request: Request) -> str | None:
    """The operator logged in through the session cookie, if any."""
    user = request.session.get(SESSION_USER)
    return user if isinstance(user, str) and user else None


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (other hosts, schemes) becomes `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target



class SecurityHeaders:
    """ASGI middleware: strict CSP, nosniff, no framing; pages and API answers are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to every HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = dict(SECURITY_HEADERS)
                if not static:
                    extra["cache-control"] = "no-store"
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""praw clients for the Reddit channel: capped timeouts, no blind re-sending of replies, our own request cap."""

from __future__ import annotations

import logging
from typing import Any

import praw
import requests
from requests.adapters import HTTPAdapter

from core.settings import RedditSettings
from listener.ratelimit import RequestLimiter

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://oauth.reddit.com"
TIMEOUT_SECONDS = 20.0


class PostNotConfirmed(requests.exceptions.RequestException):
    """A POST whose outcome is unknown (5xx, timeout, broken body): prawcore must not retry it."""


class TimeoutAdapter(HTTPAdapter):
    """Caps every request's timeout (praw only knows whole seconds) and stops prawcore re-sending replies.

    prawcore retries 5xx answers, timeouts and broken connections for every method; for a POST that created a
    comment before failing that means a second comment. Such failures become PostNotConfirmed, which prawcore
    passes on without retrying; the publisher then looks for the reply before trying again. With a `limiter`,
    every request (retries and token requests included) first takes a slot from it.
    """

    def __init__(self, timeout: float, limiter: RequestLimiter | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.limiter = limiter

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the capped timeout; a non-token POST is never left for prawcore to retry."""
        if self.limiter is not None:
            self.limiter.acquire()
        given = kwargs.get("timeout")
        kwargs["timeout"] = self.timeout if not isinstance(given, int | float) else min(given, self.timeout)
        if request.method != "POST" or "/api/v1/access_token" in (request.url or ""):
            return super().send(request, **kwargs)
        try:
            response = super().send(request, **kwargs)
            _ = response.content  # a truncated body fails here, not later inside prawcore's retry loop
        except requests.RequestException as exc:
            raise PostNotConfirmed(f"POST outcome unknown: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise PostNotConfirmed(f"POST outcome unknown: HTTP {response.status_code}")
        return response


def secret(value: Any) -> str | None:
    """The plain value of a SecretStr (None stays None)."""
    return value.get_secret_value() if value is not None else None


def request_limiter(settings: RedditSettings) -> RequestLimiter:
    """The per-client cap of `[reddit] max_requests_per_minute` (default 90)."""
    limit = settings.max_requests_per_minute
    return RequestLimiter(limit, 60.0, name="reddit")


def make_reddit(settings: RedditSettings, *, user: bool = False, timeout: float = TIMEOUT_SECONDS,
                limiter: RequestLimiter | None = None) -> praw.Reddit:
    """A praw.Reddit for `api_url`: app-only (read-only) auth, or script/refresh-token auth with `user`."""
    session = requests.Session()
    adapter = TimeoutAdapter(timeout, limiter)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    options: dict[str, Any] = {
        "client_id": secret(settings.client_id), "client_secret": secret(settings.client_secret),
        "user_agent": settings.user_agent, "check_for_updates": False, "timeout": max(1, int(timeout)),
    }
    if settings.api_url.rstrip("/") != DEFAULT_API_URL:
        url = settings.api_url.rstrip("/")
        options.update(oauth_url=url, reddit_url=url, short_url=url)
    if user and settings.refresh_token is not None:
        options["refresh_token"] = secret(settings.refresh_token)
    elif user:
        options.update(username=secret(settings.username), password=secret(settings.password))
    reddit = praw.Reddit(requestor_kwargs={"session": session}, **options)
    if not user:
        reddit.read_only = True
    return reddit

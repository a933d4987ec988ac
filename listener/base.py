"""The Channel protocol every adapter satisfies, and the post shape adapters hand to polling."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.errors import RateLimited
from core.settings import Settings

Cursor = dict[str, Any]


@dataclass(frozen=True)
class Author:
    """Who wrote a post, as the network identifies them."""

    external_id: str
    handle: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class FetchedPost:
    """A post as a channel fetched it: plain, sanitized text plus identifiers."""

    network: str
    external_id: str
    text: str
    author: Author | None = None
    title: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    thread_id: str | None = None
    in_reply_to: str | None = None
    lang: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """An approved reply to publish under a post."""

    post_external_id: str
    thread_id: str | None
    text: str
    idempotency_key: str


@runtime_checkable
class Channel(Protocol):
    """One source of posts. Built-in and third-party channels register under `signpost.channels`."""

    name: str
    network: str
    interval_seconds: int
    max_reply_chars: int
    can_publish: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> list[Channel]:
        """The configured instances; raise NotConfigured when disabled or missing secrets."""
        ...

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """Posts newer than `cursor` and the cursor to store with them (in one transaction)."""
        ...

    def publish(self, reply: Reply) -> str:
        """Post `reply`; return the external reference of the published reply."""
        ...

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Current engagement counts for published replies, keyed by external ref."""
        ...


def open_cursor(name: str, cursor: Cursor, blocked_until: float = 0.0) -> Cursor:
    """A working copy of `cursor`; RateLimited while a stored or in-memory rate-limit reset is still ahead."""
    blocked = max(blocked_until, float(cursor.get("rate_limited_until") or 0))
    if blocked > time.time():
        raise RateLimited(f"{name}: waiting for the rate limit to reset at {blocked:.0f}", reset_at=blocked)
    working = copy.deepcopy(cursor)
    working.pop("rate_limited_until", None)
    return working

"""Publishing guardrails and the publishing lease: checks that run before a reply leaves the building."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.models import AuditEvent, Person, Post, Suggestion, SuggestionStatus
from core.settings import Settings
from listener.base import Channel
from listener.reddit_parse import strip_links

log = logging.getLogger(__name__)

DEFAULT_COOLDOWN_HOURS = 24.0
DEFAULT_LEASE_MINUTES = 10.0


@dataclass(frozen=True)
class Verdict:
    """What the guardrails decided: go ahead (with possibly changed text), defer, or refuse with a reason."""

    action: str  # "go", "defer" or "refuse"
    reason: str | None = None
    text: str | None = None


def section(settings: Settings, network: str) -> Any:
    """The settings section of a network ([twitter], [reddit]); None for channels without one."""
    return getattr(settings, network, None)


def publish_enabled(settings: Settings, network: str) -> bool:
    """`[<network>] publish` (false by default, and for channels without the key)."""
    return bool(getattr(section(settings, network), "publish", False))


def cooldown(settings: Settings, network: str) -> timedelta:
    """The per-person cooldown of a network (`person_cooldown_hours`, default 24)."""
    hours = getattr(section(settings, network), "person_cooldown_hours", DEFAULT_COOLDOWN_HOURS)
    return timedelta(hours=float(hours))


def lease(settings: Settings, network: str) -> timedelta:
    """How long a publishing claim is honoured before another run may re-claim it (`publish_lease_minutes`)."""
    minutes = getattr(section(settings, network), "publish_lease_minutes", DEFAULT_LEASE_MINUTES)
    return timedelta(minutes=float(minutes))


def in_cooldown(s: Suggestion, post: Post, *, settings: Settings, now: datetime, session: Session) -> bool:
    """True when we published to the same person on the same channel within the cooldown."""
    if post.person_id is None:
        return False
    since = now - cooldown(settings, post.network)
    recent = session.exec(
        select(Suggestion.id).join(Post, col(Post.id) == col(Suggestion.post_id))
        .where(Post.person_id == post.person_id, Post.channel == post.channel, col(Suggestion.id) != s.id,
               Suggestion.status == SuggestionStatus.PUBLISHED, col(Suggestion.published_at) >= since)
    ).first()
    return recent is not None


def check(s: Suggestion, post: Post, channel: Channel | None, *, settings: Settings, session: Session) -> Verdict:
    """Hard guardrails: opted-out person, our own account, a thread we already answer, no-link subreddits."""
    person = session.get(Person, post.person_id) if post.person_id is not None else None
    if person is not None and person.opted_out:
        return Verdict("refuse", "guardrail: the person opted out")
    own = {str(v).casefold() for v in (getattr(channel, "own_user_id", None), getattr(channel, "own_username", None))
           if v} | {a.lstrip("@").casefold() for a in settings.app.own_accounts}
    if person is not None and own & {person.external_id.casefold(), (person.handle or "").lstrip("@").casefold()}:
        return Verdict("refuse", "guardrail: the post is from our own account")
    if post.thread_id:
        other = session.exec(
            select(Suggestion.id).join(Post, col(Post.id) == col(Suggestion.post_id))
            .where(Post.channel == post.channel, Post.thread_id == post.thread_id, col(Suggestion.id) != s.id,
                   col(Suggestion.status).in_([SuggestionStatus.PUBLISHED, SuggestionStatus.PUBLISHING]))
        ).first()
        if other is not None:
            return Verdict("refuse", f"guardrail: suggestion {other} already answers this thread")
    text = s.reply_text
    subreddit = str(post.extra.get("subreddit") or "").lower()
    no_links = {x.lower().removeprefix("r/") for x in settings.reddit.no_link_subreddits}
    if post.network == "reddit" and subreddit and subreddit in no_links:
        if settings.reddit.no_link_action == "skip":
            return Verdict("refuse", f"guardrail: r/{subreddit} allows no links")
        text = strip_links(text)
        if not text:
            return Verdict("refuse", f"guardrail: r/{subreddit} allows no links and nothing is left")
    return Verdict("go", text=text)


def has_event(suggestion_id: int, action: str, *, session: Session) -> bool:
    """True when the suggestion already has an audit event of this kind."""
    return session.exec(select(AuditEvent.id).where(AuditEvent.suggestion_id == suggestion_id,
                                                    AuditEvent.action == action)).first() is not None

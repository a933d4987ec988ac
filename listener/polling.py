"""One poll of a channel: fetch outside any transaction, then store posts, people and cursor in one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import session_scope
from core.errors import ChannelAuthError, ChannelError, RateLimited, TransientChannelError
from core.models import ChannelState, Person, Post, utcnow
from core.settings import Settings
from listener.base import Channel, Cursor, FetchedPost
from listener.text import content_hash

log = logging.getLogger(__name__)
DEFAULT_MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True)
class PollReport:
    """What one poll did: posts fetched and newly stored, or the error that stopped it (or why it was skipped)."""

    channel: str
    fetched: int = 0
    stored: int = 0
    error: str | None = None
    skipped: bool = False


def max_backoff_seconds(settings: Settings) -> float:
    """`[worker] max_backoff_seconds` (default 3600): the longest wait after consecutive transient failures."""
    return float(settings.worker.max_backoff_seconds)


def backoff_delay(interval_seconds: float, failures: int, max_backoff: float) -> timedelta:
    """min(interval * 2**failures, max_backoff): how long to skip polls after `failures` transient failures."""
    return timedelta(seconds=min(interval_seconds * 2 ** min(failures, 30), max_backoff))


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite hands them back naive)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backing_off(state: ChannelState, now: datetime) -> bool:
    """True while the channel waits out its backoff after transient failures."""
    return state.backoff_until is not None and as_utc(state.backoff_until) > now


def load_state(channel: Channel, *, session: Session) -> ChannelState:
    """The channel's stored state, created on first use."""
    state = session.get(ChannelState, channel.name)
    if state is None:
        state = ChannelState(name=channel.name, kind=channel.network, cursor={})
        session.add(state)
        session.flush()
    return state


def _upsert_person(post: FetchedPost, cache: dict[str, Person], *, session: Session) -> Person | None:
    if post.author is None:
        return None
    key = post.author.external_id
    person = cache.get(key)
    if person is None:
        person = session.exec(
            select(Person).where(Person.network == post.network, Person.external_id == key)
        ).first()
    if person is None:
        person = Person(network=post.network, external_id=key)
    person.handle = post.author.handle or person.handle
    person.display_name = post.author.display_name or person.display_name
    person.last_seen_at = utcnow()
    session.add(person)
    cache[key] = person
    return person


def store_batch(channel: Channel, posts: list[FetchedPost], cursor: Cursor, *, session: Session) -> int:
    """Store new posts with their authors and the new cursor; returns how many posts were new."""
    state = load_state(channel, session=session)
    ids = {p.external_id for p in posts}
    known: set[str] = set()
    for chunk in _chunks(sorted(ids), 500):
        known.update(
            session.exec(
                select(Post.external_id).where(Post.channel == channel.name, col(Post.external_id).in_(chunk))
            ).all()
        )
    people: dict[str, Person] = {}
    stored = 0
    for post in posts:
        if post.external_id in known:
            continue
        known.add(post.external_id)
        person = _upsert_person(post, people, session=session)
        session.flush()
        session.add(
            Post(
                channel=channel.name,
                network=post.network,
                external_id=post.external_id,
                content_hash=content_hash(post.title, post.text),
                person_id=person.id if person else None,
                url=post.url,
                title=post.title,
                text=post.text,
                thread_id=post.thread_id,
                in_reply_to=post.in_reply_to,
                posted_at=post.posted_at,
                lang=post.lang,
                extra=post.extra,
            )
        )
        stored += 1
    state.cursor = cursor
    state.healthy = True
    state.last_error = None
    state.failures = 0
    state.backoff_until = None
    state.last_poll_at = utcnow()
    state.posts_seen += stored
    session.add(state)
    return stored


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def record_failure(channel: Channel, exc: ChannelError, *, session: Session, now: datetime | None = None,
                   max_backoff: float = DEFAULT_MAX_BACKOFF_SECONDS) -> None:
    """Keep the cursor, note the error; auth failures mark the channel unhealthy, transient ones back off.

    A transient failure (5xx, timeout, malformed body) counts towards the backoff: the channel skips its polls
    until now + min(interval * 2**failures, max_backoff). A rate limit waits for its own reset time instead
    (without counting as a failure).
    """
    now = now or utcnow()
    state = load_state(channel, session=session)
    state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    state.last_poll_at = now
    state.healthy = not isinstance(exc, ChannelAuthError)
    if isinstance(exc, TransientChannelError):
        state.failures += 1
        state.backoff_until = now + backoff_delay(channel.interval_seconds, state.failures, max_backoff)
        log.warning("%s: %d transient failure(s) in a row; next poll after %s", channel.name, state.failures,
                    state.backoff_until.isoformat(timespec="seconds"))
    elif isinstance(exc, RateLimited) and exc.reset_at:  # kept across restarts: `poll --once` waits as well
        reset = datetime.fromtimestamp(exc.reset_at, UTC)
        if state.backoff_until is None or as_utc(state.backoff_until) < reset:
            state.backoff_until = reset
    session.add(state)


def poll_channel(channel: Channel, *, engine: Engine, max_batches: int = 1, now: datetime | None = None,
                 max_backoff: float = DEFAULT_MAX_BACKOFF_SECONDS, ignore_backoff: bool = False) -> PollReport:
    """Fetch what is new since the stored cursor and store it; a channel error is recorded, not raised.

    While the channel backs off after transient failures the poll returns at once without calling the channel.
    """
    now = now or utcnow()
    fetched = stored = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            state = load_state(channel, session=session)
            cursor = dict(state.cursor)
            if not ignore_backoff and backing_off(state, now) and state.backoff_until is not None:
                until = as_utc(state.backoff_until).isoformat(timespec="seconds")
                log.info("%s: backing off until %s; poll skipped", channel.name, until)
                why = f"after {state.failures} transient failure(s)" if state.failures else "(rate limited)"
                return PollReport(channel.name, fetched, stored, skipped=True, error=f"backing off {why} until {until}")
        try:
            posts, next_cursor = channel.fetch_since(cursor)
        except ChannelError as exc:
            level = logging.INFO if isinstance(exc, RateLimited) else logging.WARNING
            log.log(level, "poll of %s failed: %s", channel.name, exc)
            with session_scope(engine) as session:
                record_failure(channel, exc, session=session, now=now, max_backoff=max_backoff)
            return PollReport(channel.name, fetched, stored, error=str(exc))
        with session_scope(engine) as session:
            stored += store_batch(channel, posts, next_cursor, session=session)
        fetched += len(posts)
        if not posts or next_cursor == cursor:
            break
    log.info("polled %s: %d fetched, %d new", channel.name, fetched, stored)
    return PollReport(channel.name, fetched, stored)

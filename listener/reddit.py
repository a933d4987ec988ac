"""The Reddit channel on praw: new submissions, comments and searches in subreddits; replies; scores."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import praw
import praw.exceptions
import prawcore
import requests

from core.errors import (
    ChannelAuthError,
    ChannelError,
    ConfigError,
    NotConfigured,
    PublishError,
    RateLimited,
    TransientChannelError,
)
from core.settings import RedditSettings, Settings
from listener.base import Channel, Cursor, FetchedPost, Reply, open_cursor
from listener.ratelimit import RequestLimiter
from listener.reddit_client import TIMEOUT_SECONDS, make_reddit, request_limiter
from listener.reddit_client import secret as _secret
from listener.reddit_parse import NETWORK, author_name, created_utc, to_post, valid_user_agent

log = logging.getLogger(__name__)

FIRST_RUN_ITEMS = 100
MAX_ITEMS = 1000
OVERLAP_SECONDS = 300.0
Stream = Callable[[int], Iterable[Any]]


def _reset_at(response: requests.Response | None) -> float:
    headers = response.headers if response is not None else {}
    for name in ("retry-after", "x-ratelimit-reset"):
        try:
            return time.time() + max(0.0, float(headers.get(name) or ""))
        except ValueError:
            continue
    return time.time() + 60


@contextmanager
def mapped_errors(action: str, publishing: bool = False) -> Iterator[None]:
    """Translate praw and prawcore failures into Signpost's channel errors."""
    failed = PublishError if publishing else ChannelError
    try:
        yield
    except prawcore.OAuthException as exc:
        raise ChannelAuthError(f"reddit: {action}: credentials refused ({exc.error})") from exc
    except prawcore.BadJSON as exc:
        raise TransientChannelError(f"reddit: {action}: malformed JSON body") from exc
    except prawcore.ResponseException as exc:
        status = exc.response.status_code
        if status == 429:
            reset = _reset_at(exc.response)
            raise RateLimited(f"reddit: {action}: rate limited until {reset:.0f}", reset_at=reset) from exc
        if status == 401 or (status == 403 and not publishing):
            raise ChannelAuthError(f"reddit: {action}: {status} (check the credentials and scopes)") from exc
        if status >= 500:
            raise TransientChannelError(f"reddit: {action}: server error {status}") from exc
        raise failed(f"reddit: {action}: HTTP {status}") from exc
    except prawcore.RequestException as exc:
        raise TransientChannelError(f"reddit: {action}: {type(exc.original_exception).__name__}") from exc
    except praw.exceptions.RedditAPIException as exc:
        kinds = {item.error_type for item in exc.items}
        if "RATELIMIT" in kinds:
            raise RateLimited(f"reddit: {action}: {exc}", reset_at=time.time() + 600) from exc
        raise failed(f"reddit: {action}: {', '.join(sorted(kinds))}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TransientChannelError(f"reddit: {action}: malformed response ({type(exc).__name__})") from exc


class RedditChannel:
    """Listens with app-only auth to new posts, comments and searches; replies with the script account."""

    network = NETWORK
    max_reply_chars = 10_000

    def __init__(self, settings: RedditSettings, name: str = "reddit", timeout: float = TIMEOUT_SECONDS,
                 limiter: RequestLimiter | None = None) -> None:
        self.settings = settings
        self.name = name
        self.interval_seconds = settings.interval_seconds
        self.timeout = timeout
        self.limiter = limiter or request_limiter(settings)  # one cap for reader and writer: one OAuth client
        self.reader = make_reddit(settings, timeout=timeout, limiter=self.limiter)
        self._writer: praw.Reddit | None = None
        self.own_username = (_secret(settings.username) or "").lower() or None
        self.can_publish = settings.refresh_token is not None or (
            settings.username is not None and settings.password is not None)
        self.blocked_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> list[Channel]:
        """The Reddit channel when `[reddit] enabled` and the app's client id and secret are set."""
        rd = settings.reddit
        if not rd.enabled:
            raise NotConfigured("reddit: disabled (set [reddit] enabled = true)")
        missing = [k for k in ("client_id", "client_secret") if getattr(rd, k) is None]
        if missing:
            names = ", ".join(f"SIGNPOST_REDDIT__{k.upper()}" for k in missing)
            raise NotConfigured(f"reddit: enabled but {names} is not set")
        if not rd.subreddits and not rd.queries:
            raise NotConfigured("reddit: enabled but neither [reddit] subreddits nor queries is set")
        if not valid_user_agent(rd.user_agent):
            raise ConfigError(f"[reddit] user_agent: expected '<platform>:<app id>:<version> (by /u/<name>)', "
                              f"got {rd.user_agent!r}")
        return [cls(rd)]

    @property
    def writer(self) -> praw.Reddit:
        """The praw client with user auth, made on first use."""
        if not self.can_publish:
            raise PublishError("reddit: publishing needs SIGNPOST_REDDIT__USERNAME and SIGNPOST_REDDIT__PASSWORD "
                               "(or SIGNPOST_REDDIT__REFRESH_TOKEN)")
        if self._writer is None:
            self._writer = make_reddit(self.settings, user=True, timeout=self.timeout, limiter=self.limiter)
        return self._writer

    # -- listening ---------------------------------------------------------------------------------------------

    def _streams(self) -> list[tuple[str, Stream]]:
        subs = "+".join(s.removeprefix("r/") for s in self.settings.subreddits)
        streams: list[tuple[str, Stream]] = []
        if subs:
            streams.append((f"new:{subs}", lambda n: self.reader.subreddit(subs).new(limit=n)))
            streams.append((f"comments:{subs}", lambda n: self.reader.subreddit(subs).comments(limit=n)))
        for query in self.settings.queries:
            def search(n: int, query: str = query) -> Iterable[Any]:
                return self.reader.subreddit(subs or "all").search(query, sort="new", time_filter="week", limit=n)

            streams.append((f"search:{query}", search))
        return streams

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """Items newer than each stream's watermark; a stream's watermark moves only after a complete read."""
        cur = open_cursor("reddit", cursor, self.blocked_until)
        streams: dict[str, Any] = cur.setdefault("streams", {})
        posts: list[FetchedPost] = []
        errors: dict[str, str] = {}
        for key, stream in self._streams():
            try:
                with mapped_errors(f"reading {key}"):
                    self._read(key, stream, streams, posts)
            except (RateLimited, TransientChannelError) as exc:
                errors[key] = str(exc)
                if isinstance(exc, RateLimited) and exc.reset_at:
                    self.blocked_until = cur["rate_limited_until"] = exc.reset_at
                    if not posts:
                        raise
                    break
        if errors and not posts and len(errors) == len(self._streams()):
            raise TransientChannelError("; ".join(errors.values()))
        if errors:
            log.warning("%s: %d stream(s) failed, the others were read: %s", self.name, len(errors), errors)
        cur["stream_errors"] = errors
        return posts, cur

    def _read(self, key: str, stream: Stream, streams: dict[str, Any], out: list[FetchedPost]) -> None:
        """One listing, newest first, down to the stored watermark (minus an overlap; the DB dedupes)."""
        state = streams.get(key) or {}
        mark = state.get("created_utc")
        newest, newest_name = mark, state.get("fullname")
        crossed = mark is None
        for thing in stream(FIRST_RUN_ITEMS if mark is None else MAX_ITEMS):
            created = created_utc(thing)
            if mark is not None and created < float(mark) - OVERLAP_SECONDS:
                crossed = True
                break
            if newest is None or created > float(newest):
                newest, newest_name = created, getattr(thing, "fullname", None)
            if self.own_username and author_name(thing) == self.own_username:
                continue
            post = to_post(thing)
            if post is not None:
                out.append(post)
        # Move the watermark only when the listing reached it: a listing that ends early (an empty or short page)
        # may have hidden older items, which the next poll reads again (the database drops what it has).
        if newest is not None and crossed:
            streams[key] = {"created_utc": newest, "fullname": newest_name}

    # -- publishing --------------------------------------------------------------------------------------------

    def _target(self, reddit: praw.Reddit, fullname: str) -> Any:
        kind, _, thing_id = fullname.partition("_")
        if kind == "t1":
            return reddit.comment(id=thing_id)
        if kind == "t3":
            return reddit.submission(id=thing_id)
        raise PublishError(f"reddit: cannot reply to {fullname!r} (expected a t1_ or t3_ fullname)")

    def publish(self, reply: Reply) -> str:
        """Reply to the submission or comment; returns the new comment's fullname."""
        writer = self.writer
        with mapped_errors("publishing", publishing=True):
            comment = self._target(writer, reply.post_external_id).reply(reply.text)
            if comment is None:
                raise TransientChannelError("reddit: the reply was accepted but not returned")
            return str(comment.fullname)

    def find_reply(self, reply: Reply) -> str | None:
        """Our existing reply to the post among our newest comments, or None."""
        writer = self.writer
        if not self.own_username:
            raise PublishError("reddit: cannot look for an earlier reply without SIGNPOST_REDDIT__USERNAME")
        with mapped_errors("looking for an earlier reply"):
            target = next(iter(writer.info(fullnames=[reply.post_external_id])), None)
            since = created_utc(target) if target is not None else None
            for comment in writer.redditor(self.own_username).comments.new(limit=MAX_ITEMS if since else 100):
                if vars(comment).get("parent_id") == reply.post_external_id:
                    return str(comment.fullname)
                if since is not None and created_utc(comment) < since:
                    break  # older than the post: no reply to it can follow
        return None

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Score (and comment count for submissions) of our published replies."""
        counts: dict[str, dict[str, int]] = {}
        with mapped_errors("reading engagement"):
            for thing in self.reader.info(fullnames=list(refs)):
                data = vars(thing)
                counts[str(thing.fullname)] = {"score": int(data.get("score") or 0),
                                               "replies": int(data.get("num_comments") or 0)}
        return counts

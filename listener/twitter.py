"""The X (Twitter) channel on tweepy.Client (API v2): recent search and mentions, replies, engagement."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from core.errors import ChannelAuthError, ChannelError, NotConfigured, PublishError, RateLimited, TransientChannelError
from core.settings import Settings, TwitterSettings
from listener.base import Channel, Cursor, FetchedPost, Reply, open_cursor
from listener.twitter_parse import (
    EXPANSIONS,
    NETWORK,
    TWEET_FIELDS,
    USER_FIELDS,
    add_reads,
    budget_used,
    check_page,
    engagement_counts,
    keep,
    referenced,
    to_post,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "https://api.twitter.com"
TIMEOUT_SECONDS = 20.0
MAX_PAGES_PER_STREAM = 10
MAX_LOOKUP_PAGES = 32
BACKFILL = timedelta(hours=1)
PageCall = Callable[[str | None, str | None, str | None, int], Any]


class RewriteAdapter(HTTPAdapter):
    """Sends tweepy's requests (hard-coded to api.twitter.com) to `api_url`, always with a timeout."""

    def __init__(self, api_url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the host and fill in the timeout, then send as usual."""
        if request.url and request.url.startswith(DEFAULT_HOST) and self.api_url != DEFAULT_HOST:
            request.url = self.api_url + request.url[len(DEFAULT_HOST):]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_client(settings: TwitterSettings, timeout: float = TIMEOUT_SECONDS) -> tweepy.Client:
    """A tweepy Client (dict responses, never sleeping on 429) whose requests go to `api_url`."""

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    client = tweepy.Client(
        bearer_token=secret(settings.bearer_token),
        consumer_key=secret(settings.consumer_key),
        consumer_secret=secret(settings.consumer_secret),
        access_token=secret(settings.access_token),
        access_token_secret=secret(settings.access_token_secret),
        return_type=dict,
        wait_on_rate_limit=False,
    )
    client.session.mount(DEFAULT_HOST, RewriteAdapter(settings.api_url, timeout))
    return client


@contextmanager
def mapped_errors(action: str, publishing: bool = False) -> Iterator[None]:
    """Translate tweepy and requests failures into Signpost's channel errors."""
    try:
        yield
    except tweepy.TooManyRequests as exc:
        reset = exc.response.headers.get("x-rate-limit-reset")
        reset_at = float(reset) if reset and reset.strip().isdigit() else time.time() + 60
        raise RateLimited(f"twitter: {action}: rate limited until {reset_at:.0f}", reset_at=reset_at) from exc
    except tweepy.Unauthorized as exc:
        raise ChannelAuthError(f"twitter: {action}: 401 unauthorized (check the credentials)") from exc
    except tweepy.Forbidden as exc:
        detail = "; ".join(exc.api_messages)[:300] or "forbidden"
        if publishing:
            raise PublishError(f"twitter: {action}: 403 {detail}") from exc
        raise ChannelAuthError(f"twitter: {action}: 403 {detail}") from exc
    except tweepy.TwitterServerError as exc:
        raise TransientChannelError(f"twitter: {action}: server error {exc.response.status_code}") from exc
    except tweepy.HTTPException as exc:
        status = exc.response.status_code
        raise (PublishError if publishing else ChannelError)(f"twitter: {action}: HTTP {status}") from exc
    except requests.exceptions.JSONDecodeError as exc:
        raise TransientChannelError(f"twitter: {action}: malformed JSON body") from exc
    except requests.RequestException as exc:
        raise TransientChannelError(f"twitter: {action}: {type(exc).__name__}") from exc


class TwitterChannel:
    """Recent search per configured query plus mentions of `user_id`; replies with user-context auth."""

    network = NETWORK
    max_reply_chars = 280

    def __init__(self, settings: TwitterSettings, name: str = "twitter", client: tweepy.Client | None = None):
        self.settings = settings
        self.name = name
        self.interval_seconds = settings.interval_seconds
        self.own_user_id = settings.user_id
        self.client = client or make_client(settings)
        self.can_publish = all(
            (settings.consumer_key, settings.consumer_secret, settings.access_token, settings.access_token_secret)
        )
        self.max_pages = MAX_PAGES_PER_STREAM
        self.blocked_until = 0.0
        self._pages_read = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> list[Channel]:
        """The X channel when `[twitter] enabled` and a bearer token is set."""
        tw = settings.twitter
        if not tw.enabled:
            raise NotConfigured("twitter: disabled (set [twitter] enabled = true)")
        if tw.bearer_token is None or not tw.bearer_token.get_secret_value():
            raise NotConfigured("twitter: enabled but SIGNPOST_TWITTER__BEARER_TOKEN is not set")
        if not tw.queries and not tw.user_id:
            raise NotConfigured("twitter: enabled but neither [twitter] queries nor user_id is set")
        return [cls(tw)]

    # -- listening ---------------------------------------------------------------------------------------------

    def _streams(self) -> list[tuple[str, PageCall, int]]:
        common = {"tweet_fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user_fields": USER_FIELDS}
        streams: list[tuple[str, PageCall, int]] = []
        for query in self.settings.queries:
            q = query if "is:retweet" in query else f"({query}) -is:retweet"

            def search(since: str | None, start: str | None, token: str | None, size: int, q: str = q) -> Any:
                return self.client.search_recent_tweets(q, since_id=since, start_time=start, next_token=token,
                                                        max_results=size, **common)

            streams.append((f"search:{query}", search, 10))
        if self.own_user_id:
            user_id = self.own_user_id

            def mentions(since: str | None, start: str | None, token: str | None, size: int) -> Any:
                return self.client.get_users_mentions(user_id, since_id=since, start_time=start,
                                                      pagination_token=token, max_results=size, **common)

            streams.append(("mentions", mentions, 5))
        return streams

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """New tweets of every stream; pages read before a 429/5xx are kept with a resumable cursor."""
        cur = open_cursor("twitter", cursor, self.blocked_until)
        cur.setdefault("streams", {})
        posts: list[FetchedPost] = []
        self._pages_read = 0
        try:
            for key, call, min_size in self._streams():
                self._drain(key, call, min_size, cur, posts)
        except (RateLimited, TransientChannelError) as exc:
            if isinstance(exc, RateLimited) and exc.reset_at:
                self.blocked_until = exc.reset_at
                cur["rate_limited_until"] = exc.reset_at
            if not self._pages_read:
                raise
            log.warning("%s: keeping %d posts read before: %s", self.name, len(posts), exc)
        return posts, cur

    def _drain(self, key: str, call: PageCall, min_size: int, cur: Cursor, out: list[FetchedPost]) -> None:
        """Pages of one stream into `out`; since_id stays fixed while paging, then moves to the first newest_id."""
        state: dict[str, Any] = cur["streams"].setdefault(key, {})
        if not state.get("since_id") and not state.get("start_time"):  # first run: read back BACKFILL only
            state["start_time"] = (datetime.now(UTC) - BACKFILL).strftime("%Y-%m-%dT%H:%M:%SZ")
        for _ in range(self.max_pages):
            paging = state.get("paging")
            since_id = paging["since_id"] if paging else state.get("since_id")
            start = None if since_id else state.get("start_time")
            size = min(100, self.settings.monthly_read_budget - budget_used(cur))
            if size < min_size:
                cur["budget_exhausted"] = True
                log.warning("%s: monthly read budget of %d reached; %s paused",
                            self.name, self.settings.monthly_read_budget, key)
                break
            cur.pop("budget_exhausted", None)
            with mapped_errors(f"reading {key}"):
                page = call(since_id, start, paging["next_token"] if paging else None, size)
            data, users, meta = check_page(page)
            self._pages_read += 1
            add_reads(cur, len(data))
            out.extend(to_post(t, users, key) for t in data if keep(t, self.own_user_id))
            newest = paging["newest_id"] if paging else meta.get("newest_id")
            next_token = meta.get("next_token")
            if next_token:
                state["paging"] = {"next_token": str(next_token), "since_id": since_id, "newest_id": newest}
                continue
            state.pop("paging", None)
            if paging and not data:  # an empty page where more was promised: distrust it, page again next time
                log.warning("%s: %s: empty continuation page; re-reading from since_id next poll", self.name, key)
            elif newest:
                state["since_id"] = str(newest)
                state.pop("start_time", None)
            break

    # -- publishing --------------------------------------------------------------------------------------------

    def publish(self, reply: Reply) -> str:
        """Post `reply` as an answer to the tweet; returns the new tweet's id."""
        if not self.can_publish:
            raise PublishError("twitter: publishing needs SIGNPOST_TWITTER__CONSUMER_KEY, CONSUMER_SECRET, "
                               "ACCESS_TOKEN and ACCESS_TOKEN_SECRET")
        with mapped_errors("publishing", publishing=True):
            result = self.client.create_tweet(text=reply.text, in_reply_to_tweet_id=reply.post_external_id,
                                              user_auth=True)
        try:
            return str(result["data"]["id"])
        except (KeyError, TypeError) as exc:
            raise TransientChannelError("twitter: create_tweet answered without a tweet id") from exc

    def find_reply(self, reply: Reply) -> str | None:
        """Our existing reply to the post (looked up among our tweets since it), or None."""
        if not self.own_user_id:
            raise PublishError("twitter: cannot look for an earlier reply without [twitter] user_id")
        token: str | None = None
        for _ in range(MAX_LOOKUP_PAGES):  # our tweets since the post, newest first, every page
            with mapped_errors("looking for an earlier reply"):
                page = self.client.get_users_tweets(self.own_user_id, since_id=reply.post_external_id,
                                                    max_results=100, pagination_token=token,
                                                    tweet_fields=["referenced_tweets", "conversation_id"])
            data, _, meta = check_page(page)
            for tweet in data:
                if referenced(tweet, "replied_to") == reply.post_external_id:
                    return str(tweet["id"])
            token = meta.get("next_token")
            if not token:
                return None
        raise TransientChannelError("twitter: too many of our tweets since the post to look for an earlier reply")

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Like, reply, repost and quote counts of our published tweets."""
        counts: dict[str, dict[str, int]] = {}
        for start in range(0, len(refs), 100):
            with mapped_errors("reading engagement"):
                page = self.client.get_tweets(refs[start:start + 100], tweet_fields=["public_metrics"])
            data, _, _ = check_page(page)
            counts.update({str(t["id"]): engagement_counts(t) for t in data})
        return counts

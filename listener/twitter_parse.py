"""Pure helpers of the X channel: API v2 payloads to FetchedPosts, the read-budget meter, error mapping."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from core.errors import TransientChannelError
from listener.base import Author, Cursor, FetchedPost
from listener.text import clean_text, parse_time

log = logging.getLogger(__name__)

NETWORK = "twitter"
TWEET_FIELDS = ["lang", "author_id", "conversation_id", "created_at", "public_metrics", "referenced_tweets"]
USER_FIELDS = ["username", "name"]
EXPANSIONS = ["author_id"]


def month_key(now: datetime | None = None) -> str:
    """The budget period of `now` (UTC calendar month), e.g. '2025-11'."""
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def budget_used(cursor: Cursor, now: datetime | None = None) -> int:
    """Posts read so far this month according to the cursor's meter (0 in a new month)."""
    meter = cursor.get("budget") or {}
    return int(meter.get("used", 0)) if meter.get("month") == month_key(now) else 0


def add_reads(cursor: Cursor, count: int, now: datetime | None = None) -> None:
    """Add `count` posts read to the cursor's monthly meter (in place)."""
    cursor["budget"] = {"month": month_key(now), "used": budget_used(cursor, now) + count}


def _lang(value: Any) -> str | None:
    """X's language tag when it names a language ('und', 'qme', 'zxx' … do not)."""
    text = str(value or "")
    return text if len(text) == 2 and text.isalpha() else None


def referenced(tweet: dict[str, Any], kind: str) -> str | None:
    """The id of the tweet this one references as `kind` (replied_to, retweeted, quoted)."""
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == kind:
            return str(ref.get("id"))
    return None


def check_page(page: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """The tweets, users by id and meta of one response page; TransientChannelError when malformed."""
    if not isinstance(page, dict):
        raise TransientChannelError("twitter: malformed response (not a JSON object)")
    data = page.get("data") or []
    meta = page.get("meta") or {}
    users = (page.get("includes") or {}).get("users") or []
    if not isinstance(data, list) or not isinstance(meta, dict) or not isinstance(users, list):
        raise TransientChannelError("twitter: malformed response (unexpected shape)")
    if any(not isinstance(t, dict) or "id" not in t or "text" not in t for t in data):
        raise TransientChannelError("twitter: malformed response (tweet without id or text)")
    by_id = {str(u.get("id")): u for u in users if isinstance(u, dict)}
    return data, by_id, meta


def to_post(tweet: dict[str, Any], users: dict[str, dict[str, Any]], source: str) -> FetchedPost:
    """A FetchedPost from one v2 tweet object and the expanded users."""
    tweet_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "") or None
    user = users.get(author_id or "", {})
    handle = user.get("username")
    url = f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"
    return FetchedPost(
        network=NETWORK,
        external_id=tweet_id,
        text=clean_text(str(tweet["text"])),
        author=Author(author_id, handle, user.get("name")) if author_id else None,
        url=url,
        posted_at=parse_time(tweet.get("created_at")),
        thread_id=str(tweet.get("conversation_id") or tweet_id),
        in_reply_to=referenced(tweet, "replied_to"),
        lang=_lang(tweet.get("lang")),
        extra={"source": source, "public_metrics": tweet.get("public_metrics") or {}},
    )


def keep(tweet: dict[str, Any], own_user_id: str | None) -> bool:
    """False for retweets and for our own posts."""
    if referenced(tweet, "retweeted") is not None:
        return False
    return not (own_user_id and str(tweet.get("author_id")) == own_user_id)


def engagement_counts(tweet: dict[str, Any]) -> dict[str, int]:
    """Like, reply, repost and quote counts of a tweet with public_metrics."""
    metrics = tweet.get("public_metrics") or {}
    return {
        "likes": int(metrics.get("like_count", 0)),
        "replies": int(metrics.get("reply_count", 0)),
        "reposts": int(metrics.get("retweet_count", 0)),
        "quotes": int(metrics.get("quote_count", 0)),
    }


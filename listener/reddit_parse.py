"""Pure helpers of the Reddit channel: praw things to FetchedPosts, user-agent check, link stripping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from listener.base import Author, FetchedPost
from listener.text import clean_text

NETWORK = "reddit"
USER_AGENT_FORM = re.compile(r"^[\w.-]+:[\w.-]+:[\w.+-]+ \(by /u/[\w-]+\)$")
_URL = re.compile(r"\[([^\]]*)\]\((?:https?://|www\.)[^)]*\)|(?:https?://|www\.)\S+")


def valid_user_agent(value: str) -> bool:
    """True for `<platform>:<app id>:<version> (by /u/<name>)`, the form Reddit asks for."""
    return bool(USER_AGENT_FORM.match(value.strip()))


def strip_links(text: str) -> str:
    """The text without URLs (markdown links keep their label)."""
    stripped = _URL.sub(lambda m: m.group(1) or "", text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip()


def _name(value: Any) -> str | None:
    """The name of a lazy praw object (Redditor, Subreddit) without fetching it."""
    if value is None:
        return None
    text = str(value)
    return None if text in ("", "[deleted]", "None") else text


def to_post(thing: Any) -> FetchedPost | None:
    """A FetchedPost from a praw Submission or Comment, read from its loaded data only (no lazy fetch)."""
    data = vars(thing)
    thing_id = data.get("id")
    created = data.get("created_utc")
    if not thing_id or created is None:
        return None
    subreddit = _name(data.get("subreddit")) or ""
    author = _name(data.get("author"))
    posted_at = datetime.fromtimestamp(float(created), UTC)
    if "body" in data:  # a comment
        fullname = f"t1_{thing_id}"
        link_id = str(data.get("link_id") or "")
        permalink = data.get("permalink") or f"/r/{subreddit}/comments/{link_id[3:]}/_/{thing_id}/"
        return FetchedPost(
            network=NETWORK, external_id=fullname, text=clean_text(str(data.get("body") or "")),
            author=Author(author, author) if author else None, title=clean_text(data.get("link_title")) or None,
            url="https://www.reddit.com" + str(permalink), posted_at=posted_at, thread_id=link_id or None,
            in_reply_to=data.get("parent_id"),
            extra={"subreddit": subreddit, "kind": "comment", "score": int(data.get("score") or 0)},
        )
    fullname = f"t3_{thing_id}"
    title = clean_text(str(data.get("title") or ""))
    body = clean_text(str(data.get("selftext") or ""))
    permalink = data.get("permalink") or f"/r/{subreddit}/comments/{thing_id}/"
    return FetchedPost(
        network=NETWORK, external_id=fullname, text=body or title, author=Author(author, author) if author else None,
        title=title or None, url="https://www.reddit.com" + str(permalink), posted_at=posted_at, thread_id=fullname,
        extra={"subreddit": subreddit, "kind": "submission", "score": int(data.get("score") or 0),
               "num_comments": int(data.get("num_comments") or 0)},
    )


def created_utc(thing: Any) -> float:
    """The creation time of a praw thing (epoch seconds)."""
    return float(vars(thing).get("created_utc") or 0.0)


def author_name(thing: Any) -> str | None:
    """The author's name of a praw thing, lower-cased, without fetching."""
    name = _name(vars(thing).get("author"))
    return name.lower() if name else None

"""A fake X API v2 on 127.0.0.1: recent search, mentions, user timeline, tweet lookup and create_tweet."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes.api_fake import Answer, ApiFake, Seen

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twitter"
TWITTER_EPOCH_MS = 1288834974657
OUR_USER = {"id": "9000", "username": "SiteforgeHelp", "name": "Siteforge Help"}


def snowflake_time(tweet_id: int) -> str:
    """The creation time encoded in a tweet id, in the API's format."""
    ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FakeTweet:
    """A tweet in the fake's world."""

    id: int
    text: str
    author_id: str
    conversation_id: int | None = None
    reply_to: int | None = None
    retweet_of: int | None = None
    lang: str = "en"
    metrics: dict[str, int] = field(default_factory=lambda: {"like_count": 0, "reply_count": 0,
                                                             "retweet_count": 0, "quote_count": 0})

    def to_json(self) -> dict[str, Any]:
        """The documented v2 tweet object with the fields Signpost asks for."""
        refs = []
        if self.reply_to:
            refs.append({"type": "replied_to", "id": str(self.reply_to)})
        if self.retweet_of:
            refs.append({"type": "retweeted", "id": str(self.retweet_of)})
        data: dict[str, Any] = {
            "id": str(self.id), "text": self.text, "edit_history_tweet_ids": [str(self.id)],
            "author_id": self.author_id, "conversation_id": str(self.conversation_id or self.id),
            "created_at": snowflake_time(self.id), "lang": self.lang, "public_metrics": dict(self.metrics),
        }
        if refs:
            data["referenced_tweets"] = refs
        return data


class TwitterFake(ApiFake):
    """Keeps tweets and users in memory; pages newest first with until-id next_tokens; counts creates."""

    def __init__(self, page_size: int = 100) -> None:
        super().__init__()
        self.page_size = page_size
        self.users: dict[str, dict[str, str]] = {OUR_USER["id"]: dict(OUR_USER)}
        self.tweets: dict[int, FakeTweet] = {}
        self.created: list[FakeTweet] = []
        self.next_id = 0

    # -- the world --------------------------------------------------------------------------------------------

    def add_user(self, user_id: str, username: str, name: str | None = None) -> None:
        """Add an account."""
        with self.lock:
            self.users[user_id] = {"id": user_id, "username": username, "name": name or username}

    def add_tweet(self, text: str, author_id: str = "100", **kw: Any) -> FakeTweet:
        """Add a tweet with a fresh, increasing id."""
        with self.lock:
            if author_id not in self.users:
                self.add_user(author_id, f"user{author_id}")
            now_id = (int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22
            self.next_id = max(self.next_id + (1 << 22), now_id)
            tweet = FakeTweet(self.next_id, text, author_id, **kw)
            self.tweets[tweet.id] = tweet
            return tweet

    def load_recorded(self) -> list[FakeTweet]:
        """Add the tweets of the recorded tweepy cassettes (search and mentions), authors synthesized."""
        added = []
        for name in ("test_client_search_recent_tweets.json", "test_client_get_users_mentions.json"):
            for interaction in json.loads((FIXTURES / name).read_text(encoding="utf-8")):
                for i, item in enumerate(interaction["response"]["body"].get("data", [])):
                    added.append(self.add_tweet(item["text"], author_id=str(200 + i % 7)))
        return added

    # -- the API ----------------------------------------------------------------------------------------------

    def empty(self, seen: Seen) -> Any:
        """An empty page."""
        return {"meta": {"result_count": 0}}

    def answer(self, seen: Seen) -> Answer:
        """Route one request."""
        with self.lock:
            if seen.method == "POST" and seen.path == "/2/tweets":
                return self._create(json.loads(seen.body or b"{}"))
            if seen.method == "GET" and seen.path == "/2/tweets/search/recent":
                return self._page(self._search(seen.query.get("query", "")), seen.query)
            match = re.fullmatch(r"/2/users/(\w+)/(mentions|tweets)", seen.path)
            if seen.method == "GET" and match:
                user_id, kind = match.groups()
                tweets = self._mentions(user_id) if kind == "mentions" else self._by_author(user_id)
                return self._page(tweets, seen.query, token_param="pagination_token")
            if seen.method == "GET" and seen.path == "/2/tweets":
                ids = [int(i) for i in seen.query.get("ids", "").split(",") if i]
                found = [self.tweets[i].to_json() for i in ids if i in self.tweets]
                return Answer(200, {"data": found} if found else {})
        return Answer(404, {"title": "Not Found Error", "status": 404})

    def _search(self, query: str) -> list[FakeTweet]:
        no_retweets = "-is:retweet" in query
        term = re.sub(r"-is:retweet|[()]", "", query).strip().lower()
        return [t for t in self.tweets.values()
                if term in t.text.lower() and not (no_retweets and t.retweet_of)]

    def _mentions(self, user_id: str) -> list[FakeTweet]:
        handle = "@" + self.users[user_id]["username"].lower() if user_id in self.users else "@\x00"
        return [t for t in self.tweets.values() if handle in t.text.lower()]

    def _by_author(self, user_id: str) -> list[FakeTweet]:
        return [t for t in self.tweets.values() if t.author_id == user_id]

    def _page(self, tweets: list[FakeTweet], query: dict[str, str], token_param: str = "next_token") -> Answer:
        since = int(query.get("since_id") or 0)
        start = query.get("start_time")
        if start:
            start_ms = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() * 1000
            since = max(since, (int(start_ms) - TWITTER_EPOCH_MS) << 22)
        size = min(int(query.get("max_results") or 10), self.page_size)
        matching = sorted((t for t in tweets if t.id > since), key=lambda t: -t.id)
        token = query.get(token_param)
        if token:
            until = int(token.removeprefix("until-"))
            matching = [t for t in matching if t.id < until]
        page, rest = matching[:size], matching[size:]
        if not page:
            return Answer(200, self.empty(Seen("GET", "", {}, {}, b"")))
        authors = {t.author_id for t in page}
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": str(page[0].id), "oldest_id": str(page[-1].id)}
        if rest:
            meta["next_token"] = f"until-{page[-1].id}"
        body = {"data": [t.to_json() for t in page],
                "includes": {"users": [self.users[a] for a in sorted(authors) if a in self.users]}, "meta": meta}
        return Answer(200, body, {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449",
                                  "x-rate-limit-reset": "1665183229"})

    def _create(self, body: dict[str, Any]) -> Answer:
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = self.tweets.get(int(reply_to)) if reply_to else None
        tweet = self.add_tweet(str(body.get("text", "")), author_id=OUR_USER["id"],
                               reply_to=int(reply_to) if reply_to else None,
                               conversation_id=(parent.conversation_id or parent.id) if parent else None)
        self.created.append(tweet)
        data = {"id": str(tweet.id), "text": tweet.text, "edit_history_tweet_ids": [str(tweet.id)]}
        return Answer(201, {"data": data})

"""Seeded random fault schedules across polls and publishes, with simulated process kills between steps.

Each schedule runs the real tweepy and praw clients against the fakes while faults (401, 429, 5xx bursts,
timeouts, truncated/invalid JSON, empty pages, dropped connections, errors after a reply was posted) and kills
(before or after a fetch is stored, before or after a reply is posted) hit at random, while transient failures
make channels back off on the schedule's clock; then the faults stop and the system catches up. Every post must
be stored exactly once, none missed, and no reply published twice.
SIGNPOST_FAULT_SEED and SIGNPOST_FAULT_SCHEDULES reproduce or widen a run.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import make_engine, session_scope, upgrade
from core.models import Post, Suggestion
from core.models import SuggestionStatus as S
from listener.base import Cursor, FetchedPost
from listener.polling import DEFAULT_MAX_BACKOFF_SECONDS, poll_channel
from listener.reddit import RedditChannel
from listener.twitter import TwitterChannel, make_client
from responders.publishing import publish_approved
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import OUR_NAME, RedditFake
from tests.fakes.twitter_server import OUR_USER, TwitterFake
from tests.responders.publishing_helpers import Flaky, Killed, approve_posts, settings_for

SEED = int(os.environ.get("SIGNPOST_FAULT_SEED", "4242"))
SCHEDULES = int(os.environ.get("SIGNPOST_FAULT_SCHEDULES", "200"))
LEASE = timedelta(minutes=11)
BACKOFF_CAP = timedelta(seconds=DEFAULT_MAX_BACKOFF_SECONDS + 1)
SKIPPED_POLLS: Counter[bool] = Counter()


class KillablePoll:
    """Wraps a channel so that the 'process' dies after fetching, before the batch is stored."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """Fetch for real, then die."""
        self.inner.fetch_since(cursor)
        raise Killed("killed before storing")


def _random_fault(rng: random.Random, network: str, sub: str) -> Fault:
    kind = rng.choice(["status", "status", "status", "invalid_json", "truncated", "empty", "drop", "timeout"])
    if kind == "timeout" and rng.random() < 0.7:
        kind = "status"  # timeouts are slow: keep them rare
    status = rng.choice([500, 503, 503, 429, 401, 403])
    headers = {}
    if status == 429:
        headers = {"x-rate-limit-reset": "0"} if network == "twitter" else {"retry-after": "0"}
    # A server that did the work answers with a 5xx, a broken body or nothing at all, never with 4xx.
    ambiguous = kind != "status" or status >= 500
    # Empty results only where they can be true: listings. The look-up of our own replies is read-your-writes
    # after the lease; a server that hides a reply there would make any client post twice.
    path = None
    if kind == "empty":
        path = rng.choice(["/2/tweets/search/recent", "/2/users/9000/mentions"] if network == "twitter"
                          else [f"/r/{sub}/"])
    return Fault(kind=kind, status=status, headers=headers, times=rng.randint(1, 3), delay=0.5, path=path,
                 skip=rng.randint(0, 3), after=ambiguous and rng.random() < 0.3)


class Schedule:
    """One schedule: a fresh channel pair on the shared fakes, random steps, then a clean catch-up."""

    def __init__(self, n: int, rng: random.Random, tw: TwitterFake, rd: RedditFake, engine: Engine) -> None:
        self.n, self.rng, self.tw, self.rd, self.engine = n, rng, tw, rd, engine
        self.sub = f"sub{n}"
        self.names = (f"twitter-{n}", f"reddit-{n}")
        self.settings = settings_for(tw, rd)
        self.settings.reddit.subreddits = [self.sub]
        self.now = datetime.now(UTC)
        self.authors = 0
        self.restart()

    def restart(self) -> None:
        """A new process: fresh channel objects (no in-memory state survives)."""
        self.twitter = TwitterChannel(self.settings.twitter, name=self.names[0],
                                      client=make_client(self.settings.twitter, timeout=0.25))
        self.reddit = RedditChannel(self.settings.reddit, name=self.names[1], timeout=0.25)

    def author(self) -> str:
        self.authors += 1
        return f"{self.n}x{self.authors}"

    def add_items(self) -> None:
        for _ in range(self.rng.randint(0, 6)):
            roll = self.rng.random()
            if roll < 0.45:
                self.tw.add_tweet(f"siteforge question {self.rng.randint(0, 999)}?", author_id=self.author())
            elif roll < 0.55:
                self.tw.add_tweet("@SiteforgeHelp can you help?", author_id=self.author())
            elif roll < 0.6:
                self.tw.add_tweet("siteforge RT", author_id=self.author(), retweet_of=1)
            elif roll < 0.8 or not self.rd.order:
                self.rd.add_submission(self.sub, f"siteforge help {self.rng.randint(0, 999)}?", author=self.author())
            else:
                parents = [n for n in self.rd.order if self.rd.things[n]["subreddit"] == self.sub]
                if parents:
                    self.rd.add_comment(self.rng.choice(parents), "same here, how?", author=self.author())

    def maybe_fault(self) -> None:
        for fake, net in ((self.tw, "twitter"), (self.rd, "reddit")):
            fake.clear_faults()
            if self.rng.random() < 0.6:
                fake.inject(*(_random_fault(self.rng, net, self.sub) for _ in range(self.rng.randint(1, 2))))

    def poll(self, faults: bool) -> None:
        for channel in (self.twitter, self.reddit):
            target: Any = KillablePoll(channel) if faults and self.rng.random() < 0.12 else channel
            try:
                report = poll_channel(target, engine=self.engine, max_batches=3, now=self.now)  # backoff: our clock
                SKIPPED_POLLS[report.skipped] += 1
            except Killed:
                self.restart()
                return

    def publish(self, faults: bool) -> None:
        for name in self.names:
            approve_posts(self.engine, channel=name)
        roll = self.rng.random() if faults else 1.0
        channels: list[Any] = [self.twitter, self.reddit]
        if roll < 0.2:
            channels = [Flaky(c, kill_before=roll < 0.1, kill_after=roll >= 0.1) for c in channels]
        for channel in channels:
            try:
                publish_approved(self.settings, channels, engine=self.engine, only=channel.name, now=self.now)
            except Killed:
                self.restart()
                return

    def run(self) -> None:
        self.add_items()
        self.poll(faults=False)  # start listening: the first poll reads only the newest page
        for _ in range(self.rng.randint(2, 4)):
            self.add_items()
            self.maybe_fault()
            if self.rng.random() < 0.7:
                self.poll(faults=True)
            if self.rng.random() < 0.6:
                self.publish(faults=True)
            self.now += timedelta(minutes=self.rng.randint(0, 12))
        self.tw.clear_faults()
        self.rd.clear_faults()
        self.restart()
        self.now += BACKOFF_CAP  # past any backoff the faults caused
        for _ in range(10):  # catch up without faults, past every lease and rate limit
            self.poll(faults=False)
            self.now += LEASE
            self.publish(faults=False)
            if self.settled():
                break

    def settled(self) -> bool:
        """True when no suggestion of this schedule waits and every post has one."""
        with session_scope(self.engine) as session:
            open_ = session.exec(select(Suggestion.id).join(Post, col(Post.id) == col(Suggestion.post_id))
                                 .where(col(Post.channel).in_(self.names),
                                        col(Suggestion.status).in_([S.APPROVED, S.PUBLISHING]))).first()
        return open_ is None

    def check(self) -> None:
        expected_tw = {str(t.id) for t in self.tw.tweets.values()
                       if t.author_id != OUR_USER["id"] and not t.retweet_of}
        expected_rd = {n for n in self.rd.order if self.rd.things[n]["subreddit"] == self.sub
                       and self.rd.things[n]["author"] != OUR_NAME}
        with session_scope(self.engine) as session:
            rows = session.exec(select(Post.channel, Post.external_id, Suggestion.status, Suggestion.external_ref,
                                       Post.thread_id)
                                .join(Suggestion, col(Suggestion.post_id) == col(Post.id), isouter=True)
                                .where(col(Post.channel).in_(self.names))).all()
        stored = Counter((c, e) for c, e, *_ in rows)
        assert max(stored.values(), default=1) == 1, f"schedule {self.n}: a post was stored twice"
        assert {e for c, e, *_ in rows if c == self.names[0]} == expected_tw, f"schedule {self.n}: tweets missed"
        assert {e for c, e, *_ in rows if c == self.names[1]} == expected_rd, f"schedule {self.n}: reddit missed"
        statuses = Counter(s for *_, s, _, _ in rows)
        assert statuses[S.APPROVED] == statuses[S.PUBLISHING] == 0, f"schedule {self.n}: left over {statuses}"
        tw_replies = Counter(t.reply_to for t in self.tw.created)
        rd_replies = Counter(c["parent_id"] for c in self.rd.created)
        assert max(tw_replies.values(), default=1) == 1 and max(rd_replies.values(), default=1) == 1, \
            f"schedule {self.n}: a reply was published twice"
        refs = {r for *_, s, r, _ in rows if s == S.PUBLISHED}
        assert refs == {str(t.id) for t in self.tw.created} | {c["name"] for c in self.rd.created}
        threads = Counter(t for c, _, s, _, t in rows if s == S.PUBLISHED)
        assert max(threads.values(), default=1) == 1, f"schedule {self.n}: two replies in one thread"


def test_random_fault_schedules(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{(tmp_path / 'faults.db').as_posix()}")
    event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=OFF"))  # speed only
    upgrade(engine)
    seeds = random.Random(SEED)
    with TwitterFake(page_size=6) as tw, RedditFake(page_size=6) as rd:
        for n in range(SCHEDULES):
            tw.tweets.clear()
            tw.created.clear()
            rd.created.clear()
            rd.things.clear()
            rd.order.clear()
            schedule = Schedule(n, random.Random(seeds.random()), tw, rd, engine)
            schedule.run()
            schedule.check()
    engine.dispose()
    assert SKIPPED_POLLS[True] > 0 and SKIPPED_POLLS[False] > SKIPPED_POLLS[True]  # backoff took part

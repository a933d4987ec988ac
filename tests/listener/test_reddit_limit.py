"""Our own cap on Reddit requests per minute, whatever praw's header limiter says; a fake clock, no timing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import SecretStr

from core.settings import RedditSettings
from listener.base import Reply
from listener.ratelimit import RequestLimiter
from listener.reddit import RedditChannel
from listener.reddit_client import request_limiter
from tests.fakes.api_fake import Seen
from tests.fakes.reddit_server import OUR_NAME, RATE_HEADERS, RedditFake

SECRETS = {"client_id": SecretStr("test-client_id"), "client_secret": SecretStr("test-client_secret"),
           "username": SecretStr(OUR_NAME), "password": SecretStr("test-password")}


class FakeClock:
    """Seconds that pass only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def time(self) -> float:
        """The current fake time."""
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass at once."""
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


class ClockedReddit(RedditFake):
    """The Reddit fake noting the fake time of every request it receives."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.fake_clock = clock
        self.arrivals: list[float] = []

    def take_fault(self, seen: Seen) -> Any:
        """Note the arrival, then behave as usual."""
        self.arrivals.append(self.fake_clock.time())
        return super().take_fault(seen)


def _most_in_any_minute(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 60) for start in times)


def test_the_limiter_waits_for_the_oldest_request_to_leave_the_window() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(3, 60, clock=clock.time, sleep=clock.sleep)
    for _ in range(3):
        assert limiter.acquire() == 0
        clock.sleep(10)
    assert clock.now == 1030
    assert limiter.acquire() == 30 and clock.now == 1060  # the first request (at 1000) left the window at 1060
    assert limiter.in_window() == 3  # 1010, 1020, 1060
    clock.sleep(100)
    assert limiter.acquire() == 0 and limiter.in_window() == 1
    with pytest.raises(ValueError):
        RequestLimiter(0)


def test_the_default_cap_is_90_a_minute() -> None:
    assert request_limiter(RedditSettings()).limit == 90


def test_polls_and_replies_never_exceed_the_cap_although_the_headers_allow_more() -> None:
    clock = FakeClock()
    with ClockedReddit(clock) as fake:
        assert float(RATE_HEADERS["x-ratelimit-remaining"]) > 100  # praw's own limiter would not wait
        settings = RedditSettings(enabled=True, api_url=fake.base_url, subreddits=["siteforge"],
                                  queries=["password", "domain"], user_agent="python:signpost-test:0.1 (by /u/x)",
                                  **SECRETS)
        limiter = RequestLimiter(5, 60, name="reddit", clock=clock.time, sleep=clock.sleep)
        channel = RedditChannel(settings, timeout=1.0, limiter=limiter)
        cursor: dict[str, Any] = {}
        for i in range(4):
            sub = fake.add_submission("siteforge", f"How do I reset my password {i}?")
            fake.add_comment(sub["name"], "same problem with my domain")
            posts, cursor = channel.fetch_since(cursor)
            assert posts
        question = fake.things[fake.order[0]]["name"]
        channel.publish(Reply(question, question, "Here is how: https://help.example.com/reset", "k1"))
        assert len(fake.created) == 1
        assert len(fake.arrivals) >= 15  # tokens, 4 listings per poll, the reply: several minutes' worth
        assert _most_in_any_minute(fake.arrivals) <= 5
        assert clock.slept and clock.now - 1000.0 >= 60 * (len(fake.arrivals) // 5 - 1)

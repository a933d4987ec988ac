"""Bounded exponential backoff after transient failures, against the real tweepy and praw clients and the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.models import ChannelState
from listener.polling import backoff_delay, poll_channel
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import RedditFake
from tests.fakes.twitter_server import TwitterFake
from tests.responders.publishing_helpers import reddit_channel, settings_for, twitter_channel

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tw() -> Iterator[TwitterFake]:
    with TwitterFake() as srv:
        yield srv


def _state(engine: Engine, name: str) -> ChannelState:
    with session_scope(engine) as session:
        state = session.get(ChannelState, name)
        assert state is not None
        return state


def _backoff_until(engine: Engine, name: str) -> datetime | None:
    until = _state(engine, name).backoff_until
    return until.replace(tzinfo=until.tzinfo or UTC) if until else None


def test_the_delay_doubles_and_is_capped() -> None:
    assert [backoff_delay(300, n, 3600).total_seconds() for n in range(1, 6)] == [600, 1200, 2400, 3600, 3600]
    assert backoff_delay(300, 10_000, 3600).total_seconds() == 3600  # no overflow on long outages


def test_a_503_burst_makes_x_back_off_without_requests_then_recover(tw: TwitterFake, engine: Engine) -> None:
    channel = twitter_channel(settings_for(tw))
    interval = channel.interval_seconds
    tw.add_tweet("siteforge: how do I connect my domain?", author_id="7")
    tw.inject(Fault(status=503, path="/2/tweets/search/recent", times=2))
    now = T0
    expected_until = []
    for failures in (1, 2):
        report = poll_channel(channel, engine=engine, now=now, max_backoff=3600)
        assert report.error and "503" in report.error and not report.skipped
        state = _state(engine, "twitter")
        assert state.failures == failures and state.healthy and state.cursor == {}
        until = _backoff_until(engine, "twitter")
        assert until == now + timedelta(seconds=interval * 2 ** failures)
        expected_until.append(until)
        asked = tw.count("GET")
        for step in (interval, interval * 2 ** failures - 1):  # every scheduled poll inside the window is skipped
            skipped = poll_channel(channel, engine=engine, now=now + timedelta(seconds=step), max_backoff=3600)
            assert skipped.skipped and skipped.fetched == 0 and "backing off" in (skipped.error or "")
        assert tw.count("GET") == asked  # the fake heard nothing while we backed off
        now = until
    recovered = poll_channel(channel, engine=engine, now=now, max_backoff=3600)
    assert (recovered.error, recovered.stored) == (None, 1)
    state = _state(engine, "twitter")
    assert state.failures == 0 and state.backoff_until is None and state.last_error is None


def test_the_backoff_is_bounded_by_max_backoff(tw: TwitterFake, engine: Engine) -> None:
    channel = twitter_channel(settings_for(tw))
    tw.inject(Fault(kind="invalid_json", times=6))
    now = T0
    for _ in range(6):
        poll_channel(channel, engine=engine, now=now, max_backoff=1500)
        until = _backoff_until(engine, "twitter")
        assert until is not None and until - now <= timedelta(seconds=1500)
        now = until
    assert _state(engine, "twitter").failures == 6 and until == now


def test_ignore_backoff_polls_anyway_and_rate_limits_keep_their_reset(tw: TwitterFake, engine: Engine) -> None:
    channel = twitter_channel(settings_for(tw))
    now = datetime.now(UTC)  # rate limit resets come from the server in real epoch seconds
    tw.inject(Fault(status=500))
    poll_channel(channel, engine=engine, now=now)
    forced = poll_channel(channel, engine=engine, now=now, ignore_backoff=True)
    assert forced.error is None and not forced.skipped
    reset = int(datetime.now(UTC).timestamp()) + 900
    tw.inject(Fault(status=429, headers={"x-rate-limit-reset": str(reset)}))
    limited = poll_channel(channel, engine=engine, now=now)
    state = _state(engine, "twitter")
    assert limited.error and "rate limited" in limited.error and not limited.skipped
    assert state.failures == 0 and _backoff_until(engine, "twitter") == datetime.fromtimestamp(reset, UTC)
    asked = tw.count("GET")
    fresh = twitter_channel(settings_for(tw))  # a new process remembers the reset through the database
    waiting = poll_channel(fresh, engine=engine, now=now)
    assert waiting.skipped and "rate limited" in (waiting.error or "") and tw.count("GET") == asked


def test_reddit_backs_off_after_prawcore_gives_up_and_recovers(engine: Engine) -> None:
    with RedditFake() as rd:
        channel: Any = reddit_channel(settings_for(rd=rd))
        rd.add_submission("siteforge", "How do I reset my password?")
        rd.inject(Fault(status=503, path="/r/siteforge", times=100))
        report = poll_channel(channel, engine=engine, now=T0)
        assert report.error and "503" in report.error
        until = _backoff_until(engine, "reddit")
        assert until == T0 + timedelta(seconds=channel.interval_seconds * 2)
        rd.clear_faults()
        asked = rd.count("GET")
        assert poll_channel(channel, engine=engine, now=until - timedelta(seconds=1)).skipped
        assert rd.count("GET") == asked
        recovered = poll_channel(channel, engine=engine, now=until)
        assert recovered.error is None and recovered.stored == 1
        assert _state(engine, "reddit").failures == 0

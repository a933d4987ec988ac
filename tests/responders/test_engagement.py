"""Engagement snapshots of published replies, from the fake X and Reddit APIs into their own table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import AuditEvent, EngagementSnapshot
from listener.polling import poll_channel
from responders.engagement import refresh_engagement, snapshots
from responders.publishing import publish_approved
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import RedditFake
from tests.fakes.twitter_server import TwitterFake
from tests.responders.publishing_helpers import approve_posts, reddit_channel, settings_for, twitter_channel


@pytest.fixture
def fakes() -> Iterator[tuple[TwitterFake, RedditFake]]:
    with TwitterFake() as tw, RedditFake() as rd:
        yield tw, rd


def _published(tw: TwitterFake, rd: RedditFake, engine: Engine) -> tuple[Any, Any, dict[str, str]]:
    settings = settings_for(tw, rd)
    twitter, reddit = twitter_channel(settings), reddit_channel(settings)
    tw.add_tweet("siteforge: how do I connect my domain?", author_id="7")
    rd.add_submission("siteforge", "How do I reset my password?")
    for channel in (twitter, reddit):
        poll_channel(channel, engine=engine)
    approve_posts(engine)
    report = publish_approved(settings, [twitter, reddit], engine=engine)
    assert set(report.outcomes.values()) == {"published"}
    refs = {"twitter": str(tw.created[0].id), "reddit": str(rd.created[0]["name"])}
    return twitter, reddit, refs


class _Broken:
    """A channel plug-in with a bug in its engagement lookup."""

    name = "twitter"

    def __init__(self) -> None:
        self.asked = False

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Fail the way a bug does."""
        self.asked = True
        raise RuntimeError("a bug in a plug-in")


def _rows(engine: Engine) -> list[EngagementSnapshot]:
    with session_scope(engine) as session:
        return list(session.exec(select(EngagementSnapshot).order_by(EngagementSnapshot.id)).all())  # type: ignore


def test_each_refresh_stores_timestamped_snapshots(fakes: tuple[TwitterFake, RedditFake], engine: Engine) -> None:
    tw, rd = fakes
    twitter, reddit, refs = _published(tw, rd, engine)
    t1 = datetime.now(UTC)
    tw.created[0].metrics.update(like_count=4, retweet_count=2)
    rd.things[refs["reddit"]]["score"] = 7
    assert refresh_engagement([twitter, reddit], engine=engine, now=t1) == 2
    tw.created[0].metrics.update(like_count=9, reply_count=1, quote_count=1)
    rd.things[refs["reddit"]]["score"] = 12
    assert refresh_engagement([twitter, reddit], engine=engine, now=t1 + timedelta(hours=1)) == 2
    rows = _rows(engine)
    by_channel = {c: [r for r in rows if r.channel == c] for c in ("twitter", "reddit")}
    assert [r.counts for r in by_channel["twitter"]] == [
        {"likes": 4, "replies": 0, "reposts": 2, "quotes": 0}, {"likes": 9, "replies": 1, "reposts": 2, "quotes": 1}]
    assert [r.counts for r in by_channel["reddit"]] == [{"score": 7, "replies": 0}, {"score": 12, "replies": 0}]
    assert {r.external_ref for r in by_channel["twitter"]} == {refs["twitter"]}
    assert {r.external_ref for r in by_channel["reddit"]} == {refs["reddit"]}
    with session_scope(engine) as session:
        history = snapshots(by_channel["twitter"][0].suggestion_id, session=session)
        assert [s.counts["likes"] for s in history] == [4, 9]
        assert history[1].taken_at.replace(tzinfo=UTC) - history[0].taken_at.replace(tzinfo=UTC) == timedelta(hours=1)
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "engagement")).first() is None


def test_a_failing_channel_is_skipped_and_old_replies_are_left_alone(fakes: tuple[TwitterFake, RedditFake],
                                                                     engine: Engine) -> None:
    tw, rd = fakes
    twitter, reddit, _ = _published(tw, rd, engine)
    tw.inject(Fault(status=503, times=5))
    assert refresh_engagement([twitter, reddit], engine=engine) == 1
    assert [r.channel for r in _rows(engine)] == ["reddit"]
    broken = _Broken()
    assert refresh_engagement([broken, reddit], engine=engine) == 1  # type: ignore[list-item]
    assert broken.asked and [r.channel for r in _rows(engine)] == ["reddit", "reddit"]
    later = datetime.now(UTC) + timedelta(days=31)
    tw.clear_faults()
    assert refresh_engagement([twitter, reddit], engine=engine, now=later) == 0
    assert refresh_engagement([twitter, reddit], engine=engine, now=later, max_age=timedelta(days=60)) == 2

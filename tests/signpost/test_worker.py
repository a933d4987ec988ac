"""The worker: one coalesced, single-instance, jittered job per channel; a failing job never kills it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from core.db import make_engine, session_scope
from core.models import ChannelState, EngagementSnapshot, Post, Suggestion
from listener.base import Cursor, FetchedPost, Reply
from listener.polling import poll_channel
from listener.replay import ReplayChannel
from signpost.context import AppContext
from signpost.worker import build_scheduler, engagement_job, poll_job, publish_job
from tests.factories import FIXTURES_DIR, make_settings, seed_articles
from tests.fakes.api_fake import Fault
from tests.fakes.twitter_server import TwitterFake
from tests.responders.publishing_helpers import approve_posts, settings_for, twitter_channel


class _Exploding:
    name = "exploding"
    network = "twitter"
    interval_seconds = 45
    max_reply_chars = 280
    can_publish = False

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        raise RuntimeError("a bug in a plug-in")

    def publish(self, reply: Reply) -> str:
        raise NotImplementedError

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        raise RuntimeError("another bug in a plug-in")


def _context(tmp_path: Path, engine: Engine) -> AppContext:
    ctx = AppContext(make_settings(tmp_path, "[worker]\njitter_seconds = 7\n"))
    ctx.__dict__["engine"] = engine  # the migrated test database instead of the settings default
    return ctx


def test_one_job_per_channel_with_safe_defaults(tmp_path: Path, engine: Engine) -> None:
    replay = ReplayChannel(FIXTURES_DIR / "replay" / "posts.jsonl", interval_seconds=120)
    scheduler = build_scheduler(_context(tmp_path, engine), [replay, _Exploding()])
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll:replay", "poll:exploding", "process", "publish", "engagement"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
    poll = jobs["poll:replay"]
    assert poll.trigger.interval.total_seconds() == 120 and poll.trigger.jitter == 7
    assert jobs["poll:exploding"].trigger.interval.total_seconds() == 45
    assert jobs["publish"].trigger.interval.total_seconds() == 60
    assert jobs["engagement"].trigger.interval.total_seconds() == 3600


def test_a_failing_job_is_logged_and_the_next_one_runs(tmp_path: Path, engine: Engine) -> None:
    ctx = _context(tmp_path, engine)
    seed_articles(engine)
    poll_job(_Exploding(), ctx)  # must not raise
    poll_job(ReplayChannel(FIXTURES_DIR / "replay" / "posts.jsonl"), ctx)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Post)).one() == 5
        assert session.exec(select(func.count()).select_from(Post).where(Post.status == "new")).one() == 0
        assert session.get(ChannelState, "replay") is not None


def test_publish_and_engagement_jobs_against_the_fake(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with TwitterFake() as tw:
        settings = settings_for(tw)
        ctx = AppContext(settings)
        ctx.__dict__["engine"] = engine
        channel = twitter_channel(settings)
        question = tw.add_tweet("siteforge: how do I connect my domain?", author_id="7")
        poll_channel(channel, engine=engine)
        (sid,) = approve_posts(engine)
        publish_job(ctx, [channel])
        publish_job(ctx, [channel])  # the next minute: nothing left to send
        assert [t.reply_to for t in tw.created] == [question.id]
        tw.created[0].metrics.update(like_count=5)
        engagement_job(ctx, [_Exploding(), channel])  # type: ignore[list-item]  # a channel without published replies is not asked
        tw.inject(Fault(status=503, times=10))
        engagement_job(ctx, [channel])  # logged, not raised; no snapshot
        with session_scope(engine) as session:
            s = session.get(Suggestion, sid)
            assert s is not None and s.status == "published" and s.external_ref == str(tw.created[0].id)
            snaps = session.exec(select(EngagementSnapshot)).all()
            assert [(x.suggestion_id, x.counts["likes"]) for x in snaps] == [(sid, 5)]


def test_failing_publish_and_engagement_jobs_are_logged_not_raised(tmp_path: Path, engine: Engine,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    ctx = _context(tmp_path, engine)
    ctx.__dict__["engine"] = make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # every query fails
    publish_job(ctx, [])
    engagement_job(ctx, [])
    assert "publish job failed" in caplog.text and "engagement job failed" in caplog.text

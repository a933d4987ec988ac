"""The worker: one coalesced, single-instance, jittered job per channel; a failing job never kills it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import func, select

from core.db import session_scope
from core.models import ChannelState, Post
from listener.base import Cursor, FetchedPost, Reply
from listener.replay import ReplayChannel
from signpost.context import AppContext
from signpost.worker import build_scheduler, poll_job
from tests.factories import FIXTURES_DIR, make_settings, seed_articles


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
        return {}


def _context(tmp_path: Path, engine: Engine) -> AppContext:
    ctx = AppContext(make_settings(tmp_path, "[worker]\njitter_seconds = 7\n"))
    ctx.__dict__["engine"] = engine  # the migrated test database instead of the settings default
    return ctx


def test_one_job_per_channel_with_safe_defaults(tmp_path: Path, engine: Engine) -> None:
    replay = ReplayChannel(FIXTURES_DIR / "replay" / "posts.jsonl", interval_seconds=120)
    scheduler = build_scheduler(_context(tmp_path, engine), [replay, _Exploding()])
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll:replay", "poll:exploding", "process"}
    poll = jobs["poll:replay"]
    assert poll.max_instances == 1 and poll.coalesce is True
    assert poll.trigger.interval.total_seconds() == 120 and poll.trigger.jitter == 7
    assert jobs["poll:exploding"].trigger.interval.total_seconds() == 45


def test_a_failing_job_is_logged_and_the_next_one_runs(tmp_path: Path, engine: Engine) -> None:
    ctx = _context(tmp_path, engine)
    seed_articles(engine)
    poll_job(_Exploding(), ctx)  # must not raise
    poll_job(ReplayChannel(FIXTURES_DIR / "replay" / "posts.jsonl"), ctx)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Post)).one() == 5
        assert session.exec(select(func.count()).select_from(Post).where(Post.status == "new")).one() == 0
        assert session.get(ChannelState, "replay") is not None

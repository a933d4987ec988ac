"""Polling: posts, people and cursor stored in one transaction; no loss or duplicate after a kill."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ChannelAuthError, TransientChannelError
from core.models import ChannelState, Person, Post
from listener.base import Cursor, FetchedPost, Reply
from listener.polling import poll_channel
from listener.replay import ReplayChannel
from tests.factories import FIXTURES_DIR

POSTS = FIXTURES_DIR / "replay" / "posts.jsonl"


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_replay_poll_stores_each_post_once(engine: Engine) -> None:
    channel = ReplayChannel(POSTS, batch_size=100)
    first = poll_channel(channel, engine=engine)
    assert (first.fetched, first.stored, first.error) == (5, 5, None)
    second = poll_channel(channel, engine=engine)
    assert (second.fetched, second.stored) == (0, 0)
    assert _count(engine, Post) == 5
    assert _count(engine, Person) == 3  # ana posted twice
    with session_scope(engine) as session:
        state = session.get(ChannelState, "replay")
        assert state is not None and state.cursor == {"line": 7} and state.posts_seen == 5
        hostile = session.exec(select(Post).where(Post.external_id == "f1")).one()
        assert "<" not in hostile.text and "alert" not in hostile.text


def test_rewound_cursor_does_not_duplicate(engine: Engine) -> None:
    channel = ReplayChannel(POSTS, batch_size=2)
    poll_channel(channel, engine=engine, max_batches=10)
    with session_scope(engine) as session:
        state = session.get(ChannelState, "replay")
        assert state is not None
        state.cursor = {"line": 0}
        session.add(state)
    report = poll_channel(channel, engine=engine, max_batches=10)
    assert report.fetched == 5 and report.stored == 0
    assert _count(engine, Post) == 5


class _FailingChannel:
    name = "flaky"
    network = "twitter"
    interval_seconds = 60
    max_reply_chars = 280
    can_publish = False

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        raise self.exc

    def publish(self, reply: Reply) -> str:
        raise NotImplementedError

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        return {}


def test_transient_error_is_recorded_and_cursor_kept(engine: Engine) -> None:
    report = poll_channel(_FailingChannel(TransientChannelError("503 from upstream")), engine=engine)
    assert report.error == "503 from upstream"
    with session_scope(engine) as session:
        state = session.get(ChannelState, "flaky")
        assert state is not None and state.healthy and state.cursor == {}
        assert "503" in (state.last_error or "")


def test_auth_error_marks_channel_unhealthy(engine: Engine) -> None:
    poll_channel(_FailingChannel(ChannelAuthError("401 Unauthorized")), engine=engine)
    with session_scope(engine) as session:
        state = session.get(ChannelState, "flaky")
        assert state is not None and not state.healthy


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from sqlalchemy import event
    from sqlmodel import Session
    from core.db import make_engine
    from core.models import Post
    from listener.polling import poll_channel
    from listener.replay import ReplayChannel

    @event.listens_for(Session, "before_commit")
    def _die(session):
        if any(isinstance(obj, Post) for obj in session.new):
            os.kill(os.getpid(), signal.SIGKILL)  # posts fetched, nothing committed yet

    poll_channel(ReplayChannel(Path(sys.argv[2]), batch_size=100), engine=make_engine(sys.argv[1]))
    """
)


def test_kill_between_fetch_and_commit_loses_and_duplicates_nothing(db_url: str, engine: Engine) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLER, db_url, str(POSTS)], capture_output=True,
                          cwd=Path(__file__).parents[2], timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    assert _count(engine, Post) == 0
    report = poll_channel(ReplayChannel(POSTS, batch_size=100), engine=engine)
    assert report.stored == 5
    assert poll_channel(ReplayChannel(POSTS, batch_size=100), engine=engine).stored == 0
    assert _count(engine, Post) == 5

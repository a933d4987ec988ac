"""`signpost poll --once` against a local feed server: each entry stored once across polls."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from core.db import make_engine, session_scope
from core.models import ChannelState, Post
from tests.factories import write_settings
from tests.fakes.feed_server import FeedServer

FEED = "signpost__wordpress_comments.rss"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A fake feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


def _poll(settings: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "-c", "from signpost.cli import main; main()",
                           "--settings", str(settings), "poll", "--once", "--channel", "feed"],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_two_polls_store_each_entry_once(server: FeedServer, db_url: str, tmp_path: Path, validator: str) -> None:
    options = {"etag": '"v1"'} if validator == "etag" else {"last_modified": "Tue, 14 May 2024 09:12:44 GMT"}
    server.serve("/comments", FEED, **options)
    settings = write_settings(tmp_path, f'[[feeds]]\nurl = "{server.url("/comments")}"\nname = "blog"\n')
    first = _poll(settings, db_url)
    assert first.returncode == 0, first.stderr
    assert "feed:blog: 4 fetched, 4 new" in first.stdout
    second = _poll(settings, db_url)
    assert second.returncode == 0, second.stderr
    assert "feed:blog: 0 fetched, 0 new" in second.stdout
    header = "if-none-match" if validator == "etag" else "if-modified-since"
    assert header in server.last("/comments").headers
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Post)).one() == 4
        state = session.get(ChannelState, "feed:blog")
        assert state is not None and state.healthy and state.posts_seen == 4


def test_feed_without_validators_is_refetched_but_not_duplicated(server: FeedServer, db_url: str,
                                                                  tmp_path: Path) -> None:
    server.serve("/comments", FEED)
    settings = write_settings(tmp_path, f'[[feeds]]\nurl = "{server.url("/comments")}"\nname = "blog"\n')
    assert "4 new" in _poll(settings, db_url).stdout
    assert "4 fetched, 0 new" in _poll(settings, db_url).stdout


def test_failing_feed_exits_nonzero_and_records_the_error(server: FeedServer, db_url: str, tmp_path: Path) -> None:
    server.serve("/comments", FEED, status=503)
    settings = write_settings(tmp_path, f'[[feeds]]\nurl = "{server.url("/comments")}"\nname = "blog"\n')
    proc = _poll(settings, db_url)
    assert proc.returncode == 1
    assert "503" in proc.stdout
    with session_scope(make_engine(db_url)) as session:
        state = session.get(ChannelState, "feed:blog")
        assert state is not None and "503" in (state.last_error or "")

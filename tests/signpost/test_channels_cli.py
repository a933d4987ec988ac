"""The X and Reddit channels from the command line, as real subprocesses with nothing but settings and environment.

kb import → poll --once --channel twitter|reddit (twice: nothing new the second time) → queue list --json →
queue approve → publish → each fake received exactly one reply in the right thread, and the database holds the
published suggestion with its external id; `signpost channels --json` shows both channels healthy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from core.db import make_engine, session_scope
from core.models import ChannelState, Post, Suggestion
from knowledge.kbfiles import dump_kb
from tests.factories import ARTICLES, write_settings
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import OUR_NAME, RedditFake
from tests.fakes.twitter_server import OUR_USER, TwitterFake

SECRETS = {
    "SIGNPOST_TWITTER__BEARER_TOKEN": "test-bearer", "SIGNPOST_TWITTER__CONSUMER_KEY": "test-ck",
    "SIGNPOST_TWITTER__CONSUMER_SECRET": "test-cs", "SIGNPOST_TWITTER__ACCESS_TOKEN": "test-at",
    "SIGNPOST_TWITTER__ACCESS_TOKEN_SECRET": "test-ats", "SIGNPOST_REDDIT__CLIENT_ID": "test-client_id",
    "SIGNPOST_REDDIT__CLIENT_SECRET": "test-client_secret", "SIGNPOST_REDDIT__USERNAME": OUR_NAME,
    "SIGNPOST_REDDIT__PASSWORD": "test-password",
}


@pytest.fixture
def fakes() -> Iterator[tuple[TwitterFake, RedditFake]]:
    """The fake X and Reddit APIs on 127.0.0.1."""
    with TwitterFake() as tw, RedditFake() as rd:
        yield tw, rd


def _settings(tmp_path: Path, tw: TwitterFake, rd: RedditFake) -> Path:
    return write_settings(tmp_path, f"""
[app]
data_dir = "{(tmp_path / 'var').as_posix()}"

[matching]
threshold = 0.3

[twitter]
enabled = true
api_url = "{tw.base_url}"
queries = ["siteforge"]
user_id = "{OUR_USER['id']}"
publish = true

[reddit]
enabled = true
api_url = "{rd.base_url}"
subreddits = ["siteforge"]
user_agent = "python:signpost-test:0.1 (by /u/{OUR_NAME})"
publish = true
""")


def _run(tmp_path: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # 127.0.0.1 never via a proxy
    env.update(SECRETS, DATABASE_URL=db_url, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-c", "from signpost.cli import main; main()",
                           "--settings", str(tmp_path / "settings.toml"), *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    printed = proc.stdout + proc.stderr
    assert not [name for name, value in SECRETS.items() if value != OUR_NAME and value in printed], printed
    return proc


def test_poll_approve_publish_end_to_end(fakes: tuple[TwitterFake, RedditFake], db_url: str,
                                          tmp_path: Path) -> None:
    tw, rd = fakes
    _settings(tmp_path, tw, rd)
    tweet = tw.add_tweet("siteforge: how do I connect my own domain?", author_id="7")
    praise = tw.add_tweet("siteforge is great, love the new editor", author_id="8")
    submission = rd.add_submission("siteforge", "How do I reset my password?", "I forgot my password, help")
    dump_kb(ARTICLES, tmp_path / "kb.jsonl")
    imported = _run(tmp_path, db_url, "kb", "import", str(tmp_path / "kb.jsonl"))
    assert imported.returncode == 0, imported.stderr

    for name, fetched in (("twitter", 2), ("reddit", 1)):
        first = _run(tmp_path, db_url, "poll", "--once", "--channel", name)
        assert first.returncode == 0, first.stderr
        assert f"{name}: {fetched} fetched, {fetched} new" in first.stdout
        again = _run(tmp_path, db_url, "poll", "--once", "--channel", name)
        assert again.returncode == 0, again.stderr
        assert f"{name}: " in again.stdout and ", 0 new" in again.stdout
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        stored = sorted((p.channel, p.external_id) for p in session.exec(select(Post)).all())
    assert stored == sorted([("twitter", str(tweet.id)), ("twitter", str(praise.id)),
                             ("reddit", submission["name"])])

    listed = _run(tmp_path, db_url, "queue", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    pending = {item["network"]: item for item in json.loads(listed.stdout)}
    assert set(pending) == {"twitter", "reddit"}  # the praise is no question
    assert "connect-domain" in pending["twitter"]["reply"] and "reset-password" in pending["reddit"]["reply"]
    for item in pending.values():
        approved = _run(tmp_path, db_url, "queue", "approve", str(item["id"]), "--as", "maria")
        assert approved.returncode == 0, approved.stderr

    published = _run(tmp_path, db_url, "publish")
    assert published.returncode == 0, published.stderr + published.stdout
    assert "2 published" in published.stdout
    assert [t.reply_to for t in tw.created] == [tweet.id]
    assert [c["parent_id"] for c in rd.created] == [submission["name"]]
    again = _run(tmp_path, db_url, "publish")
    assert "nothing to publish" in again.stdout and len(tw.created) == len(rd.created) == 1

    with session_scope(engine) as session:
        rows = session.exec(select(Suggestion, Post).join(Post, col(Post.id) == col(Suggestion.post_id))).all()
        by_network = {p.network: (s, p) for s, p in rows}
        for network, ref in (("twitter", str(tw.created[0].id)), ("reddit", rd.created[0]["name"])):
            s, _ = by_network[network]
            assert s.status == "published" and s.external_ref == ref and s.published_at is not None
            assert s.decided_by == "maria" and s.id == pending[network]["id"]
        assert by_network["twitter"][1].thread_id == str(tweet.id)
        assert by_network["reddit"][1].thread_id == submission["name"]
        states = {s.name: s for s in session.exec(select(ChannelState)).all()}
        assert states["twitter"].healthy and states["reddit"].healthy
    engine.dispose()

    shown = _run(tmp_path, db_url, "channels", "--json")
    assert shown.returncode == 0, shown.stderr
    channels = {row["name"]: row for row in json.loads(shown.stdout)}
    assert channels["twitter"]["healthy"] and channels["reddit"]["healthy"]
    assert channels["twitter"]["backoff_until"] is None and channels["twitter"]["failures"] == 0
    assert channels["twitter"]["read_budget"]["used"] == 2


def test_a_503_burst_shows_as_backoff_and_poll_waits(fakes: tuple[TwitterFake, RedditFake], tmp_path: Path) -> None:
    tw, rd = fakes
    _settings(tmp_path, tw, rd)
    db_url = f"sqlite:///{(tmp_path / 'backoff.db').as_posix()}"
    tw.inject(Fault(status=503, times=50))
    failed = _run(tmp_path, db_url, "poll", "--once", "--channel", "twitter")
    assert failed.returncode == 1 and "503" in failed.stdout
    asked = tw.count("GET")
    waiting = _run(tmp_path, db_url, "poll", "--once", "--channel", "twitter")
    assert waiting.returncode == 1 and "backing off after 1 transient failure" in waiting.stdout
    assert tw.count("GET") == asked
    table = _run(tmp_path, db_url, "channels")
    assert "1 failures" in table.stdout and "until" in table.stdout
    tw.clear_faults()
    forced = _run(tmp_path, db_url, "poll", "--once", "--channel", "twitter", "--ignore-backoff")
    assert forced.returncode == 0 and "twitter: 0 fetched, 0 new" in forced.stdout

"""Real process kills (SIGKILL) around publishing and polling, against the fakes and both databases.

Each test runs one step of Signpost in a child process that SIGKILLs itself at a chosen point: right after the
fake accepted a reply (a requests response hook), just before the commit that records it, right after the claim
was committed (before any request), or between a poll's fetch and its commit (SQLAlchemy session hooks). The
fakes run in this process, so what the dead child did to "the network" is visible here; the next run, in this
process, must neither post again nor lose or duplicate a post. Time is injected (`now`) to pass the lease.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session_scope
from core.models import AuditEvent, ChannelState, Post, Suggestion
from core.models import SuggestionStatus as S
from core.settings import Settings
from listener.base import Channel
from listener.polling import poll_channel
from responders.publishing import publish_approved
from tests.fakes.reddit_server import RedditFake
from tests.fakes.twitter_server import OUR_USER, TwitterFake
from tests.responders.publishing_helpers import approve_posts, reddit_channel, settings_for, twitter_channel

REPO = Path(__file__).resolve().parents[2]
LATER = timedelta(minutes=11)  # past the default 10-minute publishing lease
POST_PATHS = {"twitter": "/2/tweets", "reddit": "/api/comment"}

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from types import SimpleNamespace
    from urllib.parse import urlsplit

    import requests
    from sqlalchemy import event
    from sqlmodel import Session

    from core.db import make_engine
    from core.models import AuditEvent
    from listener.polling import poll_channel
    from responders.publishing import publish_approved
    from tests.responders.publishing_helpers import reddit_channel, settings_for, twitter_channel

    db_url, job, network, kill_at, api_url = sys.argv[1:6]
    REPLY_PATHS = {"/2/tweets", "/api/comment"}


    def die():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)


    def on_response(response, **kwargs):
        # The fake has created the reply and its whole answer is here; nothing of it is stored yet.
        if response.request.method == "POST" and urlsplit(response.url).path.rstrip("/") in REPLY_PATHS:
            _ = response.content
            die()


    if kill_at == "response":  # every requests.Session (tweepy's, prawcore's) gets the hook
        _init = requests.Session.__init__

        def _hooked_init(self):
            _init(self)
            self.hooks["response"].append(on_response)

        requests.Session.__init__ = _hooked_init


    def written(session):
        # What this transaction wrote: audit actions and model names, flushed or still pending.
        seen = session.info.setdefault("written", set())
        for obj in session.new:
            seen.add(obj.action if isinstance(obj, AuditEvent) else type(obj).__name__)
        return seen


    @event.listens_for(Session, "after_flush")
    def _flushed(session, _ctx):
        written(session)


    @event.listens_for(Session, "before_commit")
    def _before_commit(session):
        seen = written(session)
        if (kill_at == "commit" and "published" in seen) or (kill_at == "store" and "Post" in seen):
            die()


    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        if kill_at == "claimed" and "publishing" in session.info.get("written", ()):
            die()  # the claim is committed; no request has left


    fake = SimpleNamespace(base_url=api_url)
    settings = settings_for(fake, None) if network == "twitter" else settings_for(None, fake)
    channel = twitter_channel(settings) if network == "twitter" else reddit_channel(settings)
    engine = make_engine(db_url)
    if job == "publish":
        print(publish_approved(settings, [channel], engine=engine).outcomes)
    else:
        print(poll_channel(channel, engine=engine, max_batches=5))
    """
)


@pytest.fixture
def tw() -> Iterator[TwitterFake]:
    """The fake X API, serving on 127.0.0.1 in this process."""
    with TwitterFake(page_size=3) as srv:
        yield srv


@pytest.fixture
def rd() -> Iterator[RedditFake]:
    """The fake Reddit API, serving on 127.0.0.1 in this process."""
    with RedditFake() as srv:
        yield srv


def run_killed(db_url: str, job: str, network: str, kill_at: str, api_url: str) -> str:
    """Run one step in a child process that must SIGKILL itself at `kill_at`; returns its output."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", CHILD, db_url, job, network, kill_at, api_url],
                          capture_output=True, text=True, env=env, cwd=os.getcwd(), timeout=120)
    assert proc.returncode == -9, f"child was not killed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def suggestion(engine: Engine, sid: int) -> Suggestion:
    """The stored suggestion."""
    with session_scope(engine) as session:
        s = session.get(Suggestion, sid)
        assert s is not None
        return s


def actions(engine: Engine, sid: int) -> list[str]:
    """The suggestion's audit actions, oldest first."""
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent.action).where(AuditEvent.suggestion_id == sid)
                                 .order_by(col(AuditEvent.id))).all())


def one_approved(network: str, tw: TwitterFake | None, rd: RedditFake | None,
                 engine: Engine) -> tuple[int, Settings, Channel, str]:
    """A question on the fake, polled and approved; returns the suggestion id, settings, channel and fake URL."""
    if network == "twitter":
        assert tw is not None
        settings = settings_for(tw)
        channel: Channel = twitter_channel(settings)
        tw.add_tweet("siteforge: how do I connect my domain?", author_id="7")
        url = tw.base_url
    else:
        assert rd is not None
        settings = settings_for(rd=rd)
        channel = reddit_channel(settings)
        rd.add_submission("siteforge", "How do I reset my siteforge password?")
        url = rd.base_url
    assert poll_channel(channel, engine=engine).stored == 1
    (sid,) = approve_posts(engine)
    return sid, settings, channel, url


def created_refs(network: str, tw: TwitterFake | None, rd: RedditFake | None) -> list[str]:
    """The external ids of the replies the fake created, in order."""
    if network == "twitter":
        assert tw is not None
        return [str(t.id) for t in tw.created]
    assert rd is not None
    return [str(c["name"]) for c in rd.created]


@pytest.fixture(params=["twitter", "reddit"])
def network(request: pytest.FixtureRequest) -> str:
    """Each network."""
    return str(request.param)


@pytest.fixture
def fakes(network: str) -> Iterator[tuple[TwitterFake | None, RedditFake | None]]:
    """The fake of the network under test (the other one is None)."""
    if network == "twitter":
        with TwitterFake() as t:
            yield t, None
    else:
        with RedditFake() as r:
            yield None, r


@pytest.mark.parametrize("kill_at", ["response", "commit"])
def test_killed_after_the_reply_was_accepted_is_found_not_reposted(
        network: str, fakes: tuple[TwitterFake | None, RedditFake | None], db_url: str, engine: Engine,
        kill_at: str) -> None:
    tw, rd = fakes
    sid, settings, channel, url = one_approved(network, tw, rd, engine)
    run_killed(db_url, "publish", network, kill_at, url)
    (ref,) = created_refs(network, tw, rd)  # the fake accepted the reply before the child died
    s = suggestion(engine, sid)
    assert s.status == S.PUBLISHING and s.external_ref is None  # nothing after the claim was committed
    early = publish_approved(settings, [channel], engine=engine)
    assert early.outcomes == {sid: "claimed_elsewhere"}  # the dead child's lease still holds
    late = publish_approved(settings, [channel], engine=engine, now=datetime.now(UTC) + LATER)
    assert late.outcomes == {sid: "published_found"}
    assert created_refs(network, tw, rd) == [ref]
    fake = tw or rd
    assert fake is not None and fake.count("POST", POST_PATHS[network]) == 1
    s = suggestion(engine, sid)
    assert s.status == S.PUBLISHED and s.external_ref == ref
    assert actions(engine, sid)[-3:] == ["publishing", "lease_reclaimed", "published"]


def test_killed_after_the_claim_before_sending_posts_once_on_retry(
        network: str, fakes: tuple[TwitterFake | None, RedditFake | None], db_url: str, engine: Engine) -> None:
    tw, rd = fakes
    sid, settings, channel, url = one_approved(network, tw, rd, engine)
    run_killed(db_url, "publish", network, "claimed", url)
    fake = tw or rd
    assert fake is not None and fake.count("POST", POST_PATHS[network]) == 0
    assert suggestion(engine, sid).status == S.PUBLISHING
    late = publish_approved(settings, [channel], engine=engine, now=datetime.now(UTC) + LATER)
    assert late.outcomes == {sid: "published"}
    (ref,) = created_refs(network, tw, rd)
    assert fake.count("POST", POST_PATHS[network]) == 1
    s = suggestion(engine, sid)
    assert s.status == S.PUBLISHED and s.external_ref == ref
    assert publish_approved(settings, [channel], engine=engine, now=datetime.now(UTC) + 2 * LATER).outcomes == {}


def _cursor(engine: Engine, name: str) -> dict[str, object]:
    """The stored cursor of a channel."""
    with session_scope(engine) as session:
        state = session.get(ChannelState, name)
        assert state is not None
        return dict(state.cursor)


def test_x_poll_killed_between_fetch_and_commit_stores_every_tweet_once(tw: TwitterFake, db_url: str,
                                                                        engine: Engine) -> None:
    channel = twitter_channel(settings_for(tw))
    tw.add_tweet("siteforge: first question?", author_id="7")
    assert poll_channel(channel, engine=engine).stored == 1
    before = _cursor(engine, "twitter")
    new = [tw.add_tweet(f"siteforge question {i}?", author_id=str(10 + i)) for i in range(7)]
    new += [tw.add_tweet(f"@{OUR_USER['username']} help {i}", author_id=str(30 + i)) for i in range(4)]
    searches = tw.count("GET", "/2/tweets/search/recent")
    run_killed(db_url, "poll", "twitter", "store", tw.base_url)
    assert tw.count("GET", "/2/tweets/search/recent") - searches >= 3  # the child paged through the search
    with session_scope(engine) as session:
        assert len(session.exec(select(Post.id)).all()) == 1  # nothing of the killed batch was stored
    assert _cursor(engine, "twitter") == before  # neither since_id nor paging moved
    report = poll_channel(channel, engine=engine, max_batches=5)
    assert report.error is None and report.stored == len(new)
    assert poll_channel(channel, engine=engine, max_batches=5).stored == 0
    with session_scope(engine) as session:
        ids = list(session.exec(select(Post.external_id).where(Post.channel == "twitter")).all())
    expected = {str(t.id) for t in tw.tweets.values()}
    assert sorted(ids) == sorted(expected)  # every tweet, each exactly once
    streams = _cursor(engine, "twitter")["streams"]
    assert isinstance(streams, dict)
    assert streams["search:siteforge"]["since_id"] == str(new[-1].id)  # "@SiteforgeHelp" matches the search too
    assert streams["mentions"]["since_id"] == str(new[-1].id)

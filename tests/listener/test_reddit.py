"""The Reddit channel: the real praw and prawcore against a local fake Reddit that misbehaves on purpose."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.errors import (
    ChannelAuthError,
    ConfigError,
    NotConfigured,
    PublishError,
    RateLimited,
    TransientChannelError,
)
from core.models import ChannelState
from core.settings import RedditSettings
from listener.base import Reply
from listener.polling import poll_channel
from listener.reddit import RedditChannel
from listener.reddit_parse import strip_links
from tests.factories import make_settings
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import OUR_NAME, RedditFake

SECRETS = {"client_id": SecretStr("test-client_id"), "client_secret": SecretStr("test-client_secret"),
           "username": SecretStr(OUR_NAME), "password": SecretStr("test-password")}


@pytest.fixture
def fake() -> Iterator[RedditFake]:
    """A fake Reddit on 127.0.0.1."""
    with RedditFake() as srv:
        yield srv


def channel_for(fake: RedditFake, **options: Any) -> RedditChannel:
    """A channel on the fake with a short timeout."""
    values: dict[str, Any] = {"enabled": True, "api_url": fake.base_url, "subreddits": ["siteforge"],
                              "user_agent": "python:signpost-test:0.1 (by /u/siteforge_help)", **SECRETS}
    values.update(options)
    return RedditChannel(RedditSettings(**values), timeout=0.5)


def test_recorded_submissions_and_comments_arrive(fake: RedditFake) -> None:
    recorded = fake.load_recorded("siteforge")
    posts, cursor = channel_for(fake).fetch_since({})
    assert {p.external_id for p in posts} == {d["name"] for d in recorded}
    comment = next(p for p in posts if p.external_id.startswith("t1_"))
    assert comment.thread_id and comment.thread_id.startswith("t3_") and comment.in_reply_to
    assert comment.url and comment.url.startswith("https://www.reddit.com/r/siteforge/")
    assert set(cursor["streams"]) == {"new:siteforge", "comments:siteforge"}
    token = next(s for s in fake.seen if s.path == "/api/v1/access_token")
    assert "grant_type=client_credentials" in token.body.decode()
    listing = next(s for s in fake.seen if s.path == "/r/siteforge/new")
    assert listing.headers["authorization"] == "bearer token-1"
    assert listing.headers["user-agent"].startswith("python:signpost-test:0.1 (by /u/siteforge_help)")


def test_cursor_pages_down_to_the_watermark_without_missing_items(fake: RedditFake) -> None:
    fake.page_size = 10
    old = fake.add_submission("siteforge", "old")
    fake.clock += 600  # listings reach back past the watermark's overlap to this old post
    first = fake.add_submission("siteforge", "first")
    channel = channel_for(fake)
    posts, cursor = channel.fetch_since({})
    assert [p.external_id for p in posts] == [first["name"], old["name"]]
    new = [fake.add_submission("siteforge", f"how do I {i}?") for i in range(34)]
    posts, cursor = channel.fetch_since(cursor)
    assert {p.external_id for p in posts} - {first["name"], old["name"]} == {d["name"] for d in new}
    assert cursor["streams"]["new:siteforge"]["fullname"] == new[-1]["name"]
    afters = [s.query.get("after") for s in fake.seen if s.path == "/r/siteforge/new"][1:]
    assert afters[0] is None and all(afters[1:]) and len(afters) == 4  # 36 items, pages of 10


def test_a_failed_listing_keeps_its_watermark(fake: RedditFake) -> None:
    fake.page_size = 5
    channel = channel_for(fake)
    fake.add_submission("siteforge", "first")
    _, cursor = channel.fetch_since({})
    new = [fake.add_submission("siteforge", f"q{i}") for i in range(12)]
    fake.inject(Fault(status=503, path="/r/siteforge/new", skip=1, times=3))  # page 2 fails, retries too
    posts, mid = channel.fetch_since(cursor)
    assert mid["streams"]["new:siteforge"] == cursor["streams"]["new:siteforge"]
    assert "new:siteforge" in mid["stream_errors"]
    more, done = channel.fetch_since(mid)
    assert {d["name"] for d in new} <= {p.external_id for p in posts + more}
    assert done["stream_errors"] == {}


def test_our_own_comments_are_skipped_and_search_works(fake: RedditFake) -> None:
    sub = fake.add_submission("other", "Siteforge domain question", "how do I connect a domain?")
    fake.add_comment(sub["name"], "see the article", author=OUR_NAME)
    mine = fake.add_comment(sub["name"], "thanks", author="asker")
    channel = channel_for(fake, subreddits=["other"], queries=["domain"])
    posts, _cursor = channel.fetch_since({})
    ids = [p.external_id for p in posts]
    assert ids.count(sub["name"]) == 2 and mine["name"] in ids and len(ids) == 3  # new + search, deduped in DB
    search = next(s for s in fake.seen if s.path == "/r/other/search")
    assert search.query["q"] == "domain" and search.query["sort"] == "new"


def test_429_gives_a_reset_time_and_blocks_without_requests(fake: RedditFake) -> None:
    fake.inject(Fault(status=429, headers={"retry-after": "30"}, path="/r/"))
    channel = channel_for(fake)
    with pytest.raises(RateLimited) as info:
        channel.fetch_since({})
    assert info.value.reset_at and info.value.reset_at > time.time() + 20
    count = len(fake.seen)
    with pytest.raises(RateLimited):
        channel.fetch_since({})
    assert len(fake.seen) == count


@pytest.mark.parametrize("fault", [Fault(status=500, times=3), Fault(status=503, times=3),
                                   Fault(kind="timeout", times=3, delay=1.0), Fault(kind="invalid_json"),
                                   Fault(kind="truncated", times=3), Fault(kind="drop", times=3)],
                         ids=["500", "503", "timeout", "invalid-json", "truncated", "drop"])
def test_server_faults_are_transient(fake: RedditFake, fault: Fault) -> None:
    fake.add_submission("siteforge", "q")
    fault.path = "/r/"
    fake.inject(fault, Fault(**{**fault.__dict__, "times": 3}))  # both streams fail
    with pytest.raises(TransientChannelError):
        channel_for(fake).fetch_since({})


def test_retried_5xx_recovers_inside_prawcore(fake: RedditFake) -> None:
    fake.add_submission("siteforge", "q")
    fake.inject(Fault(status=503, path="/r/siteforge/new"))
    posts, cursor = channel_for(fake).fetch_since({})
    assert len(posts) == 1 and cursor["stream_errors"] == {}


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_mark_the_channel_unhealthy(fake: RedditFake, engine: Engine, status: int) -> None:
    fake.inject(Fault(status=status, path="/api/v1/access_token", times=10))
    channel = channel_for(fake)
    report = poll_channel(channel, engine=engine)
    assert report.error
    with session_scope(engine) as session:
        state = session.get(ChannelState, "reddit")
        assert state is not None and not state.healthy and "ChannelAuthError" in (state.last_error or "")
        assert "test-client_secret" not in (state.last_error or "")


def test_a_refused_listing_token_is_an_auth_error(fake: RedditFake) -> None:
    fake.inject(Fault(status=403, path="/r/", times=5))
    with pytest.raises(ChannelAuthError):
        channel_for(fake).fetch_since({})


def test_publish_replies_and_finds_the_reply_again(fake: RedditFake) -> None:
    sub = fake.add_submission("siteforge", "How do I reset my password?")
    com = fake.add_comment(sub["name"], "same question here?")
    channel = channel_for(fake)
    to_post = Reply(sub["name"], sub["name"], "See https://help.example.com/reset", "s1")
    to_comment = Reply(com["name"], sub["name"], "Here you go", "s2")
    assert channel.find_reply(to_post) is None
    ref = channel.publish(to_post)
    ref2 = channel.publish(to_comment)
    assert ref.startswith("t1_") and [c["name"] for c in fake.created] == [ref, ref2]
    assert fake.created[1]["parent_id"] == com["name"]
    assert channel.find_reply(to_post) == ref and channel.find_reply(to_comment) == ref2
    grant = [s.body.decode() for s in fake.seen if s.path == "/api/v1/access_token"]
    assert any("grant_type=password" in g for g in grant)
    fake.things[ref]["score"] = 5
    assert channel.fetch_engagement([ref])[ref]["score"] == 5


def test_publish_errors(fake: RedditFake) -> None:
    channel = channel_for(fake)
    with pytest.raises(PublishError, match="DELETED_COMMENT"):
        channel.publish(Reply("t1_gone", None, "hi", "k"))
    sub = fake.add_submission("siteforge", "q")
    fake.inject(Fault(status=403, path="/api/comment"))
    with pytest.raises(PublishError):
        channel.publish(Reply(sub["name"], None, "hi", "k"))
    wrong = channel_for(fake, password=SecretStr("nope"))
    with pytest.raises(ChannelAuthError):
        wrong.publish(Reply(sub["name"], None, "hi", "k"))
    with pytest.raises(PublishError, match="USERNAME"):
        channel_for(fake, username=None).publish(Reply(sub["name"], None, "hi", "k"))
    assert fake.created == []


def test_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotConfigured, match="disabled"):
        RedditChannel.from_settings(make_settings(tmp_path))
    body = '[reddit]\nenabled = true\nsubreddits = ["siteforge"]\n'
    with pytest.raises(NotConfigured, match="SIGNPOST_REDDIT__CLIENT_ID, SIGNPOST_REDDIT__CLIENT_SECRET"):
        RedditChannel.from_settings(make_settings(tmp_path, body))
    monkeypatch.setenv("SIGNPOST_REDDIT__CLIENT_ID", "id")
    monkeypatch.setenv("SIGNPOST_REDDIT__CLIENT_SECRET", "secret")
    (channel,) = RedditChannel.from_settings(make_settings(tmp_path, body))
    assert channel.name == "reddit" and not channel.can_publish
    with pytest.raises(ConfigError, match="user_agent"):
        RedditChannel.from_settings(make_settings(tmp_path, body + 'user_agent = "my bot"\n'))


def test_strip_links() -> None:
    assert strip_links("See [the guide](https://help.example.com/x) or https://x.io/a?b=1 now") == \
        "See the guide or now"

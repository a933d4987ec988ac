"""The X channel: the real tweepy Client against a local fake API v2 that misbehaves on purpose."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.errors import ChannelAuthError, NotConfigured, PublishError, RateLimited, TransientChannelError
from core.models import ChannelState
from core.settings import TwitterSettings
from listener.base import Reply
from listener.polling import poll_channel
from listener.twitter import TwitterChannel, make_client
from tests.factories import make_settings
from tests.fakes.api_fake import Fault
from tests.fakes.twitter_server import OUR_USER, TwitterFake

SECRETS = {k: SecretStr(f"test-{k}") for k in
           ("bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret")}


@pytest.fixture
def fake() -> Iterator[TwitterFake]:
    """A fake X API on 127.0.0.1."""
    with TwitterFake() as srv:
        yield srv


def channel_for(fake: TwitterFake, **options: Any) -> TwitterChannel:
    """A channel on the fake with a short client timeout."""
    values: dict[str, Any] = {"enabled": True, "api_url": fake.base_url, "queries": ["siteforge"], **SECRETS}
    values.update(options)
    settings = TwitterSettings(**values)
    return TwitterChannel(settings, client=make_client(settings, timeout=0.5))


def test_recorded_search_results_arrive_with_authors(fake: TwitterFake) -> None:
    recorded = fake.load_recorded()
    channel = channel_for(fake, queries=["tweepy"])
    posts, cursor = channel.fetch_since({})
    assert posts and all("tweepy" in p.text.lower() for p in posts)
    assert all(p.author is not None and p.author.handle and p.posted_at for p in posts)
    assert posts[0].external_id == str(max(t.id for t in recorded if "tweepy" in t.text.lower()))
    assert cursor["streams"]["search:tweepy"] == {"since_id": posts[0].external_id}
    request = next(s for s in fake.seen if s.path == "/2/tweets/search/recent")
    assert request.headers["authorization"] == "Bearer test-bearer_token"
    assert request.query["query"] == "(tweepy) -is:retweet"
    assert set(request.query["tweet.fields"].split(",")) >= {"lang", "conversation_id", "referenced_tweets"}
    assert request.query["expansions"] == "author_id" and request.query["user.fields"] == "username,name"


def test_paging_keeps_since_id_fixed_and_moves_it_to_the_first_newest_id(fake: TwitterFake) -> None:
    fake.page_size = 10
    fake.add_tweet("siteforge first")
    channel = channel_for(fake)
    _, cursor = channel.fetch_since({})
    since = cursor["streams"]["search:siteforge"]["since_id"]
    new = [fake.add_tweet(f"siteforge question {i}?") for i in range(35)]
    posts, cursor = channel.fetch_since(cursor)
    assert sorted(p.external_id for p in posts) == sorted(str(t.id) for t in new)
    searches = [s for s in fake.seen if s.path == "/2/tweets/search/recent"][1:]
    assert len(searches) == 4 and {s.query["since_id"] for s in searches} == {since}
    assert [s.query.get("next_token") is None for s in searches] == [True, False, False, False]
    assert cursor["streams"]["search:siteforge"] == {"since_id": str(new[-1].id)}
    assert channel.fetch_since(cursor)[0] == []


def test_a_crash_mid_paging_resumes_without_a_gap(fake: TwitterFake) -> None:
    fake.page_size = 10
    fake.add_tweet("siteforge first")
    channel = channel_for(fake)
    _, cursor = channel.fetch_since({})
    batch1 = [fake.add_tweet(f"siteforge a{i}") for i in range(25)]
    channel.max_pages = 1
    posts, mid = channel.fetch_since(cursor)
    assert len(posts) == 10 and "paging" in mid["streams"]["search:siteforge"]
    batch2 = [fake.add_tweet(f"siteforge b{i}") for i in range(5)]  # arrive while we are paging
    seen = {p.external_id for p in posts}
    for _ in range(5):
        more, mid = channel.fetch_since(mid)  # a fresh process would start from this stored cursor
        seen |= {p.external_id for p in more}
    assert seen == {str(t.id) for t in batch1 + batch2}


def test_retweets_and_our_own_posts_are_skipped(fake: TwitterFake) -> None:
    fake.add_tweet("@SiteforgeHelp hello", author_id="1")
    channel = channel_for(fake, queries=[], user_id=OUR_USER["id"])
    _, cursor = channel.fetch_since({})
    question = fake.add_tweet("@SiteforgeHelp how do I connect my domain?", author_id="2")
    fake.add_tweet("RT @SiteforgeHelp how do I connect", author_id="3", retweet_of=question.id)
    fake.add_tweet("@SiteforgeHelp thanks, see the article", author_id=OUR_USER["id"], reply_to=question.id)
    posts, _ = channel.fetch_since(cursor)
    assert [p.external_id for p in posts] == [str(question.id)]
    assert posts[0].author is not None and posts[0].author.handle == "user2"


def test_the_read_budget_stops_before_the_cap(fake: TwitterFake) -> None:
    fake.page_size = 10
    fake.add_tweet("siteforge first")
    channel = channel_for(fake, monthly_read_budget=25)
    _, cursor = channel.fetch_since({})
    for i in range(40):
        fake.add_tweet(f"siteforge {i}")
    _posts, cursor = channel.fetch_since(cursor)
    assert cursor["budget"]["used"] <= 25 and cursor["budget_exhausted"] is True
    requests_before = fake.count("GET")
    more, cursor = channel.fetch_since(cursor)
    assert more == [] and fake.count("GET") == requests_before
    assert "paging" in cursor["streams"]["search:siteforge"]  # resumes next month, no gap


def test_429_gives_the_reset_time_and_blocks_without_requests(fake: TwitterFake) -> None:
    reset = int(time.time()) + 900
    fake.inject(Fault(status=429, headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"}))
    channel = channel_for(fake)
    with pytest.raises(RateLimited) as info:
        channel.fetch_since({})
    assert info.value.reset_at == reset
    count = fake.count("GET")
    with pytest.raises(RateLimited):
        channel.fetch_since({})
    assert fake.count("GET") == count  # waited without calling the API again


@pytest.mark.parametrize("fault", [Fault(status=500), Fault(status=503), Fault(kind="timeout"),
                                   Fault(kind="invalid_json"), Fault(kind="truncated"), Fault(kind="drop")],
                         ids=["500", "503", "timeout", "invalid-json", "truncated", "drop"])
def test_server_faults_are_transient_and_keep_the_cursor(fake: TwitterFake, fault: Fault) -> None:
    fake.add_tweet("siteforge q")
    fake.inject(fault)
    with pytest.raises(TransientChannelError):
        channel_for(fake).fetch_since({"streams": {"search:siteforge": {"since_id": "5"}}})


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_mark_the_channel_unhealthy(fake: TwitterFake, engine: Engine, status: int) -> None:
    fake.inject(Fault(status=status, times=5))
    channel = channel_for(fake)
    with pytest.raises(ChannelAuthError):
        channel.fetch_since({})
    report = poll_channel(channel, engine=engine)
    assert report.error and str(status) in report.error
    with session_scope(engine) as session:
        state = session.get(ChannelState, "twitter")
        assert state is not None and not state.healthy and "ChannelAuthError" in (state.last_error or "")
        assert "test-" not in (state.last_error or "")


def test_pages_read_before_a_503_are_kept(fake: TwitterFake) -> None:
    fake.page_size = 10
    fake.add_tweet("siteforge first")
    channel = channel_for(fake)
    _, cursor = channel.fetch_since({})
    new = [fake.add_tweet(f"siteforge {i}") for i in range(25)]
    fake.inject(Fault(status=503, path="/2/tweets/search/recent", skip=1))
    posts, mid = channel.fetch_since(cursor)
    assert len(posts) == 10 and mid["streams"]["search:siteforge"]["paging"]["since_id"] == cursor["streams"][
        "search:siteforge"]["since_id"]
    rest, done = channel.fetch_since(mid)
    assert {p.external_id for p in posts + rest} == {str(t.id) for t in new}
    assert done["streams"]["search:siteforge"] == {"since_id": str(new[-1].id)}
    fake.inject(Fault(status=503))
    with pytest.raises(TransientChannelError):  # nothing read: the error is raised, the cursor kept
        channel.fetch_since(done)


def test_publish_replies_in_the_thread_and_can_be_found_again(fake: TwitterFake) -> None:
    question = fake.add_tweet("siteforge: how do I reset my password?", author_id="7")
    channel = channel_for(fake, user_id=OUR_USER["id"])
    reply = Reply(str(question.id), str(question.id), "Here is how: https://help.example.com/x", "s1")
    assert channel.find_reply(reply) is None
    ref = channel.publish(reply)
    assert [str(t.id) for t in fake.created] == [ref] and fake.created[0].reply_to == question.id
    post = next(s for s in fake.seen if s.method == "POST")
    assert post.headers["authorization"].startswith("OAuth ") and "test-consumer_key" in post.headers["authorization"]
    assert channel.find_reply(reply) == ref
    fake.tweets[int(ref)].metrics.update(like_count=3, reply_count=1)
    assert channel.fetch_engagement([ref]) == {ref: {"likes": 3, "replies": 1, "reposts": 0, "quotes": 0}}


def test_publish_errors(fake: TwitterFake) -> None:
    channel = channel_for(fake)
    reply = Reply("1", "1", "hi", "k")
    fake.inject(Fault(status=403, method="POST"))
    with pytest.raises(PublishError):
        channel.publish(reply)
    fake.inject(Fault(status=401, method="POST"))
    with pytest.raises(ChannelAuthError):
        channel.publish(reply)
    no_user = channel_for(fake, consumer_key=None)
    with pytest.raises(PublishError, match="CONSUMER_KEY"):
        no_user.publish(reply)
    assert fake.created == []


def test_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotConfigured, match="disabled"):
        TwitterChannel.from_settings(make_settings(tmp_path))
    on = make_settings(tmp_path, '[twitter]\nenabled = true\nqueries = ["siteforge"]\n')
    with pytest.raises(NotConfigured, match="SIGNPOST_TWITTER__BEARER_TOKEN is not set"):
        TwitterChannel.from_settings(on)
    monkeypatch.setenv("SIGNPOST_TWITTER__BEARER_TOKEN", "abc")
    (channel,) = TwitterChannel.from_settings(make_settings(tmp_path, '[twitter]\nenabled = true\nqueries = ["x"]\n'))
    assert channel.name == "twitter" and not channel.can_publish


def test_while_x_answers_429_the_other_channels_keep_polling(fake: TwitterFake, engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:

    from core.settings import Settings, WorkerSettings
    from listener.reddit import RedditChannel
    from signpost.context import AppContext
    from signpost.worker import build_scheduler
    from tests.fakes.reddit_server import RedditFake
    from tests.responders.publishing_helpers import settings_for

    fake.inject(Fault(status=429, headers={"x-rate-limit-reset": str(int(time.time()) + 3600)}, times=1000))
    with RedditFake() as rd:
        base = settings_for(fake, rd)
        settings = Settings(twitter=base.twitter, reddit=base.reddit, worker=WorkerSettings(jitter_seconds=0))
        twitter = channel_for(fake)
        reddit = RedditChannel(settings.reddit, timeout=0.5)
        for channel in (twitter, reddit):
            channel.interval_seconds = 1
        app_ctx = AppContext(settings)
        app_ctx.__dict__["engine"] = engine
        scheduler = build_scheduler(app_ctx, [twitter, reddit])  # type: ignore[list-item]
        runner = threading.Thread(target=scheduler.start, daemon=True)
        runner.start()
        try:
            done = threading.Event()
            for _ in range(300):  # wait (not a timing assertion) until reddit has been polled three times
                if rd.count("GET", "/r/siteforge/new") >= 3 and fake.count("GET") >= 1:
                    done.set()
                    break
                done.wait(0.05)
        finally:
            scheduler.shutdown(wait=False)
            runner.join(timeout=10)
        assert done.is_set(), (rd.count("GET", "/r/siteforge/new"), fake.count("GET"))
        assert fake.count("GET") == 1  # X was asked once, then the channel waited for the reset
        with session_scope(engine) as session:
            x_state = session.get(ChannelState, "twitter")
            r_state = session.get(ChannelState, "reddit")
            assert x_state is not None and "RateLimited" in (x_state.last_error or "") and x_state.healthy
            assert r_state is not None and r_state.last_error is None and r_state.last_poll_at is not None

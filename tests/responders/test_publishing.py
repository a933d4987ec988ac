"""Publishing approved suggestions at most once, against the fake X and Reddit APIs and a real database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from core.db import session_scope
from core.models import AuditEvent, Person, Post, Suggestion
from core.models import SuggestionStatus as S
from listener import registry
from listener.polling import poll_channel
from listener.twitter import TwitterChannel
from responders.publishing import publish_approved, publish_one
from signpost.cli import channels as channels_cli
from signpost.cli import publish as publish_cli
from signpost.context import AppContext
from tests.fakes.api_fake import Fault
from tests.fakes.reddit_server import RedditFake
from tests.fakes.twitter_server import OUR_USER, TwitterFake
from tests.responders.publishing_helpers import (
    Flaky,
    Killed,
    approve_posts,
    reddit_channel,
    settings_for,
    twitter_channel,
)

LATER = timedelta(minutes=11)


@pytest.fixture
def tw() -> Iterator[TwitterFake]:
    with TwitterFake() as srv:
        yield srv


def _status(engine: Engine, sid: int) -> Suggestion:
    with session_scope(engine) as session:
        s = session.get(Suggestion, sid)
        assert s is not None
        return s


def _actions(engine: Engine, sid: int) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent.action).where(AuditEvent.suggestion_id == sid)
                                 .order_by(col(AuditEvent.id))).all())


def _one_question(tw: TwitterFake, engine: Engine, publish: bool = True) -> tuple[int, object, object]:
    settings = settings_for(tw, publish=publish)
    channel = twitter_channel(settings)
    tw.add_tweet("siteforge: how do I connect my domain?", author_id="7")
    poll_channel(channel, engine=engine)
    (sid,) = approve_posts(engine)
    return sid, settings, channel


def test_dry_run_records_what_would_be_sent_once(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine, publish=False)
    first = publish_approved(settings, [channel], engine=engine)  # type: ignore[list-item]
    again = publish_approved(settings, [channel], engine=engine)  # type: ignore[list-item]
    assert first.outcomes == {sid: "dry_run"} and again.outcomes == {sid: "dry_run_recorded"}
    assert tw.created == [] and _status(engine, sid).status == S.APPROVED
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "dry_run")).one()
        assert event.detail["text"].startswith("This article") and event.detail["verdict"] == "go"


def test_publish_stores_the_external_id_and_never_repeats(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine)
    report = publish_approved(settings, [channel], engine=engine)  # type: ignore[list-item]
    assert report.outcomes == {sid: "published"}
    s = _status(engine, sid)
    assert s.status == S.PUBLISHED and s.external_ref == str(tw.created[0].id) and s.published_at
    assert publish_approved(settings, [channel], engine=engine).outcomes == {}  # type: ignore[list-item]
    assert len(tw.created) == 1 and _actions(engine, sid)[-2:] == ["publishing", "published"]


def test_two_racing_workers_publish_once(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def run() -> None:
        barrier.wait()
        outcomes.append(publish_one(sid, channel, settings=settings, engine=engine))  # type: ignore[arg-type]

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tw.created) == 1 and outcomes.count("published") == 1
    assert set(outcomes) <= {"published", "claimed_elsewhere"}


@pytest.mark.parametrize("kill", ["before", "after"])
def test_a_kill_around_the_call_is_resolved_by_looking_in_the_thread(tw: TwitterFake, engine: Engine,
                                                                     kill: str) -> None:
    sid, settings, channel = _one_question(tw, engine)
    flaky = Flaky(channel, kill_before=kill == "before", kill_after=kill == "after")
    with pytest.raises(Killed):
        publish_approved(settings, [flaky], engine=engine)  # type: ignore[list-item]
    assert _status(engine, sid).status == S.PUBLISHING
    early = publish_approved(settings, [channel], engine=engine)  # type: ignore[list-item]
    assert early.outcomes == {sid: "claimed_elsewhere"}  # the lease still holds
    late = publish_approved(settings, [channel], engine=engine,  # type: ignore[list-item]
                            now=datetime.now(UTC) + LATER)
    assert late.outcomes == {sid: "published_found" if kill == "after" else "published"}
    assert len(tw.created) == 1 and _status(engine, sid).external_ref == str(tw.created[0].id)
    assert "lease_reclaimed" in _actions(engine, sid)


def test_an_error_after_the_server_posted_is_uncertain_then_found(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine)
    tw.inject(Fault(status=503, method="POST", path="/2/tweets", after=True))
    assert publish_approved(settings, [channel], engine=engine).outcomes == {sid: "uncertain"}  # type: ignore
    later = publish_approved(settings, [channel], engine=engine, now=datetime.now(UTC) + LATER)  # type: ignore
    assert later.outcomes == {sid: "published_found"} and len(tw.created) == 1


def test_429_on_publish_retries_after_the_reset(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine)
    reset = int((datetime.now(UTC) + timedelta(minutes=2)).timestamp())
    tw.inject(Fault(status=429, method="POST", headers={"x-rate-limit-reset": str(reset)}))
    assert publish_approved(settings, [channel], engine=engine).outcomes == {sid: "rate_limited"}  # type: ignore
    soon = datetime.now(UTC) + timedelta(minutes=1)
    assert publish_one(sid, channel, settings=settings, engine=engine, now=soon) == "claimed_elsewhere"  # type: ignore
    after = datetime.fromtimestamp(reset + 1, UTC)
    assert publish_one(sid, channel, settings=settings, engine=engine, now=after) == "published"  # type: ignore
    assert len(tw.created) == 1


def test_a_refused_reply_fails_with_the_reason(tw: TwitterFake, engine: Engine) -> None:
    sid, settings, channel = _one_question(tw, engine)
    tw.inject(Fault(status=403, method="POST"))
    assert publish_approved(settings, [channel], engine=engine).outcomes == {sid: "failed"}  # type: ignore
    s = _status(engine, sid)
    assert s.status == S.FAILED and "403" in (s.reason or "")


def test_guardrails(tw: TwitterFake, engine: Engine) -> None:
    settings = settings_for(tw)
    channel = twitter_channel(settings)
    first = tw.add_tweet("siteforge how do I add products?", author_id="6")
    tw.add_tweet("siteforge and how do I add more?", author_id="8", conversation_id=first.id, reply_to=first.id)
    tw.add_tweet("siteforge opt-out person asks?", author_id="9")
    tw.add_tweet("siteforge from ourselves?", author_id="70")
    tw.add_tweet("siteforge seven-one asks?", author_id="7")
    tw.add_tweet("siteforge seven-two asks?", author_id="7")
    poll_channel(channel, engine=engine)
    with session_scope(engine) as session:
        for person in session.exec(select(Person)).all():
            person.opted_out = person.external_id == "9"
            if person.external_id == "70":
                person.external_id = OUR_USER["id"]
            session.add(person)
    ids = approve_posts(engine)
    with session_scope(engine) as session:
        by_text = {p.text.split()[1]: p.id for p in session.exec(select(Post)).all()}
        sid_of = {s.post_id: s.id for s in session.exec(select(Suggestion)).all()}
    report = publish_approved(settings, [channel], engine=engine)  # type: ignore[list-item]
    outcome = {word: report.outcomes[sid_of[pid]] for word, pid in by_text.items()}
    assert sorted([outcome["how"], outcome["and"]]) == ["published", "refused"]  # one reply per thread
    assert outcome["opt-out"] == "refused" and outcome["from"] == "refused"
    assert sorted([outcome["seven-one"], outcome["seven-two"]]) == ["deferred", "published"]  # cooldown
    assert len(tw.created) == 2 and len(ids) == 6
    refused = [w for w, o in outcome.items() if o == "refused"]
    assert all((_status(engine, sid_of[by_text[w]]).reason or "").startswith("guardrail:") for w in refused)
    deferred = next(sid_of[by_text[w]] for w, o in outcome.items() if o == "deferred")
    later = publish_one(deferred, channel, settings=settings, engine=engine,  # type: ignore[arg-type]
                        now=datetime.now(UTC) + timedelta(hours=25))
    assert later == "published" and len(tw.created) == 3


def test_reddit_publish_strips_links_in_no_link_subreddits(engine: Engine) -> None:
    with RedditFake() as rd:
        settings = settings_for(rd=rd)
        settings.reddit.no_link_subreddits = ["r/Siteforge"]
        channel = reddit_channel(settings)
        sub = rd.add_submission("siteforge", "How do I reset my password?")
        poll_channel(channel, engine=engine)
        (sid,) = approve_posts(engine, text="Reset it here: [the guide](https://help.example.com/reset) - good luck")
        assert publish_approved(settings, [channel], engine=engine).outcomes == {sid: "published"}  # type: ignore
        assert rd.created[0]["parent_id"] == sub["name"]
        assert rd.created[0]["body"] == "Reset it here: the guide - good luck"
        assert _status(engine, sid).external_ref == rd.created[0]["name"]


def test_cli_publish_and_channels_against_the_fake(tw: TwitterFake, engine: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sid, settings, _ = _one_question(tw, engine)
    monkeypatch.setattr(registry, "channel_classes", lambda: {"twitter": TwitterChannel})
    app_ctx = AppContext(settings)  # type: ignore[arg-type]
    app_ctx.__dict__["engine"] = engine
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = app_ctx

    publish_cli.register(app)
    channels_cli.register(app)
    result = CliRunner().invoke(app, ["publish"])
    assert result.exit_code == 0, result.output
    assert f"#{sid}: published" in result.output and len(tw.created) == 1
    assert _status(engine, sid).external_ref == str(tw.created[0].id)
    listed = CliRunner().invoke(app, ["channels", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["name"] == "twitter" and row["healthy"] is True and row["read_budget"]["used"] == 1
    assert "test-" not in listed.output


"""Processing: questions found, language detected, article matched, suggestion queued (or not)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import Person, Post, PostStatus, Suggestion
from knowledge.documents import ArticleDoc
from listener.polling import poll_channel
from listener.replay import ReplayChannel
from responders.pipeline import process_new_posts
from tests.factories import ARTICLES, FIXTURES_DIR, make_settings, seed_articles

POSTS = FIXTURES_DIR / "replay" / "posts.jsonl"


def _run(engine: Engine, tmp_path: Path) -> dict[str, Post]:
    settings = make_settings(tmp_path, "[matching]\nthreshold = 0.3\n")
    seed_articles(engine)
    poll_channel(ReplayChannel(POSTS), engine=engine)
    report = process_new_posts(settings, engine=engine)
    assert report.processed == 5
    with session_scope(engine) as session:
        return {p.external_id: p for p in session.exec(select(Post)).all()}


def test_questions_get_suggestions_in_their_language(engine: Engine, tmp_path: Path) -> None:
    posts = _run(engine, tmp_path)
    assert posts["t2"].status == PostStatus.NOT_QUESTION
    assert posts["t1"].status == PostStatus.SUGGESTED
    assert posts["f1"].lang == "es" and posts["f1"].status == PostStatus.SUGGESTED
    with session_scope(engine) as session:
        by_post = {s.post_id: s for s in session.exec(select(Suggestion)).all()}
        domain = by_post[posts["t1"].id]  # type: ignore[index]
        assert domain.status == "pending"
        assert domain.explanation["article_id"] == "connect-domain"
        assert "utm_source=twitter" in domain.link and domain.link in domain.reply_text
        assert domain.reply_text.startswith("Hi ana!")
        spanish = by_post[posts["f1"].id]  # type: ignore[index]
        assert spanish.lang == "es" and "/es/" in spanish.link and spanish.reply_text.startswith("¡Hola")
        reddit = by_post[posts["r1"].id]  # type: ignore[index]
        assert reddit.explanation["article_id"] == "reset-password"
        assert {a["article_id"] for a in reddit.alternatives}.isdisjoint({"reset-password"})
        ana = session.exec(select(Person).where(Person.handle == "ana")).one()
        assert ana.preferred_lang == "en"


def test_processing_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    _run(engine, tmp_path)
    settings = make_settings(tmp_path)
    assert process_new_posts(settings, engine=engine).processed == 0
    with session_scope(engine) as session:
        assert len(session.exec(select(Suggestion)).all()) == 4


def test_opted_out_person_gets_no_suggestion(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "[matching]\nthreshold = 0.3\n")
    seed_articles(engine)
    poll_channel(ReplayChannel(POSTS), engine=engine)
    with session_scope(engine) as session:
        ana = session.exec(select(Person).where(Person.handle == "ana")).one()
        ana.opted_out = True
        session.add(ana)
    process_new_posts(settings, engine=engine)
    with session_scope(engine) as session:
        skipped = session.exec(select(Post).where(Post.status == PostStatus.SKIPPED)).all()
        assert {p.external_id for p in skipped} == {"t1", "t3"}
        assert all("author opted out" in p.question_reasons for p in skipped)


def test_questions_outside_the_index_are_not_answered(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    seed_articles(engine, [
        a for a in ARTICLES if a.article_id == "cancel-plan"] + [
        ArticleDoc("invoices", "en", "Download your invoices", "https://help.example.com/en/invoices",
                   ("where can I find my invoices", "I need a VAT receipt for last month")),
    ])
    poll_channel(ReplayChannel(POSTS), engine=engine)
    report = process_new_posts(settings, engine=engine)
    assert report.statuses[PostStatus.SUGGESTED] == 0
    assert report.statuses[PostStatus.NO_MATCH] == 4


def test_semantic_engine_runs_the_same_pipeline(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, '[matching]\nengine = "semantic"\n')
    seed_articles(engine)
    poll_channel(ReplayChannel(POSTS), engine=engine)
    process_new_posts(settings, engine=engine)
    with session_scope(engine) as session:
        suggested = {s.explanation["article_id"] for s in session.exec(select(Suggestion)).all()}
    assert {"connect-domain", "reset-password"} <= suggested


def test_posts_from_our_own_accounts_are_never_answered(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "[matching]\nthreshold = 0.3\n")
    settings = settings.model_copy(update={"app": settings.app.model_copy(update={"own_accounts": ["@ANA"]})})
    seed_articles(engine)
    poll_channel(ReplayChannel(POSTS), engine=engine)
    process_new_posts(settings, engine=engine)
    with session_scope(engine) as session:
        skipped = session.exec(select(Post).where(Post.status == PostStatus.SKIPPED)).all()
        assert {p.external_id for p in skipped} == {"t1", "t3"}
        assert all("posted by our own account" in p.question_reasons for p in skipped)

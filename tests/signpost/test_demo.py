"""The demo: bundled data through the real pipeline, on a fresh SQLite file, with a summary."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from sqlmodel import select

from core.db import make_engine, session_scope
from core.models import Post, Suggestion
from signpost.demo import demo_file, print_summary, run_pipeline
from tests.factories import make_settings


def test_demo_data_is_well_formed() -> None:
    kb = [json.loads(line) for line in demo_file("kb.jsonl").read_text(encoding="utf-8").splitlines()]
    posts = [json.loads(line) for line in demo_file("posts.jsonl").read_text(encoding="utf-8").splitlines()]
    slugs = {a["id"] for a in kb}
    assert 25 <= len(slugs) <= 40
    assert {a["lang"] for a in kb} >= {"en", "es", "fr", "de"}
    assert 150 <= len(posts) <= 250
    assert {p["network"] for p in posts} == {"twitter", "reddit", "feed"}
    assert all(p["expected_article"] in slugs for p in posts if p["expected_article"])


def test_demo_pipeline_queues_suggestions_for_most_questions(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    summary = run_pipeline(settings)
    assert summary.posts == 200
    assert summary.labelled_questions_suggested / summary.labelled_questions >= 0.6
    assert summary.labelled_right / summary.labelled_answerable >= 0.6
    assert summary.questions == summary.suggestions + summary.no_match + summary.skipped
    with session_scope(make_engine(summary.database_url)) as session:
        suggestions = session.exec(select(Suggestion)).all()
        assert len(suggestions) == summary.suggestions
        assert all(s.status == "pending" and s.link in s.reply_text for s in suggestions)
        texts = [p.text.lower() for p in session.exec(select(Post)).all()]
        assert not any("<script" in t or "onerror=" in t or "<img" in t for t in texts)
    console = Console(record=True, width=120)
    print_summary(summary, console)
    assert "suggestions queued" in console.export_text()


def test_demo_starts_fresh_each_time(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = run_pipeline(settings)
    second = run_pipeline(settings)
    assert (first.posts, first.suggestions) == (second.posts, second.suggestions)

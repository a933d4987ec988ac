"""`signpost demo`: the whole pipeline on bundled data, with no credentials and a fresh SQLite file."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import make_engine, session_scope, upgrade
from core.models import Post, PostStatus, Suggestion
from core.settings import Settings
from knowledge.kbfiles import load_kb
from knowledge.store import import_docs
from listener.polling import poll_channel
from listener.replay import ReplayChannel
from responders.pipeline import process_new_posts

log = logging.getLogger(__name__)
DEMO_BATCH = 20
DEMO_ACCOUNTS = ["SiteforgeHelp", "Siteforge_Team", "siteforge", "siteforge-team"]


def demo_file(name: str) -> Path:
    """Path of a bundled demo data file."""
    return Path(str(files("signpost") / "demo_data" / name))


@dataclass
class DemoSummary:
    """What the demo run found, for printing and for tests."""

    posts: int = 0
    questions: int = 0
    suggestions: int = 0
    no_match: int = 0
    not_question: int = 0
    skipped: int = 0
    labelled_right: int = 0
    labelled_answerable: int = 0
    labelled_questions: int = 0
    labelled_questions_suggested: int = 0
    by_network: Counter[str] = field(default_factory=Counter)
    by_lang: Counter[str] = field(default_factory=Counter)
    database_url: str = ""

    @property
    def suggestion_rate(self) -> float:
        """Share of detected questions that got a suggestion."""
        return self.suggestions / self.questions if self.questions else 0.0


def _fresh_engine(settings: Settings) -> Engine:
    path = settings.app.data_dir / "demo.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    upgrade(engine)
    return engine


def _summarize(engine: Engine, posts_file: Path) -> DemoSummary:
    labels: dict[str, tuple[bool, str | None]] = {}
    for line in posts_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            labels[str(record["external_id"])] = (bool(record.get("is_question")), record.get("expected_article"))
    summary = DemoSummary(database_url=str(engine.url))
    with session_scope(engine) as session:
        rows = session.exec(select(Post, Suggestion).join(
            Suggestion, Suggestion.post_id == Post.id, isouter=True)).all()  # type: ignore[arg-type]
        for post, suggestion in rows:
            summary.posts += 1
            summary.by_network[post.network] += 1
            summary.by_lang[post.lang or "?"] += 1
            summary.questions += bool(post.is_question)
            summary.no_match += post.status == PostStatus.NO_MATCH
            summary.not_question += post.status == PostStatus.NOT_QUESTION
            summary.skipped += post.status == PostStatus.SKIPPED
            is_question, expected = labels.get(post.external_id, (False, None))
            summary.labelled_questions += is_question
            summary.labelled_answerable += bool(expected)
            if suggestion is not None:
                summary.suggestions += 1
                summary.labelled_questions_suggested += is_question
                summary.labelled_right += bool(expected) and suggestion.explanation.get("article_id") == expected
    return summary


def run_pipeline(settings: Settings, console: Console | None = None) -> DemoSummary:
    """Fresh database, demo knowledge base, every sample post replayed and processed."""
    if not settings.app.own_accounts:  # the fictional company's own support accounts in the sample
        settings = settings.model_copy(update={"app": settings.app.model_copy(update={"own_accounts": DEMO_ACCOUNTS})})
    engine = _fresh_engine(settings)
    with session_scope(engine) as session:
        import_docs(load_kb(demo_file("kb.jsonl")), settings.app.default_language, session=session)
    posts_file = demo_file("posts.jsonl")
    total = sum(1 for line in posts_file.read_text(encoding="utf-8").splitlines() if line.strip())
    channel = ReplayChannel(posts_file, name="demo-replay", batch_size=DEMO_BATCH)
    with Progress(TextColumn("replaying sample posts"), BarColumn(), MofNCompleteColumn(),
                  console=console, disable=console is None, transient=False) as progress:
        task = progress.add_task("replay", total=total)
        while True:
            report = poll_channel(channel, engine=engine)
            if report.error:
                raise RuntimeError(report.error)
            if report.fetched == 0:
                break
            process_new_posts(settings, engine=engine)
            progress.advance(task, report.fetched)
    return _summarize(engine, posts_file)


def print_summary(summary: DemoSummary, console: Console) -> None:
    """The demo's summary table."""
    table = Table(title="Signpost demo summary", show_header=False)
    table.add_row("posts replayed", str(summary.posts))
    table.add_row("  by network", ", ".join(f"{k} {v}" for k, v in sorted(summary.by_network.items())))
    table.add_row("  by language", ", ".join(f"{k} {v}" for k, v in summary.by_lang.most_common()))
    table.add_row("questions detected", str(summary.questions))
    table.add_row("suggestions queued", f"{summary.suggestions} ({summary.suggestion_rate:.0%} of questions)")
    table.add_row("questions with no confident match", str(summary.no_match))
    table.add_row("not questions (noise)", str(summary.not_question))
    table.add_row("skipped (own account, opted out, errors)", str(summary.skipped))
    if summary.labelled_questions:
        share = summary.labelled_questions_suggested / summary.labelled_questions
        table.add_row("labelled questions with a suggestion",
                      f"{summary.labelled_questions_suggested} of {summary.labelled_questions} ({share:.0%})")
        table.add_row("right article (labelled sample)",
                      f"{summary.labelled_right} of {summary.labelled_answerable} answerable posts")
    table.add_row("database", summary.database_url)
    console.print(table)


def run_demo(settings: Settings, serve: bool, console: Console) -> DemoSummary:
    """Run the demo, print the summary, then (unless told not to) say how to work the queue."""
    summary = run_pipeline(settings, console)
    print_summary(summary, console)
    db = summary.database_url
    console.print(f"Work the queue: DATABASE_URL={db} signpost queue list", markup=False, highlight=False)
    if serve:
        from signpost.web.server import context_for, serve_dashboard

        serve_dashboard(context_for(settings, summary.database_url), console)
    return summary

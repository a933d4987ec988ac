"""`signpost kb …`: import, export and try out the knowledge index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.db import session_scope
from core.errors import KnowledgeError
from knowledge.kbfiles import dump_kb, load_kb
from knowledge.store import import_docs, load_docs
from signpost.cli import kb_eval
from signpost.context import AppContext

app = typer.Typer(help="The knowledge index of help articles.", no_args_is_help=True)
console = Console()


@app.command("import")
def import_(ctx: typer.Context, path: Path) -> None:
    """Add or update articles from a JSONL or CSV file (nothing is deleted)."""
    app_ctx: AppContext = ctx.obj
    docs = load_kb(path)
    with session_scope(app_ctx.engine) as session:
        report = import_docs(docs, app_ctx.settings.app.default_language, session=session)
    console.print(f"{len(docs)} variants read: {report.articles_created} new articles, "
                  f"{report.variants_created} new and {report.variants_updated} updated variants")


@app.command("export")
def export(ctx: typer.Context, path: Path) -> None:
    """Write the whole index to a JSONL or CSV file."""
    with session_scope(ctx.obj.engine) as session:
        docs = load_docs(session=session)
    dump_kb(docs, path)
    console.print(f"{len(docs)} variants written to {path}")


def describe_explanation(explanation: dict[str, Any], top: int = 3) -> str:
    """A reviewer-friendly line: matched words, the closest example or synonym, the strongest signals."""
    parts = []
    if explanation.get("matched_terms"):
        parts.append("matched words: " + ", ".join(explanation["matched_terms"][:12]))
    if explanation.get("best_match"):
        parts.append(f"closest example: \u201c{explanation['best_match']}\u201d")
    shares = sorted((explanation.get("shares") or {}).items(), key=lambda kv: -kv[1])[:top]
    if shares:
        parts.append("strongest signals: " + ", ".join(f"{name} {share:.0%}" for name, share in shares if share > 0))
    return "\n".join(parts) or "no explanation"


@app.command("test")
def test(
    ctx: typer.Context,
    question: str,
    lang: Annotated[str | None, typer.Option(help="language of the question (default: detected)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the top candidates for a question, with scores and why they matched."""
    from listener.language import detect_language
    from responders.pipeline import matcher_for, threshold

    app_ctx: AppContext = ctx.obj
    settings = app_ctx.settings
    if lang is None:
        lang = detect_language(question, settings.app.languages, min_confidence=0.5)[0]
    with session_scope(app_ctx.engine) as session:
        matcher = matcher_for(settings, session=session)
        if matcher is None:
            raise KnowledgeError("the knowledge index is empty: import articles with `signpost kb import FILE`")
        cut = threshold(settings, matcher.engine, session=session)
    result = matcher.match(question, lang=lang, k=settings.matching.top_k)
    if as_json:
        print(json.dumps({"lang": result.lang, "fell_back": result.fell_back, "threshold": cut,
                          "candidates": [c.__dict__ for c in result.candidates]}, ensure_ascii=False))
        return
    note = " (no articles in that language: fell back)" if result.fell_back else ""
    console.print(f"engine {matcher.engine}; language {result.lang}{note}; threshold {cut:.2f}")
    table = Table("#", "article", "score", "why", show_lines=True)
    for i, c in enumerate(result.candidates, 1):
        flag = "" if c.score >= cut else " (below threshold)"
        table.add_row(str(i), f"{c.title}\n{c.article_id} [{c.lang}]", f"{c.score:.2f}{flag}",
                      describe_explanation(c.explanation))
    console.print(table)
    if not result.candidates or result.candidates[0].score < cut:
        console.print("no article is confident enough: Signpost would not suggest a reply")


kb_eval.register(app)

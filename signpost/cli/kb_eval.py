"""`signpost kb eval` and `signpost kb calibrate`: score the matcher on labelled questions."""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.db import session_scope
from core.errors import KnowledgeError, SignpostError
from core.models import Calibration
from knowledge.calibration import choose_threshold
from knowledge.defaults import default_threshold
from knowledge.documents import ArticleDoc
from knowledge.evaluation import evaluate, metrics, run_matches, scored_items
from knowledge.kbfiles import load_kb, load_questions
from knowledge.matcher import build_matcher
from knowledge.store import load_docs, save_calibration
from signpost.context import AppContext

log = logging.getLogger(__name__)

KbOption = Annotated[
    Path | None, typer.Option("--kb", help="Knowledge index file (JSONL or CSV); default: the live index.")
]
QuestionsOption = Annotated[
    list[Path], typer.Option("--questions", help="Labelled question files (JSONL or CSV); repeatable.")
]
EngineOption = Annotated[
    str, typer.Option("--engine", help="Matching engine: lexical, or semantic (needs the 'semantic' extra).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def _fail(exc: Exception) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


def _print_table(title: str, data: dict[str, Any]) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in data.items():
        if isinstance(value, (list, dict)):
            continue
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    pairs = data.get("confused_pairs") or []
    if pairs:
        confused = Table(title="Most confused articles")
        for column in ("expected", "predicted", "count"):
            confused.add_column(column)
        for pair in pairs:
            confused.add_row(pair["expected"], pair["predicted"], str(pair["count"]))
        console.print(confused)


def _all_question_files(ctx: typer.Context, questions: list[Path]) -> list[Path]:
    """`--questions a b c` as the contract spells it: files after the first are extra arguments."""
    extra = [arg for arg in ctx.args if not arg.startswith("-")]
    unknown = [arg for arg in ctx.args if arg.startswith("-")]
    if unknown:
        raise typer.BadParameter(f"unknown option(s): {' '.join(unknown)}")
    return [*questions, *(Path(arg) for arg in extra)]


def _docs(ctx: typer.Context, kb: Path | None) -> list[ArticleDoc]:
    """Articles from `--kb FILE`, else from the live knowledge index in the database."""
    if kb is not None:
        return load_kb(kb)
    app_ctx: AppContext = ctx.obj
    with session_scope(app_ctx.engine) as session:
        docs = load_docs(session=session)
    if not docs:
        raise KnowledgeError("the live knowledge index is empty: pass --kb FILE or run `signpost kb import`")
    return docs


def eval_command(
    ctx: typer.Context,
    questions: QuestionsOption,
    kb: KbOption = None,
    engine: EngineOption = "lexical",
    threshold: Annotated[float | None, typer.Option("--threshold", help="Abstention threshold.")] = None,
    given_language: Annotated[
        bool, typer.Option("--given-language", help="Use each question's lang field instead of detecting it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score the matcher on labelled questions: top-1/top-3, abstention, language routing, speed."""
    try:
        t = default_threshold(engine) if threshold is None else threshold
        files = _all_question_files(ctx, questions)
        result = evaluate(_docs(ctx, kb), load_questions(files), engine, t, given_language)
    except SignpostError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(f"kb eval ({engine})", result)


def calibrate_command(
    ctx: typer.Context,
    questions: QuestionsOption,
    kb: KbOption = None,
    engine: EngineOption = "lexical",
    target_precision: Annotated[
        float | None,
        typer.Option("--target-precision", help="Lowest threshold whose abstention precision ≥ P."),
    ] = None,
    given_language: Annotated[bool, typer.Option("--given-language", help="Use the lang field.")] = False,
    save: Annotated[bool, typer.Option("--save", help="Store the threshold with the live index (used from now on).")
                    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Find the abstention threshold with the best F1 (or reaching a target precision) on these questions."""
    try:
        qs = load_questions(_all_question_files(ctx, questions))
        if all(q.expected_id is not None for q in qs):
            raise _fail(ValueError("calibration needs out-of-scope questions (expected_id null)"))
        matcher = build_matcher(_docs(ctx, kb), engine=engine)
        results, _ = run_matches(matcher, qs, given_language)
    except SignpostError as exc:
        raise _fail(exc) from exc
    best = choose_threshold(scored_items(qs, results), target_precision)
    out = metrics(qs, results, best["threshold"])
    out.update({"engine": engine, "shipped_threshold": default_threshold(engine)})
    if target_precision is not None:
        out["target_precision"] = target_precision
    out.pop("confused_pairs", None)
    if save:
        with session_scope(ctx.obj.engine) as session:
            save_calibration(Calibration(
                engine=engine, threshold=float(best["threshold"]), target_precision=target_precision,
                abstain_f1=out.get("abstain_f1"), abstain_precision=out.get("abstain_precision"),
                top1=out.get("top1"), questions=len(qs), created_by=getpass.getuser() or "cli"), session=session)
        out["saved"] = True
    if as_json:
        typer.echo(json.dumps(out))
    else:
        _print_table(f"kb calibrate ({engine})", out)


def register(kb_app: typer.Typer) -> None:
    """Add the `eval` and `calibrate` commands to the `kb` command group."""
    extra = {"allow_extra_args": True, "ignore_unknown_options": False}
    kb_app.command("eval", context_settings=extra)(eval_command)
    kb_app.command("calibrate", context_settings=extra)(calibrate_command)

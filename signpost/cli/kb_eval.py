"""`signpost kb eval` and `signpost kb calibrate`: score the matcher on labelled questions."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.errors import SignpostError
from knowledge.calibration import choose_threshold
from knowledge.defaults import default_threshold
from knowledge.evaluation import evaluate, metrics, run_matches, scored_items
from knowledge.kbfiles import load_kb, load_questions
from knowledge.matcher import build_matcher

log = logging.getLogger(__name__)

KbOption = Annotated[Path, typer.Option("--kb", help="Knowledge index file (JSONL or CSV).")]
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


def eval_command(
    ctx: typer.Context,
    kb: KbOption,
    questions: QuestionsOption,
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
        result = evaluate(load_kb(kb), load_questions(files), engine, t, given_language)
    except SignpostError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(f"kb eval ({engine})", result)


def calibrate_command(
    ctx: typer.Context,
    kb: KbOption,
    questions: QuestionsOption,
    engine: EngineOption = "lexical",
    target_precision: Annotated[
        float | None,
        typer.Option("--target-precision", help="Lowest threshold whose abstention precision ≥ P."),
    ] = None,
    given_language: Annotated[bool, typer.Option("--given-language", help="Use the lang field.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Find the abstention threshold with the best F1 (or reaching a target precision) on these questions."""
    try:
        qs = load_questions(_all_question_files(ctx, questions))
        if all(q.expected_id is not None for q in qs):
            raise _fail(ValueError("calibration needs out-of-scope questions (expected_id null)"))
        matcher = build_matcher(load_kb(kb), engine=engine)
        results, _ = run_matches(matcher, qs, given_language)
    except SignpostError as exc:
        raise _fail(exc) from exc
    best = choose_threshold(scored_items(qs, results), target_precision)
    out = metrics(qs, results, best["threshold"])
    out.update({"engine": engine, "shipped_threshold": default_threshold(engine)})
    if target_precision is not None:
        out["target_precision"] = target_precision
    out.pop("confused_pairs", None)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        _print_table(f"kb calibrate ({engine})", out)


def register(kb_app: typer.Typer) -> None:
    """Add the `eval` and `calibrate` commands to the `kb` command group."""
    extra = {"allow_extra_args": True, "ignore_unknown_options": False}
    kb_app.command("eval", context_settings=extra)(eval_command)
    kb_app.command("calibrate", context_settings=extra)(calibrate_command)

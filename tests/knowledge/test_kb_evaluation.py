"""evaluate() metrics on a tiny hand-computable set, threshold choice, and the `kb eval` CLI JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from knowledge.calibration import Scored, abstention_metrics, choose_threshold
from knowledge.documents import LabeledQuestion
from knowledge.evaluation import evaluate
from knowledge.kbfiles import load_kb
from signpost.cli.kb_eval import register

QUESTIONS = [
    LabeledQuestion("I lost my card", "lost-card"),
    LabeledQuestion("where can I get cash out", "atm-withdrawal"),
    LabeledQuestion("my wallet was stolen with my card in it", "atm-withdrawal"),  # labelled wrong on purpose
    LabeledQuestion("what size wipers does this car take", None),
]


@pytest.mark.parametrize(("threshold", "precision", "recall", "in_scope_at_t", "overall"),
                         [(0.0, 0.0, 0.0, 2 / 3, 2 / 4), (1.01, 1 / 4, 1.0, 0.0, 1 / 4)])  # fmt: skip
def test_evaluate_hand_computed(
    eval_dir: Path, threshold: float, precision: float, recall: float, in_scope_at_t: float, overall: float
) -> None:
    docs = [d for d in load_kb(eval_dir / "kb_demo.jsonl") if d.lang == "en"]
    result = evaluate(docs, QUESTIONS, "lexical", threshold, given_language=False)
    assert result["n"] == 4 and result["top1"] == pytest.approx(2 / 3) and result["top3"] == 1.0
    assert result["abstain_precision"] == pytest.approx(precision)
    assert result["abstain_recall"] == pytest.approx(recall)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    assert result["abstain_f1"] == pytest.approx(f1)
    assert result["in_scope_accuracy_at_t"] == pytest.approx(in_scope_at_t)
    assert result["overall_accuracy"] == pytest.approx(overall)
    assert result["confused_pairs"] == [{"expected": "atm-withdrawal", "predicted": "lost-card", "count": 1}]
    assert "lang_accuracy" not in result and result["qps"] > 0


def test_evaluate_multilingual_reports_language_accuracy(eval_dir: Path) -> None:
    from knowledge.kbfiles import load_questions

    docs = load_kb(eval_dir / "kb_multi.jsonl")
    questions = load_questions([eval_dir / "dev_multi.jsonl"])
    given = evaluate(docs, questions, "lexical", 0.0, given_language=True)
    assert given["lang_accuracy"] == 1.0 and "abstain_f1" not in given
    detected = evaluate(docs, questions, "lexical", 0.0, given_language=False)
    assert 0.0 < detected["lang_accuracy"] <= 1.0


def test_threshold_choice() -> None:
    items = [
        Scored(0.9, True, False),
        Scored(0.8, True, False),
        Scored(0.3, False, True),
        Scored(0.6, False, True),
    ]
    best = choose_threshold(items)
    assert best["abstain_f1"] == 1.0 and 0.6 < best["threshold"] <= 0.8
    assert abstention_metrics(items, 0.5)["abstain_recall"] == 0.5
    assert choose_threshold(items, target_precision=1.0)["threshold"] <= 0.6 + 1e-3


def _app() -> typer.Typer:
    app, kb = typer.Typer(), typer.Typer()
    register(kb)
    app.add_typer(kb, name="kb")
    return app


def test_cli_eval_json(eval_dir: Path) -> None:
    args = ["kb", "eval", "--kb", str(eval_dir / "kb.jsonl"), "--questions", str(eval_dir / "dev.jsonl"),
            "--questions", str(eval_dir / "dev_oos.jsonl"), "--json"]  # fmt: skip
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("n", "top1", "top3", "abstain_precision", "abstain_recall", "abstain_f1", "qps", "threshold",
                "engine", "in_scope_accuracy_at_t", "overall_accuracy", "confused_pairs"):  # fmt: skip
        assert key in data
    assert data["n"] == 60 and data["top1"] > 0.5


def test_cli_calibrate_and_errors(eval_dir: Path, tmp_path: Path) -> None:
    args = ["kb", "calibrate", "--kb", str(eval_dir / "kb.jsonl"), "--questions", str(eval_dir / "dev.jsonl"),
            "--questions", str(eval_dir / "dev_oos.jsonl"), "--json"]  # fmt: skip
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert 0.0 <= json.loads(result.stdout)["threshold"] <= 1.0
    table = CliRunner().invoke(_app(), args[:-1])
    assert table.exit_code == 0 and "abstain_f1" in table.stdout
    bad = CliRunner().invoke(_app(), ["kb", "eval", "--kb", str(tmp_path / "missing.jsonl"), "--questions",
                                      str(eval_dir / "dev.jsonl")])  # fmt: skip
    assert bad.exit_code == 1

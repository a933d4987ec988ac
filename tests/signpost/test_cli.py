"""The CLI end to end on a real database: settings errors, kb import/test, queue, poll --once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from core.db import make_engine, session_scope
from core.models import Calibration, Suggestion
from knowledge.kbfiles import dump_kb
from signpost.cli import app
from tests.factories import ARTICLES, FIXTURES_DIR, write_settings

runner = CliRunner()


def _signpost(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-c", "from signpost.cli import main; main()", *args],
                          capture_output=True, text=True, env=full_env, timeout=120)


@pytest.mark.parametrize("body", ['[twitter]\nqueris = ["x"]\n', '[matching]\ntop_k = "many"\n'])
def test_bad_settings_stop_with_one_line_and_exit_2(tmp_path: Path, body: str) -> None:
    path = write_settings(tmp_path, body)
    proc = _signpost("--settings", str(path), "db", "upgrade")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0]
    assert ("queris" in lines[0]) or ("top_k" in lines[0])


def test_enabled_channel_without_secret_is_skipped_with_warning(tmp_path: Path) -> None:
    feed = FIXTURES_DIR / "replay" / "posts.jsonl"
    path = write_settings(tmp_path, f'[replay]\nenabled = true\npath = "{feed}"\n[twitter]\nenabled = true\n'
                          'queries = ["siteforge"]\n')
    proc = _signpost("--settings", str(path), "poll", "--once",
                     env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SIGNPOST_LOG_LEVEL": "WARNING"})
    assert proc.returncode == 0, proc.stderr
    assert "replay: 5 fetched, 5 new" in proc.stdout
    warning = next(line for line in proc.stderr.splitlines() if "channel twitter skipped" in line)
    assert "WARNING" in warning and "SIGNPOST_TWITTER__BEARER_TOKEN" in warning


def test_kb_import_test_and_queue_flow(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    kb = tmp_path / "kb.jsonl"
    dump_kb(ARTICLES, kb)
    feed = FIXTURES_DIR / "replay" / "posts.jsonl"
    settings = write_settings(tmp_path, f'[replay]\nenabled = true\npath = "{feed}"\n[matching]\nthreshold = 0.3\n')
    base = ["--settings", str(settings)]
    result = runner.invoke(app, [*base, "kb", "import", str(kb)])
    assert result.exit_code == 0, result.output
    assert "4 new articles" in result.output
    result = runner.invoke(app, [*base, "kb", "test", "how do I connect my own domain", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["candidates"][0]["article_id"] == "connect-domain"
    assert 0 <= shown["candidates"][0]["score"] <= 1 and shown["candidates"][0]["explanation"]
    result = runner.invoke(app, [*base, "poll", "--once"])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, [*base, "queue", "list", "--json"]).output)
    assert len(listed) == 4 and all(item["status"] == "pending" for item in listed)
    first, second = listed[0]["id"], listed[1]["id"]
    assert runner.invoke(app, [*base, "queue", "edit", str(first), "Edited reply", "--as", "maria"]).exit_code == 0
    assert runner.invoke(app, [*base, "queue", "approve", str(first), "--as", "maria"]).exit_code == 0
    result = runner.invoke(app, [*base, "queue", "reject", str(second), "--reason", "wrong article"])
    assert result.exit_code == 0, result.output
    shown_text = runner.invoke(app, [*base, "queue", "show", str(first)]).output
    assert "Edited reply" in shown_text and "maria: approved" in shown_text
    with session_scope(make_engine(db_url)) as session:
        assert session.get(Suggestion, first).status == "approved"  # type: ignore[union-attr]
        assert session.get(Suggestion, second).reason == "wrong article"  # type: ignore[union-attr]
    result = runner.invoke(app, [*base, "queue", "approve", str(second)])
    assert result.exit_code != 0


def test_kb_eval_contract_takes_several_files_after_one_flag() -> None:
    eval_dir = FIXTURES_DIR / "eval"
    result = runner.invoke(app, ["kb", "eval", "--kb", str(eval_dir / "kb.jsonl"), "--questions",
                                 str(eval_dir / "dev.jsonl"), str(eval_dir / "dev_oos.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    lines = sum(1 for name in ("dev.jsonl", "dev_oos.jsonl") for _ in (eval_dir / name).open())
    assert out["n"] == lines
    for key in ("top1", "top3", "abstain_precision", "abstain_recall", "abstain_f1", "qps"):
        assert out[key] >= 0 and (key == "qps" or out[key] <= 1)
    multi = runner.invoke(app, ["kb", "eval", "--kb", str(eval_dir / "kb_multi.jsonl"), "--questions",
                                str(eval_dir / "dev_multi.jsonl"), "--json"])
    assert "lang_accuracy" in json.loads(multi.output)


def test_kb_test_on_the_demo_index_shows_the_domain_article_first(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from signpost.demo import demo_file

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    assert runner.invoke(app, ["kb", "import", str(demo_file("kb.jsonl"))]).exit_code == 0
    table = runner.invoke(app, ["kb", "test", "how do I connect my own domain"], terminal_width=200)
    assert table.exit_code == 0, table.output
    first = table.output.split("│ 1 ", 1)[1].split("│ 2 ", 1)[0]  # row 1, however its cells wrap
    assert "connect-custom-domain" in first and "Connect your own" in first
    assert "matched words:" in table.output and "closest example" in table.output
    shown = json.loads(runner.invoke(app, ["kb", "test", "how do I connect my own domain", "--json"]).output)
    best = shown["candidates"][0]
    assert best["article_id"] == "connect-custom-domain" and best["score"] >= shown["threshold"]


def test_calibrate_on_the_live_index_stores_the_threshold_in_force(db_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    eval_dir = FIXTURES_DIR / "eval"
    assert runner.invoke(app, ["kb", "import", str(eval_dir / "kb.jsonl")]).exit_code == 0
    questions = [str(eval_dir / "dev.jsonl"), str(eval_dir / "dev_oos.jsonl")]
    live = runner.invoke(app, ["kb", "eval", "--questions", *questions, "--json"])
    assert live.exit_code == 0, live.output
    assert json.loads(live.output)["n"] > 0
    result = runner.invoke(app, ["kb", "calibrate", "--questions", *questions, "--target-precision", "0.95",
                                 "--save", "--json"])
    assert result.exit_code == 0, result.output
    chosen = json.loads(result.output)
    assert chosen["saved"] is True and chosen["abstain_precision"] >= 0.95
    shown = json.loads(runner.invoke(app, ["kb", "test", "my card has not arrived yet", "--json"]).output)
    assert shown["threshold"] == pytest.approx(chosen["threshold"])
    with session_scope(make_engine(db_url)) as session:
        row = session.exec(select(Calibration)).one()
        assert row.engine == "lexical" and row.questions == chosen["n"]


def test_live_eval_on_an_empty_index_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["kb", "eval", "--questions", str(FIXTURES_DIR / "eval" / "dev.jsonl")])
    assert result.exit_code == 1
    assert "empty" in result.output


def test_settings_option_works_after_the_command_too(tmp_path: Path) -> None:
    from signpost.cli import hoist_global_options

    moved = hoist_global_options(["poll", "--once", "--settings", "x.toml"])
    assert moved == ["--settings", "x.toml", "poll", "--once"]
    assert hoist_global_options(["kb", "test", "--settings=x.toml", "q"]) == ["--settings=x.toml", "kb", "test", "q"]
    path = write_settings(tmp_path, '[matching]\ntop_k = "many"\n')
    proc = _signpost("db", "upgrade", "--settings", str(path))
    assert proc.returncode == 2 and "top_k" in proc.stderr

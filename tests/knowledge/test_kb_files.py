"""Loading and writing knowledge-base and question files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import KnowledgeError
from knowledge.documents import ArticleDoc
from knowledge.kbfiles import dump_kb, load_kb, load_questions


def test_load_eval_kb_defaults_to_english(eval_dir: Path) -> None:
    docs = load_kb(eval_dir / "kb.jsonl")
    assert len(docs) == 12
    assert all(d.lang == "en" and d.examples and d.url.startswith("https://") for d in docs)
    assert docs[0].synonyms == ()


def test_load_multilingual_kb_ignores_extra_keys(eval_dir: Path) -> None:
    docs = load_kb(eval_dir / "kb_multi.jsonl")
    assert {d.lang for d in docs} == {"en", "de", "nl", "ja"}
    assert len({(d.article_id, d.lang) for d in docs}) == len(docs)


def test_load_demo_kb_with_synonyms(eval_dir: Path) -> None:
    docs = load_kb(eval_dir / "kb_demo.jsonl")
    atm = next(d for d in docs if d.article_id == "atm-withdrawal" and d.lang == "en")
    assert "cash machine" in atm.synonyms


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_round_trip(tmp_path: Path, eval_dir: Path, suffix: str) -> None:
    docs = load_kb(eval_dir / "kb_demo.jsonl") + load_kb(eval_dir / "kb_multi.jsonl")
    path = tmp_path / f"kb{suffix}"
    dump_kb(docs, path)
    assert load_kb(path) == docs


def test_csv_with_pipe_separated_lists(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(
        "id,lang,title,url,examples,synonyms\n"
        'atm,en,"ATM help",https://x.example/atm,"where is an atm|cash please",cash machine\n',
        encoding="utf-8",
    )
    [doc] = load_kb(path)
    examples = ("where is an atm", "cash please")
    assert doc == ArticleDoc("atm", "en", "ATM help", "https://x.example/atm", examples, ("cash machine",))


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('{"id": "a", "title": "A", "url": "u"}\n{"id": "b", "title": "B"\n', 2),
        ('{"id": "a", "title": "A"}\n\n{"title": "no id"}\n', 3),
        ('["not", "an", "object"]\n', 1),
        ('{"id": "a", "title": "A", "examples": "ok"}\n{"id": "a", "title": "again"}\n', 2),
        ('{"id": "a", "title": "A", "examples": [1, 2]}\n', 1),
    ],
)
def test_bad_kb_names_file_and_line(tmp_path: Path, content: str, line: int) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=rf"bad\.jsonl:{line}:"):
        load_kb(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        load_kb(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="no articles"):
        load_kb(tmp_path / "empty.jsonl")


def test_load_questions_jsonl_and_csv(tmp_path: Path, eval_dir: Path) -> None:
    qs = load_questions([eval_dir / "dev.jsonl", eval_dir / "dev_oos.jsonl", eval_dir / "dev_multi.jsonl"])
    assert sum(q.expected_id is None for q in qs) == 12
    assert {q.lang for q in qs} == {None, "en", "de", "nl", "ja"}
    csv_path = tmp_path / "q.csv"
    csv_path.write_text(
        "text,expected_id,lang\nwhere is my card,card_arrival,en\nweather?,,\n", encoding="utf-8"
    )
    first, second = load_questions([csv_path])
    assert (first.expected_id, first.lang) == ("card_arrival", "en")
    assert (second.expected_id, second.lang) == (None, None)


def test_bad_question_file(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "ok", "expected_id": null}\n{"expected_id": "x"}\n', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"q\.jsonl:2:"):
        load_questions([path])

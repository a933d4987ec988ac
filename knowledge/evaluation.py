"""Scoring a matcher on labelled questions: top-k accuracy, abstention, language routing and speed."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from knowledge.calibration import Scored, abstention_metrics
from knowledge.documents import ArticleDoc, LabeledQuestion, MatchResult
from knowledge.matcher import Matcher, build_matcher

log = logging.getLogger(__name__)

TOP_CONFUSED = 10


def run_matches(
    matcher: Matcher, questions: Sequence[LabeledQuestion], given_language: bool
) -> tuple[list[MatchResult], float]:
    """Match every question one at a time; returns the results and the questions per second."""
    results: list[MatchResult] = []
    start = time.perf_counter()
    for q in questions:
        results.append(matcher.match(q.text, q.lang if given_language else None, k=3))
    elapsed = time.perf_counter() - start
    return results, (len(questions) / elapsed if elapsed > 0 else float("inf"))


def scored_items(questions: Sequence[LabeledQuestion], results: Sequence[MatchResult]) -> list[Scored]:
    """Per question: top-1 confidence, whether top-1 is right, and whether it is out of scope."""
    items = []
    for q, r in zip(questions, results, strict=True):
        best = r.best
        items.append(
            Scored(
                confidence=best.score if best else 0.0,
                correct=best is not None and best.article_id == q.expected_id,
                out_of_scope=q.expected_id is None,
            )
        )
    return items


def metrics(
    questions: Sequence[LabeledQuestion], results: Sequence[MatchResult], threshold: float
) -> dict[str, Any]:
    """The contract's metrics for already computed results (no qps)."""
    in_scope = [(q, r) for q, r in zip(questions, results, strict=True) if q.expected_id is not None]
    n_in = len(in_scope)
    top1 = sum(1 for q, r in in_scope if r.best and r.best.article_id == q.expected_id)
    top3 = sum(1 for q, r in in_scope if q.expected_id in [c.article_id for c in r.candidates[:3]])
    out: dict[str, Any] = {
        "n": len(questions),
        "n_in_scope": n_in,
        "top1": top1 / n_in if n_in else 0.0,
        "top3": top3 / n_in if n_in else 0.0,
    }
    items = scored_items(questions, results)
    at_t = abstention_metrics(items, threshold)
    if n_in < len(questions):
        out.update({k: at_t[k] for k in ("abstain_precision", "abstain_recall", "abstain_f1")})
    out["threshold"] = threshold
    out["in_scope_accuracy_at_t"] = at_t["in_scope_accuracy_at_t"]
    out["overall_accuracy"] = at_t["overall_accuracy"]
    with_lang = [(q, r) for q, r in zip(questions, results, strict=True) if q.lang]
    if with_lang:
        out["lang_accuracy"] = sum(1 for q, r in with_lang if r.lang == q.lang) / len(with_lang)
    confused: Counter[tuple[str, str]] = Counter()
    for q, r in in_scope:
        if r.best and r.best.article_id != q.expected_id:
            confused[(str(q.expected_id), r.best.article_id)] += 1
    out["confused_pairs"] = [
        {"expected": e, "predicted": p, "count": c} for (e, p), c in confused.most_common(TOP_CONFUSED)
    ]
    return out


def evaluate(
    docs: Sequence[ArticleDoc],
    questions: Sequence[LabeledQuestion],
    engine: str,
    threshold: float,
    given_language: bool,
    default_lang: str = "en",
) -> dict[str, Any]:
    """Build a matcher over `docs`, match `questions` and return the evaluation JSON of the contract."""
    matcher = build_matcher(docs, engine=engine, default_lang=default_lang)
    results, qps = run_matches(matcher, questions, given_language)
    out = metrics(questions, results, threshold)
    out["engine"] = engine
    out["given_language"] = given_language
    out["qps"] = round(qps, 1)
    log.info("evaluated %d questions: top1=%.3f top3=%.3f", out["n"], out["top1"], out["top3"])
    return out

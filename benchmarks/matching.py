"""Matching benchmark on shared/eval: accuracy, 5-fold CV, multilingual, qps at 77/5,000 articles, build."""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.calibration import fit_lexical
from knowledge.defaults import default_threshold
from knowledge.documents import ArticleDoc, LabeledQuestion
from knowledge.evaluation import evaluate
from knowledge.kbfiles import load_kb, load_questions
from knowledge.matcher import LexicalMatcher, build_matcher

log = logging.getLogger(__name__)

FOLDS = 5
EXAMPLES_PER_ARTICLE = 10


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "top1", "top3", "abstain_precision", "abstain_recall", "abstain_f1")
    keys += ("in_scope_accuracy_at_t", "overall_accuracy", "lang_accuracy", "qps")
    return {
        k: round(result[k], 4) if isinstance(result[k], float) else result[k] for k in keys if k in result
    }


def cross_validate(
    kb: list[ArticleDoc],
    dev: list[LabeledQuestion],
    oos: list[LabeledQuestion],
    engine: str = "lexical",
    seed: int = 13,
) -> dict[str, Any]:
    """Rotate which texts are the articles' examples: per article, pool examples + dev questions, 5 folds."""
    pools: dict[str, list[str]] = defaultdict(list)
    for doc in kb:
        pools[doc.article_id].extend(doc.examples)
    for q in dev:
        if q.expected_id:
            pools[q.expected_id].append(q.text)
    rng = random.Random(seed)
    for texts in pools.values():
        rng.shuffle(texts)
    threshold = default_threshold(engine)
    folds = []
    for fold in range(FOLDS):
        docs, questions = [], []
        for doc in kb:
            texts = pools[doc.article_id]
            start = fold * len(texts) // FOLDS
            chosen = {(start + i) % len(texts) for i in range(min(EXAMPLES_PER_ARTICLE, len(texts)))}
            examples = tuple(texts[i] for i in sorted(chosen))
            docs.append(ArticleDoc(doc.article_id, doc.lang, doc.title, doc.url, examples, doc.synonyms))
            questions.extend(
                LabeledQuestion(t, doc.article_id) for i, t in enumerate(texts) if i not in chosen
            )
        folds.append(_summary(evaluate(docs, questions + oos, engine, threshold, given_language=False)))
    keys = ("top1", "top3", "abstain_f1")
    return {"folds": folds, "mean": {k: round(mean(f[k] for f in folds), 4) for k in keys},
            "min": {k: min(f[k] for f in folds) for k in keys}}  # fmt: skip


def synthetic_kb(kb: list[ArticleDoc], texts: list[str], size: int, seed: int = 7) -> list[ArticleDoc]:
    """`size` articles whose titles and examples are drawn from the eval texts, with distinct ids."""
    rng = random.Random(seed)
    titles = [d.title for d in kb]
    return [
        ArticleDoc(
            f"synthetic-{i}",
            "en",
            rng.choice(titles),
            f"https://help.example.com/articles/synthetic-{i}",
            tuple(rng.sample(texts, EXAMPLES_PER_ARTICLE)),
        )
        for i in range(size)
    ]


def speed(
    kb: list[ArticleDoc], dev: list[LabeledQuestion], size: int, n_questions: int, engine: str = "lexical"
) -> dict[str, float]:
    """Index build time and single-thread questions/s against a synthetic index of `size` articles."""
    texts = [t for d in kb for t in d.examples] + [q.text for q in dev]
    docs = synthetic_kb(kb, texts, size)
    start = time.perf_counter()
    matcher = build_matcher(docs, engine=engine)
    build = time.perf_counter() - start
    questions = [q.text for q in dev[:n_questions]]
    start = time.perf_counter()
    for text in questions:
        matcher.match(text)
    elapsed = time.perf_counter() - start
    return {"articles": size, "build_seconds": round(build, 2), "qps": round(len(questions) / elapsed, 1)}


def _fit(engine: str, kb: list[ArticleDoc], questions: list[LabeledQuestion]) -> dict[str, Any]:
    """Refit the shipped parameters of `engine` on the dev questions."""
    if engine == "lexical":
        return fit_lexical(LexicalMatcher(kb), questions)
    from knowledge.semantic import SemanticMatcher
    from knowledge.semantic_fit import fit_semantic

    return fit_semantic(SemanticMatcher(kb), questions)


def main() -> None:
    """Run every measurement and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--engine", choices=("lexical", "semantic"), default="lexical")
    parser.add_argument("--fit", action="store_true", help="refit the shipped parameters of --engine")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    eval_dir: Path = args.eval_dir
    kb = load_kb(eval_dir / "kb.jsonl")
    dev = load_questions([eval_dir / "dev.jsonl"])
    oos = load_questions([eval_dir / "dev_oos.jsonl"])
    engine: str = args.engine
    if engine == "semantic":
        import torch  # one thread, as the targets are stated; only the benchmark sets this

        torch.set_num_threads(1)
    if args.fit:
        print(json.dumps(_fit(engine, kb, dev + oos)))
        return
    threshold = default_threshold(engine)
    report: dict[str, Any] = {"engine": engine, "threshold": threshold}
    report["dev"] = _summary(evaluate(kb, dev + oos, engine, threshold, given_language=False))
    multi_dir = eval_dir / "lang"
    if (multi_dir / "kb_multi.jsonl").exists():
        kb_multi = load_kb(multi_dir / "kb_multi.jsonl")
        dev_multi = load_questions([multi_dir / "dev_multi.jsonl"])
        report["multilingual"] = {
            "given": _summary(evaluate(kb_multi, dev_multi, engine, threshold, given_language=True)),
            "detected": _summary(evaluate(kb_multi, dev_multi, engine, threshold, given_language=False)),
        }
    if not args.skip_cv:
        report["cv5"] = cross_validate(kb, dev, oos, engine)
    big = 1000 if engine == "lexical" else 200
    report["speed"] = [speed(kb, dev, 77, 2000, engine), speed(kb, dev, 5000, big, engine)]
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""The question -> article matcher: language routing, lexical ranking and a bounded confidence."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import KnowledgeError
from knowledge import defaults
from knowledge.documents import ArticleDoc, Candidate, MatchResult
from knowledge.lexical import FloatArray
from knowledge.signals import BASE_FEATURES, FEATURES, STAGE1, STAGE2, LanguageIndex, Query

log = logging.getLogger(__name__)

CONFIDENCE_FEATURES = ("score", "margin", "word_ex", "char_ex", "cover", "known")
# Signal sets of the lexical engine: "full" (shipped) or "base" (the first release's, see defaults.SEMANTIC_LEXICAL_*).
PROFILES = {"full": FEATURES, "base": BASE_FEATURES}


@dataclass(frozen=True)
class Ranked:
    """Ranked article rows of one language index for a question, with their signals."""

    articles: np.ndarray
    scores: FloatArray
    values: FloatArray
    best_units: list[int]
    known: float


class Matcher(Protocol):
    """Anything that ranks the articles of a knowledge index for a question."""

    engine: str

    def match(self, text: str, lang: str | None = None, k: int = 3) -> MatchResult:
        """The best `k` articles for `text` in language `lang` (detected when None)."""
        ...


def confidence_inputs(values: FloatArray, scores: FloatArray, known: float) -> FloatArray:
    """Confidence features per ranked row: its score, its margin over the best other, and signals."""
    n = len(scores)
    margins = np.zeros(n, dtype=np.float32)
    if n > 1:
        margins[0] = scores[0] - scores[1]
        margins[1:] = scores[1:] - scores[0]
    col = {name: i for i, name in enumerate(FEATURES)}
    return np.column_stack(
        [scores, margins, values[:, col["word_ex"]], values[:, col["char_ex"]], values[:, col["cover"]],
         np.full(n, known, dtype=np.float32)]
    ).astype(np.float32)  # fmt: skip


class LexicalMatcher:
    """BM25 + nearest-text word/character signals + rapidfuzz re-ranking, per language."""

    engine = "lexical"

    def __init__(
        self,
        docs: Sequence[ArticleDoc],
        default_lang: str = "en",
        weights: Mapping[str, float] | None = None,
        confidence: Mapping[str, float] | None = None,
        depth: int = defaults.RERANK_DEPTH,
        fuzz_depth: int = defaults.FUZZ_DEPTH,
        profile: str = "full",
    ) -> None:
        """Index `docs` per language and rank with the signals of `profile` (a PROFILES key).

        Weights/confidence default to the shipped calibration of the full profile.
        """
        if not docs:
            raise KnowledgeError("the knowledge index has no articles")
        if profile not in PROFILES:
            raise KnowledgeError(f"unknown lexical profile {profile!r} (known: {', '.join(PROFILES)})")
        self.profile = profile
        self.features = PROFILES[profile]
        by_lang: dict[str, list[ArticleDoc]] = {}
        for doc in docs:
            by_lang.setdefault(doc.lang, []).append(doc)
        self.indexes = {lang: LanguageIndex(lang, group) for lang, group in by_lang.items()}
        self.default_lang = default_lang if default_lang in self.indexes else sorted(self.indexes)[0]
        w = dict(defaults.RANK_WEIGHTS if weights is None else weights)
        self.weights = np.asarray([w.get(f, 0.0) for f in self.features], dtype=np.float32)
        c = dict(defaults.CONFIDENCE_COEFS if confidence is None else confidence)
        self.conf_intercept = float(c.get("intercept", 0.0))
        self.conf_coefs = np.asarray([c.get(f, 0.0) for f in CONFIDENCE_FEATURES], dtype=np.float32)
        self.depth = depth
        self.fuzz_depth = fuzz_depth
        log.info("lexical matcher: %d articles in %s", len(docs), ", ".join(sorted(self.indexes)))

    @property
    def languages(self) -> list[str]:
        """Languages that have articles."""
        return sorted(self.indexes)

    def route(self, text: str, lang: str | None) -> tuple[str, bool]:
        """The language whose articles to search, and whether it is the default fallback."""
        if lang is None:
            if len(self.indexes) == 1:
                return self.default_lang, False
            from listener.language import detect_language

            try:
                lang, _ = detect_language(text, self.languages)
            except ValueError:
                lang = None
        lang = (lang or "").lower()
        if lang in self.indexes:
            return lang, False
        return self.default_lang, True

    def rank(self, index: LanguageIndex, query: Query) -> Ranked:
        """Articles of `index` ranked for a prepared question, with blended scores and signal rows."""
        if not query.words and not query.grams:
            return Ranked(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32),
                          np.zeros((0, len(self.features)), dtype=np.float32), [], 0.0)  # fmt: skip
        stage1 = index.stage1(query)
        partial = stage1 @ self.weights[: len(STAGE1)]
        depth = min(self.depth, len(index))
        top = np.argpartition(-partial, depth - 1)[:depth] if depth < len(index) else np.arange(len(index))
        values, best_units = self.signal_values(index, query, stage1, top)
        scores = values @ self.weights
        order = np.argsort(-scores, kind="stable")
        return Ranked(top[order], scores[order], values[order], [best_units[i] for i in order],
                      index.known_share(query))  # fmt: skip

    def signal_values(
        self, index: LanguageIndex, query: Query, stage1: FloatArray, rows: np.ndarray
    ) -> tuple[FloatArray, list[int]]:
        """All signals of the given article rows (fuzzy only for the best `fuzz_depth`) and their best texts."""
        stage2, best_units = index.stage2(query, rows)
        n_fixed = len(STAGE1) + len(STAGE2)
        fill = np.zeros((len(rows), len(self.features) - n_fixed), dtype=np.float32)
        values = np.hstack([stage1[rows], stage2, fill])
        partial = values @ self.weights
        fuzzy = np.argsort(-partial, kind="stable")[: self.fuzz_depth]
        values[fuzzy, n_fixed:] = index.fuzzy(query, rows[fuzzy], extended=self.profile == "full")
        return values, best_units

    def confidences(self, values: FloatArray, scores: FloatArray, known: float) -> list[float]:
        """Bounded, non-increasing confidences of ranked rows."""
        z = self.conf_intercept + confidence_inputs(values, scores, known) @ self.conf_coefs
        probs = np.minimum.accumulate(1.0 / (1.0 + np.exp(-np.clip(z.astype(np.float64), -500.0, 500.0))))
        return [float(p) for p in probs]

    def match(self, text: str, lang: str | None = None, k: int = 3) -> MatchResult:
        """The best `k` articles for `text` among the articles in its language."""
        use_lang, fell_back = self.route(text or "", lang)
        index = self.indexes[use_lang]
        query = index.prepare(text or "")
        ranked = self.rank(index, query)
        k = max(0, k)
        probs = self.confidences(ranked.values[:k], ranked.scores[:k], ranked.known) if k else []
        n = min(k, len(ranked.articles))
        reasons = self.explain(index, query, ranked.articles[:n], ranked.values[:n], ranked.best_units[:n])
        candidates: list[Candidate] = []
        for article, prob, reason in zip(ranked.articles[:n].tolist(), probs, reasons, strict=False):
            doc = index.docs[article]
            candidates.append(Candidate(doc.article_id, doc.lang, doc.title, doc.url, round(prob, 6), reason))
        return MatchResult(candidates, use_lang, fell_back)

    def explain(
        self, index: LanguageIndex, query: Query, articles: np.ndarray, values: FloatArray, units: Sequence[int]
    ) -> list[dict[str, Any]]:
        """JSON-serializable reasons per ranked row: matched terms, best matching text and each signal's share."""
        contrib = np.maximum(values * self.weights, 0.0)
        totals = contrib.sum(axis=1, keepdims=True)
        shares = np.round(contrib / np.where(totals > 0, totals, 1.0), 4).tolist()
        signals = np.round(values, 4).tolist()
        words = set(query.words)
        return [
            {
                "matched_terms": sorted(words & index.vocab[article]),
                "best_match": index.unit_raw[unit] if unit >= 0 else None,
                "signals": dict(zip(self.features, signal, strict=True)),
                "shares": dict(zip(self.features, share, strict=True)),
            }
            for article, unit, signal, share in zip(articles.tolist(), units, signals, shares, strict=True)
        ]


def available_engines() -> list[str]:
    """The matching engines that work with what is installed."""
    from knowledge.encoder import semantic_available

    return [e for e in defaults.ENGINES if e != "semantic" or semantic_available()]


def resolve_engine(name: str) -> tuple[str, str | None]:
    """The engine to use for `name` and a note to show once when it falls back to lexical."""
    if name not in defaults.ENGINES:
        raise KnowledgeError(f"unknown matching engine {name!r} (known: {', '.join(defaults.ENGINES)})")
    if name in available_engines():
        return name, None
    return "lexical", f"matching engine {name!r} is not installed; using 'lexical' (pip install 'signpost[{name}]')"


def build_matcher(
    docs: Sequence[ArticleDoc], engine: str = "lexical", default_lang: str = "en", cache_dir: Path | None = None
) -> Matcher:
    """A matcher of `engine` over `docs` (semantic embeddings cached under `cache_dir`); KnowledgeError if unusable."""
    if engine == "lexical":
        return LexicalMatcher(docs, default_lang=default_lang)
    if engine == "semantic":
        from knowledge.encoder import INSTALL_HINT, semantic_available

        if not semantic_available():
            raise KnowledgeError(INSTALL_HINT)
        if not docs:
            raise KnowledgeError("the knowledge index has no articles")
        from knowledge.semantic import SemanticMatcher

        return SemanticMatcher(docs, default_lang=default_lang, cache_dir=cache_dir)
    raise KnowledgeError(f"unknown matching engine {engine!r} (known: {', '.join(defaults.ENGINES)})")

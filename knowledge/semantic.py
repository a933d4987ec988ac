"""The semantic matcher: sentence-embedding similarities blended with the lexical engine's score."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import defaults
from knowledge.documents import ArticleDoc, Candidate, MatchResult
from knowledge.embeddings import Encoder, embed_texts
from knowledge.lexical import FloatArray, group_lse, group_max
from knowledge.matcher import LexicalMatcher
from knowledge.signals import LanguageIndex, Query

log = logging.getLogger(__name__)

# Per (question, article): cosine to the nearest text, soft maximum over its texts and cosine to the centroid,
# each on raw embeddings and on embeddings whitened by the articles' within-article spread; plus the lexical
# engine's blended score (divided by LEXICAL_SCALE).
FEATURES = ("cos_max", "cos_lse", "cos_centroid", "wcos_max", "wcos_lse", "wcos_centroid", "lexical")
CONFIDENCE_FEATURES = ("score", "margin", "cos_max", "cos_centroid")
LEXICAL_SCALE = 10.0


def _unit_rows(matrix: FloatArray) -> FloatArray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def whitening(units: FloatArray, owner: np.ndarray, shrink: float = defaults.WHITEN_SHRINK) -> FloatArray:
    """Inverse square root of the shrunk within-article covariance (identity when articles have one text)."""
    dim = units.shape[1]
    counts = np.bincount(owner, minlength=int(owner.max()) + 1 if len(owner) else 0)
    spread = counts[owner] > 1 if len(owner) else np.zeros(0, dtype=bool)
    if int(spread.sum()) < 2:
        return np.eye(dim, dtype=np.float32)
    sums = np.zeros((len(counts), dim))
    np.add.at(sums, owner, units)
    means = sums / np.maximum(counts, 1)[:, None]
    dev = (units - means[owner])[spread].astype(np.float64)
    cov = dev.T @ dev / len(dev)
    vals, vecs = np.linalg.eigh(cov)
    vals = np.maximum(vals, 0.0)
    lam = max(shrink * float(vals.mean()), 1e-9)
    return ((vecs * (vals + lam) ** -0.5) @ vecs.T).astype(np.float32)


class SemanticIndex:
    """Embeddings of one language's article texts (aligned with the lexical index's texts) and centroids."""

    def __init__(self, lexical: LanguageIndex, units: FloatArray) -> None:
        """Derive centroids and the whitened space from the text embeddings of `lexical`'s articles."""
        self.starts = lexical.starts
        n_docs = len(lexical)
        counts = (lexical.ends - lexical.starts).astype(np.int64)
        self.owner = np.repeat(np.arange(n_docs), counts)
        self.units = units
        self.whiten = whitening(units, self.owner)
        self.wunits = _unit_rows(units @ self.whiten)
        self.centroids = self._centroids(units, n_docs)
        self.wcentroids = self._centroids(self.wunits, n_docs)

    def _centroids(self, units: FloatArray, n_docs: int) -> FloatArray:
        sums = np.zeros((n_docs, units.shape[1]), dtype=np.float32)
        np.add.at(sums, self.owner, units)
        return _unit_rows(sums)

    def signals(self, vector: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per article the semantic FEATURES but "lexical" (zero), and the cosine of every text."""
        n_docs = len(self.centroids)
        sims = self.units @ vector
        wvec = _unit_rows(vector @ self.whiten)
        wsims = self.wunits @ wvec
        out = np.zeros((n_docs, len(FEATURES)), dtype=np.float32)
        out[:, 0] = group_max(sims, self.starts, n_docs)
        out[:, 1] = group_lse(sims, self.starts, n_docs, defaults.SEMANTIC_LSE_BETA)
        out[:, 2] = self.centroids @ vector
        out[:, 3] = group_max(wsims, self.starts, n_docs)
        out[:, 4] = group_lse(wsims, self.starts, n_docs, defaults.SEMANTIC_LSE_BETA)
        out[:, 5] = self.wcentroids @ wvec
        return out, sims

    def nearest(self, sims: FloatArray, article: int) -> int:
        """The index of the article's text closest to the question, -1 when it has none."""
        start = int(self.starts[article])
        end = int(self.starts[article + 1]) if article + 1 < len(self.starts) else len(self.units)
        return start + int(np.argmax(sims[start:end])) if end > start else -1


class SemanticMatcher:
    """MiniLM sentence embeddings (nearest text, centroid, whitened) blended with the lexical ranking."""

    engine = "semantic"

    def __init__(
        self,
        docs: Sequence[ArticleDoc],
        default_lang: str = "en",
        encoder: Encoder | None = None,
        cache_dir: Path | None = None,
        weights: Mapping[str, float] | None = None,
        confidence: Mapping[str, float] | None = None,
        depth: int = defaults.SEMANTIC_DEPTH,
    ) -> None:
        """Index `docs` lexically and embed every title/synonym/example once (cached by content)."""
        if encoder is None:
            from knowledge.encoder import get_encoder

            encoder = get_encoder()
        self.encoder = encoder
        # The semantic weights were fitted on the first release's lexical score, so this engine pins its own
        # lexical profile (signals, weights, depths) instead of following the lexical engine's refits.
        self.lexical = LexicalMatcher(
            docs,
            default_lang=default_lang,
            weights=defaults.SEMANTIC_LEXICAL_WEIGHTS,
            depth=defaults.SEMANTIC_LEXICAL_DEPTH,
            fuzz_depth=defaults.SEMANTIC_LEXICAL_FUZZ_DEPTH,
            profile="base",
        )
        self.default_lang = self.lexical.default_lang
        self.indexes: dict[str, SemanticIndex] = {}
        for lang, index in self.lexical.indexes.items():
            units = embed_texts(encoder, index.unit_texts, cache_dir)
            self.indexes[lang] = SemanticIndex(index, units)
        w = dict(defaults.SEMANTIC_WEIGHTS if weights is None else weights)
        self.weights = np.asarray([w.get(f, 0.0) for f in FEATURES], dtype=np.float32)
        c = dict(defaults.SEMANTIC_CONFIDENCE if confidence is None else confidence)
        self.conf_intercept = float(c.get("intercept", 0.0))
        self.conf_coefs = np.asarray([c.get(f, 0.0) for f in CONFIDENCE_FEATURES], dtype=np.float32)
        self.depth = depth
        log.info("semantic matcher: %d articles, model %s", len(docs), encoder.model_id)

    @property
    def languages(self) -> list[str]:
        """Languages that have articles."""
        return self.lexical.languages

    def embed_question(self, query: Query) -> FloatArray:
        """The unit-length embedding of a prepared question."""
        return self.encoder.encode([query.text])[0]

    def signal_rows(
        self, lang: str, query: Query, vector: FloatArray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, FloatArray, FloatArray]:
        """Candidate rows (all when `rows` is None, else the given), their FEATURES and every text's cosine."""
        lexical = self.lexical
        index = lexical.indexes[lang]
        semantic, sims = self.indexes[lang].signals(vector)
        stage1 = index.stage1(query)
        if rows is None:
            n = len(index)
            depth = min(self.depth, n)
            sem_partial = semantic @ self.weights
            lex_partial = stage1 @ lexical.weights[: stage1.shape[1]]
            picks = [np.argpartition(-sem_partial, depth - 1)[:depth]]
            if query.words:
                lex_depth = min(lexical.depth, n)
                picks.append(np.argpartition(-lex_partial, lex_depth - 1)[:lex_depth])
            rows = np.unique(np.concatenate(picks)) if depth < n else np.arange(n)
        values = semantic[rows]
        if query.words or query.grams:
            lex_values, _ = lexical.signal_values(index, query, stage1, rows)
            values[:, -1] = (lex_values @ lexical.weights) / LEXICAL_SCALE
        return rows, values, sims

    def confidences(self, values: FloatArray, scores: FloatArray) -> list[float]:
        """Bounded, non-increasing confidences of ranked rows."""
        margins = np.zeros(len(scores), dtype=np.float32)
        if len(scores) > 1:
            margins[0] = scores[0] - scores[1]
            margins[1:] = scores[1:] - scores[0]
        x = np.column_stack([scores, margins, values[:, 0], values[:, 2]])
        z = self.conf_intercept + x @ self.conf_coefs
        probs = [1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, float(v))))) for v in z]
        for i in range(1, len(probs)):
            probs[i] = min(probs[i], probs[i - 1])
        return probs

    def match(self, text: str, lang: str | None = None, k: int = 3) -> MatchResult:
        """The best `k` articles for `text` among the articles in its language."""
        use_lang, fell_back = self.lexical.route(text or "", lang)
        index = self.lexical.indexes[use_lang]
        query = index.prepare(text or "")
        k = max(0, k)
        if not query.text or not k:
            return MatchResult([], use_lang, fell_back)
        vector = self.embed_question(query)
        rows, values, sims = self.signal_rows(use_lang, query, vector)
        scores = values @ self.weights
        order = np.argsort(-scores, kind="stable")[: max(k, 2)]
        probs = self.confidences(values[order], scores[order])
        candidates: list[Candidate] = []
        for rank, row in enumerate(order[:k]):
            article = int(rows[row])
            doc = index.docs[article]
            reasons = self.explain(use_lang, query, article, values[row], sims)
            candidates.append(Candidate(doc.article_id, doc.lang, doc.title, doc.url, round(probs[rank], 6), reasons))
        return MatchResult(candidates, use_lang, fell_back)

    def explain(
        self, lang: str, query: Query, article: int, values: FloatArray, sims: FloatArray
    ) -> dict[str, Any]:
        """JSON-serializable reasons: nearest text and its cosine, matched terms and each signal's share."""
        index = self.lexical.indexes[lang]
        contrib = np.maximum(values * self.weights, 0.0)
        total = float(contrib.sum()) or 1.0
        unit = self.indexes[lang].nearest(sims, article)
        return {
            "matched_terms": sorted({w for w in query.words if w in index.vocab[article]}),
            "best_match": index.unit_raw[unit] if unit >= 0 else None,
            "best_match_cosine": round(float(sims[unit]), 4) if unit >= 0 else None,
            "signals": {f: round(float(v), 4) for f, v in zip(FEATURES, values, strict=True)},
            "shares": {f: round(float(c) / total, 4) for f, c in zip(FEATURES, contrib, strict=True)},
        }

"""Per-language lexical index of articles and the generic matching signals computed from it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from knowledge.documents import ArticleDoc
from knowledge.lexical import FloatArray, IntArray, SparseIndex, encode, group_lse, group_max, ranges
from knowledge.normalize import char_ngrams, normalize, word_bigrams, word_tokens

log = logging.getLogger(__name__)

# Signals of one (question, article) pair, roughly in [0, 1]. Stage 1 is computed for every article,
# stage 2 only for the best stage-1 candidates.
STAGE1 = ("bm25", "bm25_rel", "word_doc", "cover", "title_recall")
STAGE2 = ("word_ex", "word_lse", "char_doc", "char_ex")
STAGE3 = ("fuzz",)
FEATURES = STAGE1 + STAGE2 + STAGE3
_BM25_K1 = 1.2


@dataclass(frozen=True)
class Query:
    """A question prepared for one language: normalized text, word terms and character n-grams."""

    text: str
    words: list[str]
    terms: list[str]
    grams: list[str]


def _merge(units: list[list[str]], starts: list[int], ends: list[int]) -> list[list[str]]:
    return [[t for u in range(s, e) for t in units[u]] for s, e in zip(starts, ends, strict=True)]


class LanguageIndex:
    """All articles of one language, indexed as whole documents and as single texts (title/examples)."""

    def __init__(self, lang: str, docs: Sequence[ArticleDoc]) -> None:
        """Build the word BM25, word and character TF-IDF indexes for the articles of `lang`."""
        self.lang = lang
        self.docs = list(docs)
        self.unit_texts: list[str] = []
        self.unit_raw: list[str] = []
        starts: list[int] = []
        for doc in self.docs:
            starts.append(len(self.unit_texts))
            for text in (doc.title, *doc.synonyms, *doc.examples):
                norm = normalize(text)
                if norm:
                    self.unit_texts.append(norm)
                    self.unit_raw.append(text)
        self.starts: IntArray = np.asarray(starts, dtype=np.int32)
        self.ends: IntArray = np.append(self.starts[1:], len(self.unit_texts)).astype(np.int32)
        unit_words = [word_tokens(t, lang) for t in self.unit_texts]
        unit_terms = [w + word_bigrams(w) for w in unit_words]
        unit_grams = [char_ngrams(t) for t in self.unit_texts]
        unit_article = np.repeat(np.arange(len(self.docs), dtype=np.int64), self.ends - self.starts)
        n_units, n_docs = len(self.unit_texts), len(self.docs)
        owner, ids, vocab = encode(unit_words)
        self.bm25 = SparseIndex(unit_article[owner], ids, n_docs, vocab, "bm25", _BM25_K1)
        self.vocab = [set(ws) for ws in _merge(unit_words, starts, self.ends.tolist())]
        self.titles = self._title_postings(unit_words)
        owner, ids, vocab = encode(unit_terms)
        self.word_docs = SparseIndex(unit_article[owner], ids, n_docs, vocab, "cosine")
        self.word_units = SparseIndex(owner, ids, n_units, vocab, "cosine")
        owner, ids, vocab = encode(unit_grams)
        self.char_docs = SparseIndex(unit_article[owner], ids, n_docs, vocab, "cosine")
        self.char_units = SparseIndex(owner, ids, n_units, vocab, "cosine")

    def _title_postings(self, unit_words: list[list[str]]) -> dict[str, tuple[IntArray, FloatArray]]:
        """Per title word: the articles whose title has it and its IDF share of that title."""
        cols: dict[str, tuple[list[int], list[float]]] = {}
        for article, (doc, start) in enumerate(zip(self.docs, self.starts.tolist(), strict=True)):
            if start >= len(self.unit_raw) or self.unit_raw[start] != doc.title:
                continue
            words = set(unit_words[start])
            weights = {w: self.bm25.idf_of(w) or self.bm25.max_idf for w in words}
            total = sum(weights.values()) or 1.0
            for w, v in weights.items():
                cols.setdefault(w, ([], []))[0].append(article)
                cols[w][1].append(v / total)
        return {
            w: (np.asarray(a, dtype=np.int32), np.asarray(v, dtype=np.float32)) for w, (a, v) in cols.items()
        }

    def title_recall(self, words: Sequence[str]) -> FloatArray:
        """Per article: IDF-weighted share of its title's words that the question contains."""
        hits = [self.titles[w] for w in set(words) if w in self.titles]
        if not hits:
            return np.zeros(len(self.docs), dtype=np.float32)
        ids = np.concatenate([h[0] for h in hits])
        return np.bincount(ids, np.concatenate([h[1] for h in hits]), minlength=len(self.docs)).astype(
            np.float32
        )

    def __len__(self) -> int:
        """Number of articles."""
        return len(self.docs)

    def prepare(self, text: str) -> Query:
        """Normalize and tokenize a question for this language."""
        norm = normalize(text)
        words = word_tokens(norm, self.lang)
        return Query(norm, words, words + word_bigrams(words), char_ngrams(norm))

    def coverage(self, words: Sequence[str]) -> FloatArray:
        """Per article: IDF-weighted share of the question's distinct words found in the article."""
        distinct = list(dict.fromkeys(words))
        ids = [self.bm25.vocab[w] for w in distinct if w in self.bm25.vocab]
        total = float(self.bm25.idf[ids].sum()) + self.bm25.max_idf * (len(distinct) - len(ids))
        if not ids or not total:
            return np.zeros(len(self.docs), dtype=np.float32)
        tid = np.asarray(ids)
        starts, ends = self.bm25.col_ptr[tid], self.bm25.col_ptr[tid + 1]
        idx = ranges(starts, ends)
        vals = np.repeat(self.bm25.idf[tid], ends - starts)
        return (np.bincount(self.bm25.col_docs[idx], vals, minlength=len(self.docs)) / total).astype(
            np.float32
        )

    def stage1(self, query: Query) -> FloatArray:
        """Word signals for every article: a (n_articles, len(STAGE1)) array."""
        n = len(self.docs)
        out = np.zeros((n, len(STAGE1)), dtype=np.float32)
        if not query.words:
            return out
        scale = (_BM25_K1 + 1.0) * self.bm25.self_score(query.words)
        if scale:
            out[:, 0] = self.bm25.score(query.words) / scale
            top = out[:, 0].max()
            out[:, 1] = out[:, 0] / top if top > 0 else 0.0
        out[:, 2] = self.word_docs.score(query.terms)
        out[:, 3] = self.coverage(query.words)
        out[:, 4] = self.title_recall(query.words)
        return out

    def stage2(self, query: Query, articles: npt.NDArray[np.integer]) -> tuple[FloatArray, list[int]]:
        """Character and fuzzy signals for the given articles, and the best single text of each."""
        out = np.zeros((len(articles), len(STAGE2)), dtype=np.float32)
        if not len(articles):
            return out, []
        starts, ends = self.starts[articles], self.ends[articles]
        units = ranges(starts, ends)
        counts = ends - starts
        offsets = (np.cumsum(counts) - counts).astype(np.int32)
        word_sel = self.word_units.score_rows(query.terms, units)
        out[:, 0] = group_max(word_sel, offsets, len(articles))
        out[:, 1] = group_lse(word_sel, offsets, len(articles))
        out[:, 2] = self.char_docs.score_rows(query.grams, articles)
        char_sel = self.char_units.score_rows(query.grams, units)
        out[:, 3] = group_max(char_sel, offsets, len(articles))
        group = np.repeat(np.arange(len(articles)), counts)
        order = np.lexsort((-(word_sel + char_sel), group))
        best = np.where(counts > 0, units[order[np.minimum(offsets, max(len(units) - 1, 0))]], -1)
        return out, best.tolist()

    def fuzzy(self, query: Query, articles: npt.NDArray[np.integer]) -> FloatArray:
        """Best rapidfuzz token_set_ratio (in [0, 1]) between the question and each article's texts."""
        out = np.zeros(len(articles), dtype=np.float32)
        if not query.text or not len(articles):
            return out
        starts, ends = self.starts[articles], self.ends[articles]
        units = ranges(starts, ends)
        counts = ends - starts
        texts = [self.unit_texts[u] for u in units]
        sims = process.cdist([query.text], texts, scorer=fuzz.token_set_ratio, dtype=np.float32)[0] / 100.0
        return group_max(sims, (np.cumsum(counts) - counts).astype(np.int32), len(articles))

    def known_share(self, query: Query) -> float:
        """IDF-weighted share of the question's words that occur anywhere in this language's articles."""
        return self.bm25.known_share(query.words)

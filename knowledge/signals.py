"""Per-language lexical index of articles and the generic matching signals computed from it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from knowledge.documents import ArticleDoc
from knowledge.lexical import (
    FloatArray,
    Ids,
    IntArray,
    SparseIndex,
    encode,
    group_max,
    lookup,
    pair_counts,
    ranges,
    regroup,
)
from knowledge.normalize import char_ngrams, normalize, word_bigrams, word_tokens

log = logging.getLogger(__name__)

# Signals of one (question, article) pair, roughly in [0, 1]. Stage 1 is computed for every article,
# stage 2 only for the best stage-1 candidates.
STAGE1 = ("bm25", "bm25_rel", "word_doc", "cover", "title_recall")
STAGE2 = ("word_ex", "word_lse", "char_doc", "char_ex")
STAGE3 = ("fuzz", "fuzz_mean", "ratio")
FEATURES = STAGE1 + STAGE2 + STAGE3
# The first release's signals (only the best token_set_ratio of the rapidfuzz ones): the "base" profile.
BASE_FEATURES = STAGE1 + STAGE2 + STAGE3[:1]
_BM25_K1 = 1.2
_LSE_BETA = 10.0
# Floats of dense postings (for the most frequent terms) per index scored over every article.
_DENSE_BUDGET = 1 << 21


@dataclass(frozen=True, eq=False)
class Query:
    """A question prepared for one language: normalized text, word terms and character n-grams."""

    text: str
    words: list[str]
    terms: list[str]
    grams: list[str]
    word_ids: Ids = field(repr=False)
    word_tf: FloatArray = field(repr=False)
    term_ids: Ids = field(repr=False)
    term_tf: FloatArray = field(repr=False)
    gram_ids: Ids = field(repr=False)
    gram_tf: FloatArray = field(repr=False)


def relative(values: FloatArray) -> FloatArray:
    """Values divided by their maximum (zeros when it is not positive): a per-question scale-free signal."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


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
        self.bm25.densify(_DENSE_BUDGET)
        self.vocab = [set(ws) for ws in _merge(unit_words, starts, self.ends.tolist())]
        self.titles = self._title_postings(unit_words)
        owner, ids, vocab = encode(unit_terms)
        units = pair_counts(owner, ids, len(vocab))
        self.word_docs = SparseIndex.from_counts(regroup(*units, unit_article, len(vocab)), n_docs, vocab, "cosine")
        self.word_docs.densify(_DENSE_BUDGET)
        self.word_units = SparseIndex.from_counts(units, n_units, vocab, "cosine")
        self.word_units.densify(_DENSE_BUDGET)
        owner, ids, vocab = encode(unit_grams)
        units = pair_counts(owner, ids, len(vocab))
        self.char_docs = SparseIndex.from_counts(regroup(*units, unit_article, len(vocab)), n_docs, vocab, "cosine")
        self.char_docs.densify(_DENSE_BUDGET)
        self.char_units = SparseIndex.from_counts(units, n_units, vocab, "cosine")
        self.char_units.densify(_DENSE_BUDGET)

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
        return {w: (np.asarray(a, dtype=np.int32), np.asarray(v, dtype=np.float32)) for w, (a, v) in cols.items()}

    def title_recall(self, words: Sequence[str]) -> FloatArray:
        """Per article: IDF-weighted share of its title's words that the question contains."""
        hits = [self.titles[w] for w in set(words) if w in self.titles]
        if not hits:
            return np.zeros(len(self.docs), dtype=np.float32)
        ids = np.concatenate([h[0] for h in hits])
        return np.bincount(ids, np.concatenate([h[1] for h in hits]), minlength=len(self.docs)).astype(np.float32)

    def __len__(self) -> int:
        """Number of articles."""
        return len(self.docs)

    def prepare(self, text: str) -> Query:
        """Normalize and tokenize a question for this language, with its term ids in each vocabulary."""
        norm = normalize(text)
        words = word_tokens(norm, self.lang)
        terms = words + word_bigrams(words)
        grams = char_ngrams(norm)
        word_ids, word_tf = lookup(self.bm25.vocab, words)
        term_ids, term_tf = lookup(self.word_docs.vocab, terms)
        gram_ids, gram_tf = lookup(self.char_docs.vocab, grams)
        return Query(norm, words, terms, grams, word_ids, word_tf, term_ids, term_tf, gram_ids, gram_tf)

    def coverage(self, words: Sequence[str]) -> FloatArray:
        """Per article: IDF-weighted share of the question's distinct words found in the article."""
        return self._word_signals(*lookup(self.bm25.vocab, words), len(set(words)))[1]

    def _word_signals(self, ids: Ids, tf: FloatArray, n_distinct: int) -> tuple[FloatArray, FloatArray]:
        """BM25 (scaled by the query's own best score) and IDF coverage of every article, in one walk."""
        n = len(self.docs)
        idf = self.bm25.idf32[ids]
        known = float(idf.sum())
        total = known + self.bm25.max_idf * (n_distinct - len(ids))
        if not len(ids) or not total:
            return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        bm25, cover = self.bm25.sums(ids, np.ones(len(ids), dtype=np.float32), idf)
        return bm25 / ((_BM25_K1 + 1.0) * known), cover / total

    def stage1(self, query: Query) -> FloatArray:
        """Word signals for every article: a (n_articles, len(STAGE1)) array."""
        n = len(self.docs)
        out = np.zeros((n, len(STAGE1)), dtype=np.float32)
        if not query.words:
            return out
        out[:, 0], out[:, 3] = self._word_signals(query.word_ids, query.word_tf, len(set(query.words)))
        out[:, 1] = relative(out[:, 0])
        out[:, 2] = self.word_docs.score_ids(query.term_ids, self.word_docs.weigh(query.term_ids, query.term_tf))
        out[:, 4] = self.title_recall(query.words)
        return out

    def stage2(self, query: Query, articles: npt.NDArray[np.integer]) -> tuple[FloatArray, list[int]]:
        """Character and fuzzy signals for the given articles, and the best single text of each."""
        out = np.zeros((len(articles), len(STAGE2)), dtype=np.float32)
        if not len(articles):
            return out, []
        starts, ends = self.starts[articles], self.ends[articles]
        units = ranges(starts, ends)
        if not len(units):
            return out, [-1] * len(articles)
        counts = ends - starts
        offsets = np.cumsum(counts) - counts
        ids, tf = query.term_ids, query.term_tf
        word_sel = self.word_units.rows_ids(ids, self.word_units.weigh(ids, tf), units)
        ids, tf = query.gram_ids, query.gram_tf
        out[:, 2] = self.char_docs.rows_ids(ids, self.char_docs.weigh(ids, tf), articles)
        char_sel = self.char_units.rows_ids(ids, self.char_units.weigh(ids, tf), units)
        has = counts > 0
        cuts = offsets[has]
        out[has, 0], out[has, 3] = np.maximum.reduceat(np.vstack([word_sel, char_sel]), cuts, axis=1)
        out[has, 1] = 1.0 + np.log(np.add.reduceat(np.exp(_LSE_BETA * (word_sel - 1.0)), cuts)) / _LSE_BETA
        order = np.lexsort((-(word_sel + char_sel), np.repeat(np.arange(len(articles)), counts)))
        best = np.where(has, units[order[np.minimum(offsets, len(units) - 1)]], -1)
        return out, best.tolist()

    def fuzzy(self, query: Query, articles: npt.NDArray[np.integer], extended: bool = True) -> FloatArray:
        """Rapidfuzz signals of the given articles in [0, 1]: (len(articles), len(STAGE3)), or one column.

        Per article: the best token_set_ratio over its texts and, when `extended`, their mean token_set_ratio
        relative to the best such mean among `articles` and its best plain (Indel) ratio relative to the best
        among `articles` (relative, so that long posts are not penalized against short texts).
        """
        out = np.zeros((len(articles), len(STAGE3) if extended else 1), dtype=np.float32)
        if not query.text or not len(articles):
            return out
        starts, ends = self.starts[articles], self.ends[articles]
        units = ranges(starts, ends)
        counts = ends - starts
        if not len(units):
            return out
        texts = [self.unit_texts[u] for u in units.tolist()]
        offsets = (np.cumsum(counts) - counts).astype(np.int32)
        sims = process.cdist([query.text], texts, scorer=fuzz.token_set_ratio, dtype=np.float32)[0] / 100.0
        out[:, 0] = group_max(sims, offsets, len(articles))
        if extended:
            plain = process.cdist([query.text], texts, scorer=fuzz.ratio, dtype=np.float32)[0] / 100.0
            has = counts > 0
            out[has, 1] = relative(np.add.reduceat(sims, offsets[has]) / counts[has])
            out[:, 2] = relative(group_max(plain, offsets, len(articles)))
        return out

    def known_share(self, query: Query) -> float:
        """IDF-weighted share of the question's words that occur anywhere in this language's articles."""
        known = float(self.bm25.idf[query.word_ids] @ query.word_tf)
        total = known + self.bm25.max_idf * (len(query.words) - float(query.word_tf.sum()))
        return known / total if total else 0.0

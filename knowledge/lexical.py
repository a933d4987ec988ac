"""A small numpy inverted index (CSR by term and by doc) with BM25 and TF-IDF cosine scoring."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


def ranges(starts: npt.NDArray[np.integer], ends: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Concatenation of arange(s, e) for each pair, vectorized."""
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts.astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total, dtype=np.int64)


def encode(
    docs: Sequence[Sequence[str]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], dict[str, int]]:
    """Docs of terms as parallel arrays (doc of each token, term id) and the term -> id vocabulary."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__
    ids = np.fromiter(chain.from_iterable(map(vocab.__getitem__, d) for d in docs), dtype=np.int64)
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    owner = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    vocab.default_factory = None
    return owner, ids, dict(vocab)


class SparseIndex:
    """Bag-of-terms documents stored twice (by term and by doc) to score all docs or a chosen few."""

    def __init__(
        self,
        owner: npt.NDArray[np.int64],
        ids: npt.NDArray[np.int64],
        n_docs: int,
        vocab: dict[str, int],
        scheme: str = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        """Index tokens given as parallel arrays (doc of each token, term id) over a shared `vocab`."""
        if scheme not in ("bm25", "cosine"):
            raise ValueError(f"unknown scheme {scheme!r}")
        self.scheme = scheme
        self.n_docs = n = n_docs
        self.vocab = vocab
        n_terms = max(len(vocab), 1)
        lengths = np.bincount(owner, minlength=n).astype(np.int64)
        keys, tf = np.unique(owner * n_terms + ids, return_counts=True)
        row, col = keys // n_terms, keys % n_terms
        df = np.bincount(col, minlength=n_terms).astype(np.float64)
        if scheme == "bm25":
            self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
            avgdl = max(float(lengths.mean()) if n else 1.0, 1e-9)
            norm = k1 * (1.0 - b + b * lengths[row] / avgdl)
            weight = self.idf[col] * tf * (k1 + 1.0) / (tf + norm)
        else:
            self.idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
            weight = (1.0 + np.log(tf)) * self.idf[col]
            sq = np.bincount(row, weight * weight, minlength=n)
            weight = weight / np.sqrt(np.maximum(sq, 1e-12))[row]
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))])
        self.row_terms = col.astype(np.int32)
        self.row_weights = weight.astype(np.float32)
        order = np.argsort(col, kind="stable")
        self.col_ptr = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=n_terms))])
        self.col_docs = row[order].astype(np.int32)
        self.col_weights = weight[order].astype(np.float32)
        self.max_idf = float(self.idf.max()) if len(vocab) else 1.0

    @classmethod
    def from_docs(cls, docs: Sequence[Sequence[str]], scheme: str = "bm25", k1: float = 1.2) -> SparseIndex:
        """Index `docs` given as lists of terms."""
        owner, ids, vocab = encode(docs)
        return cls(owner, ids, len(docs), vocab, scheme, k1)

    def query_vector(self, terms: Sequence[str]) -> tuple[list[int], FloatArray]:
        """Known term ids and their query-side weights (BM25: 1 each; cosine: l2-normed TF-IDF)."""
        counts = Counter(self.vocab[t] for t in terms if t in self.vocab)
        ids = list(counts)
        if self.scheme == "bm25":
            return ids, np.ones(len(ids), dtype=np.float32)
        w = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(ids)))) * self.idf[ids]
        return ids, (w / (np.sqrt(w @ w) or 1.0)).astype(np.float32)

    def _by_term(self, ids: list[int], qw: FloatArray) -> FloatArray:
        tid = np.asarray(ids)
        starts, ends = self.col_ptr[tid], self.col_ptr[tid + 1]
        idx = ranges(starts, ends)
        vals = self.col_weights[idx] * np.repeat(qw, ends - starts)
        return np.bincount(self.col_docs[idx], vals, minlength=self.n_docs).astype(np.float32)

    def score(self, terms: Sequence[str]) -> FloatArray:
        """Scores of every doc for the query terms (zeros when no term is known)."""
        ids, qw = self.query_vector(terms)
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return self._by_term(ids, qw)

    def score_rows(self, terms: Sequence[str], rows: npt.NDArray[np.integer]) -> FloatArray:
        """Scores of the given docs only, walking whichever is shorter: their rows or the query's postings."""
        out = np.zeros(len(rows), dtype=np.float32)
        ids, qw = self.query_vector(terms)
        if not ids or not len(rows):
            return out
        rows = np.asarray(rows)
        starts, ends = self.row_ptr[rows], self.row_ptr[rows + 1]
        tid = np.asarray(ids)
        if int((self.col_ptr[tid + 1] - self.col_ptr[tid]).sum()) < int((ends - starts).sum()):
            return self._by_term(ids, qw)[rows]
        dense = np.zeros(len(self.vocab), dtype=np.float32)
        dense[ids] = qw
        idx = ranges(starts, ends)
        vals = dense[self.row_terms[idx]] * self.row_weights[idx]
        owner = np.repeat(np.arange(len(rows)), ends - starts)
        return np.bincount(owner, vals, minlength=len(rows)).astype(np.float32)

    def idf_of(self, term: str) -> float | None:
        """IDF of a known term, None when unknown."""
        i = self.vocab.get(term)
        return None if i is None else float(self.idf[i])

    def self_score(self, terms: Sequence[str]) -> float:
        """A scale for BM25 scores of this query: the sum of the idf of its distinct known terms."""
        ids = {self.vocab[t] for t in terms if t in self.vocab}
        return float(self.idf[list(ids)].sum()) if ids else 0.0

    def known_share(self, terms: Sequence[str]) -> float:
        """IDF-weighted share of the query terms that occur anywhere in the index (unknown = max idf)."""
        known = sum(float(self.idf[self.vocab[t]]) for t in terms if t in self.vocab)
        total = known + self.max_idf * sum(1 for t in terms if t not in self.vocab)
        return known / total if total else 0.0


def group_max(values: FloatArray, starts: IntArray, n_groups: int) -> FloatArray:
    """Per-group maximum of `values` whose groups are contiguous runs starting at `starts` (empty -> 0)."""
    out = np.zeros(n_groups, dtype=np.float32)
    if len(values) == 0:
        return out
    nonempty = np.flatnonzero(np.diff(np.append(starts, len(values))) > 0)
    out[nonempty] = np.maximum.reduceat(values, starts[nonempty])
    return out


def group_lse(values: FloatArray, starts: IntArray, n_groups: int, beta: float = 10.0) -> FloatArray:
    """Soft maximum per contiguous group: log-sum-exp pooling that rewards several good texts."""
    out = np.zeros(n_groups, dtype=np.float32)
    if len(values) == 0:
        return out
    nonempty = np.flatnonzero(np.diff(np.append(starts, len(values))) > 0)
    sums = np.add.reduceat(np.exp(beta * (values - 1.0)), starts[nonempty])
    out[nonempty] = 1.0 + np.log(sums) / beta
    return out

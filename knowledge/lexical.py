"""A small numpy inverted index (CSR by term and by doc) with BM25 and TF-IDF cosine scoring."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
Ids = npt.NDArray[np.int64]
# Cost of one dense posting relative to a sparse one, when choosing how to score a few docs.
_DENSE_COST = 0.25


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


def stable_order(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Stable argsort of non-negative integer keys (a plain sort of key and position packed when they fit)."""
    n = len(keys)
    if not n:
        return np.zeros(0, dtype=np.int64)
    shift = max(int(n - 1).bit_length(), 1)
    if int(keys.max()) < (1 << (62 - shift)):
        return np.sort((keys.astype(np.int64) << shift) | np.arange(n, dtype=np.int64)) & ((1 << shift) - 1)
    return np.argsort(keys, kind="stable")


def pair_counts(
    owner: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], n_terms: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct (doc, term) pairs sorted by doc then term, and their counts."""
    n_terms = max(n_terms, 1)
    keys, tf = np.unique(owner * n_terms + ids, return_counts=True)
    return keys // n_terms, keys % n_terms, tf


def regroup(
    row: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    tf: npt.NDArray[np.int64],
    parent: npt.NDArray[np.int64],
    n_terms: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(doc, term) counts of `pair_counts` summed into parent docs (`parent[doc]`)."""
    n_terms = max(n_terms, 1)
    keys = parent[row] * n_terms + col
    order = stable_order(keys)
    keys = keys[order]
    if not len(keys):
        return keys, keys, keys
    cuts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    keys = keys[cuts]
    return keys // n_terms, keys % n_terms, np.add.reduceat(tf[order], cuts)


def lookup(vocab: dict[str, int], terms: Iterable[str]) -> tuple[Ids, FloatArray]:
    """Distinct known term ids of `terms` in `vocab` (in first-seen order) and their counts."""
    counts: dict[int, int] = {}
    get = vocab.get
    for i in map(get, terms):
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    n = len(counts)
    return np.fromiter(counts, np.int64, n), np.fromiter(counts.values(), np.float32, n)


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
        self._build(*pair_counts(owner, ids, len(vocab)), n_docs, vocab, scheme, k1, b)

    @classmethod
    def from_counts(
        cls,
        counts: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
        n_docs: int,
        vocab: dict[str, int],
        scheme: str = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
    ) -> SparseIndex:
        """Index (doc, term, count) triples as returned by `pair_counts` or `regroup`."""
        index = cls.__new__(cls)
        index._build(*counts, n_docs, vocab, scheme, k1, b)
        return index

    def _build(
        self,
        row: npt.NDArray[np.int64],
        col: npt.NDArray[np.int64],
        tf: npt.NDArray[np.int64],
        n_docs: int,
        vocab: dict[str, int],
        scheme: str,
        k1: float,
        b: float,
    ) -> None:
        if scheme not in ("bm25", "cosine"):
            raise ValueError(f"unknown scheme {scheme!r}")
        self.scheme = scheme
        self.n_docs = n = n_docs
        self.vocab = vocab
        n_terms = max(len(vocab), 1)
        lengths = np.bincount(row, tf, minlength=n)
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
        self.idf32 = self.idf.astype(np.float32)
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))])
        self.row_terms = col.astype(np.int32)
        self.row_weights = weight.astype(np.float32)
        order = stable_order(col)
        self.col_ptr = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=n_terms))])
        self.col_docs = row[order].astype(np.int32)
        self.col_weights = weight[order].astype(np.float32)
        self.max_idf = float(self.idf.max()) if len(vocab) else 1.0
        self._dense = np.zeros(n_terms, dtype=np.float32)
        self.dense_slot = np.full(n_terms, -1, dtype=np.int64)
        self.dense_rows = np.zeros((0, n), dtype=np.float32)
        self.term_cost = np.diff(self.col_ptr).astype(np.float32)

    def densify(self, budget: int, min_share: float = 1 / 16) -> None:
        """Also store the most frequent terms' postings as dense rows (at most `budget` floats) for full scoring."""
        df = np.diff(self.col_ptr)
        frequent = np.flatnonzero(df >= max(2.0, min_share * self.n_docs))
        chosen = frequent[np.argsort(-df[frequent], kind="stable")][: budget // max(self.n_docs, 1)]
        self.dense_slot[:] = -1
        self.dense_slot[chosen] = np.arange(len(chosen))
        self.dense_rows = np.zeros((len(chosen), self.n_docs), dtype=np.float32)
        idx = ranges(self.col_ptr[chosen], self.col_ptr[chosen + 1])
        self.dense_rows[np.repeat(np.arange(len(chosen)), df[chosen]), self.col_docs[idx]] = self.col_weights[idx]
        self.term_cost = np.where(self.dense_slot >= 0, _DENSE_COST * self.n_docs, df).astype(np.float32)
        log.debug("%d of %d terms stored dense", len(chosen), len(df))

    @classmethod
    def from_docs(cls, docs: Sequence[Sequence[str]], scheme: str = "bm25", k1: float = 1.2) -> SparseIndex:
        """Index `docs` given as lists of terms."""
        owner, ids, vocab = encode(docs)
        return cls(owner, ids, len(docs), vocab, scheme, k1)

    def weigh(self, ids: Ids, counts: FloatArray) -> FloatArray:
        """Query-side weights of known term ids (BM25: 1 each; cosine: l2-normed sublinear TF-IDF)."""
        if self.scheme == "bm25":
            return np.ones(len(ids), dtype=np.float32)
        w = (1.0 + np.log(counts)) * self.idf32[ids]
        return (w / (np.sqrt(w @ w) or 1.0)).astype(np.float32, copy=False)

    def query_vector(self, terms: Sequence[str]) -> tuple[Ids, FloatArray]:
        """Known term ids and their query-side weights."""
        ids, counts = lookup(self.vocab, terms)
        return ids, self.weigh(ids, counts)

    def postings(self, ids: Ids) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Positions in the by-term arrays of the postings of `ids`, and each posting's query-term slot."""
        starts, ends = self.col_ptr[ids], self.col_ptr[ids + 1]
        return ranges(starts, ends), np.repeat(np.arange(len(ids)), ends - starts)

    def score_ids(self, ids: Ids, qw: FloatArray) -> FloatArray:
        """Scores of every doc for known term ids with query weights `qw`."""
        return self.sums(ids, qw)[0]

    def sums(self, ids: Ids, qw: FloatArray, qv: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Per doc: the sum of posting weight x `qw` and, when `qv` is given, of `qv` over the terms it has."""
        n = self.n_docs
        score, present = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        if not len(ids):
            return score, present
        slots = self.dense_slot[ids]
        dense = slots >= 0
        if dense.any():
            block = self.dense_rows[slots[dense]]
            score += qw[dense] @ block
            if qv is not None:
                present += qv[dense] @ (block > 0)
            ids, qw = ids[~dense], qw[~dense]
            qv = None if qv is None else qv[~dense]
        if len(ids):
            idx, slot = self.postings(ids)
            docs = self.col_docs[idx]
            score += np.bincount(docs, self.col_weights[idx] * qw[slot], minlength=n).astype(np.float32)
            if qv is not None:
                present += np.bincount(docs, qv[slot], minlength=n).astype(np.float32)
        return score, present

    def score(self, terms: Sequence[str]) -> FloatArray:
        """Scores of every doc for the query terms (zeros when no term is known)."""
        return self.score_ids(*self.query_vector(terms))

    def rows_ids(self, ids: Ids, qw: FloatArray, rows: npt.NDArray[np.integer]) -> FloatArray:
        """Scores of the given docs only, walking whichever is shorter: their rows or the query's postings."""
        if not len(ids) or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        starts, ends = self.row_ptr[rows], self.row_ptr[rows + 1]
        if float(self.term_cost[ids].sum()) < float((ends - starts).sum()):
            return self.score_ids(ids, qw)[rows]
        dense = self._dense
        dense[ids] = qw
        idx = ranges(starts, ends)
        vals = dense[self.row_terms[idx]] * self.row_weights[idx]
        dense[ids] = 0.0
        cuts = np.cumsum(ends - starts) - (ends - starts)
        out = np.zeros(len(rows), dtype=np.float32)
        nonempty = ends > starts
        out[nonempty] = np.add.reduceat(vals, cuts[nonempty])
        return out

    def score_rows(self, terms: Sequence[str], rows: npt.NDArray[np.integer]) -> FloatArray:
        """Scores of the given docs only for the query terms."""
        return self.rows_ids(*self.query_vector(terms), np.asarray(rows))

    def idf_of(self, term: str) -> float | None:
        """IDF of a known term, None when unknown."""
        i = self.vocab.get(term)
        return None if i is None else float(self.idf[i])

    def self_score(self, terms: Sequence[str]) -> float:
        """A scale for BM25 scores of this query: the sum of the idf of its distinct known terms."""
        ids, _ = lookup(self.vocab, terms)
        return float(self.idf[ids].sum()) if len(ids) else 0.0

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

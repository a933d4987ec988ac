"""SparseIndex fast paths (dense frequent terms, row walks, counting lookups) agree with plain sparse scoring."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.lexical import SparseIndex, lookup, pair_counts, regroup, stable_order

DOCS = [
    ["card", "arrive", "when", "card"],
    ["card", "lost", "my"],
    ["my", "pin", "block", "card"],
    ["top", "up", "fail", "my"],
    ["my", "card", "top", "up"],
    ["exchange", "rate", "my"],
]


@pytest.mark.parametrize("scheme", ["bm25", "cosine"])
def test_dense_terms_score_like_sparse(scheme: str) -> None:
    plain = SparseIndex.from_docs(DOCS, scheme)
    fast = SparseIndex.from_docs(DOCS, scheme)
    fast.densify(budget=10_000, min_share=0.3)
    assert (fast.dense_slot >= 0).sum() > 0
    ids, counts = lookup(plain.vocab, ["my", "card", "top", "rate", "unknown", "card"])
    qw = plain.weigh(ids, counts)
    idf = plain.idf32[ids]
    for a, b in zip(plain.sums(ids, qw, idf), fast.sums(ids, qw, idf), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    rows = np.array([4, 0, 2])
    np.testing.assert_allclose(fast.rows_ids(ids, qw, rows), plain.score_ids(ids, qw)[rows], rtol=1e-5, atol=1e-6)


def test_lookup_counts_known_terms_once() -> None:
    ids, counts = lookup({"a": 3, "b": 1}, ["b", "x", "a", "b"])
    assert ids.tolist() == [1, 3]
    assert counts.tolist() == [2.0, 1.0]
    empty_ids, empty_counts = lookup({"a": 0}, ["z"])
    assert len(empty_ids) == 0 and len(empty_counts) == 0


def test_regroup_sums_counts_into_parents() -> None:
    owner = np.array([0, 0, 1, 2, 2], dtype=np.int64)
    ids = np.array([5, 1, 5, 1, 1], dtype=np.int64)
    row, col, tf = regroup(*pair_counts(owner, ids, 6), np.array([0, 0, 1], dtype=np.int64), 6)
    assert list(zip(row.tolist(), col.tolist(), tf.tolist(), strict=True)) == [(0, 1, 1), (0, 5, 2), (1, 1, 2)]
    keys = np.array([3, 1, 3, 0, 1], dtype=np.int64)
    assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()

"""Cached text embeddings: in memory by content hash (reusing unchanged texts) and optionally as .npy files."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from knowledge.lexical import FloatArray

log = logging.getLogger(__name__)

MEMORY_ENTRIES = 8
_LOCK = threading.Lock()
_MEMORY: OrderedDict[str, tuple[tuple[str, ...], FloatArray]] = OrderedDict()


class Encoder(Protocol):
    """Anything that turns texts into unit-length vectors."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = ...) -> FloatArray:
        """Embeddings of `texts`, one row each."""
        ...


def content_hash(model_id: str, texts: Sequence[str]) -> str:
    """A stable hash of the model and the exact texts (order included)."""
    digest = hashlib.sha256(model_id.encode())
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def clear_memory() -> None:
    """Forget every embedding cached in memory."""
    with _LOCK:
        _MEMORY.clear()


def _known_rows(model_id: str) -> dict[str, FloatArray]:
    """Text -> vector for every text embedded earlier in this process with the same model."""
    known: dict[str, FloatArray] = {}
    for key, (texts, matrix) in _MEMORY.items():
        if key.startswith(model_id + ":"):
            known.update(zip(texts, matrix, strict=True))
    return known


def _load(path: Path, rows: int, dim: int) -> FloatArray | None:
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable embedding cache %s: %s", path, exc)
        return None
    if matrix.shape != (rows, dim):
        log.warning("ignoring embedding cache %s of shape %s", path, matrix.shape)
        return None
    return matrix.astype(np.float32, copy=False)


def _save(path: Path, matrix: FloatArray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, matrix, allow_pickle=False)
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not write embedding cache %s: %s", path, exc)


def embed_texts(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None = None) -> FloatArray:
    """Embeddings of `texts`, from memory or `cache_dir` when unchanged; only new texts are encoded."""
    texts = tuple(texts)
    key = f"{encoder.model_id}:{content_hash(encoder.model_id, texts)}"
    with _LOCK:
        hit = _MEMORY.get(key)
        if hit is not None:
            _MEMORY.move_to_end(key)
            return hit[1]
        known = _known_rows(encoder.model_id)
    path = cache_dir / f"embeddings-{key.replace('/', '-').replace(':', '-')}.npy" if cache_dir else None
    matrix = _load(path, len(texts), encoder.dim) if path is not None and path.exists() else None
    if matrix is None:
        missing = sorted({t for t in texts if t not in known})
        if missing:
            log.info("embedding %d new texts (%d reused)", len(missing), len(texts) - len(missing))
            known.update(zip(missing, encoder.encode(missing), strict=True))
        matrix = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            matrix[row] = known[text]
        if path is not None:
            _save(path, matrix)
    with _LOCK:
        _MEMORY[key] = (texts, matrix)
        while len(_MEMORY) > MEMORY_ENTRIES:
            _MEMORY.popitem(last=False)
    return matrix

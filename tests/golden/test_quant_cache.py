"""The process-level quantization cache: hits return what quant.quantize returns, other formats and
other weights miss, the byte bound evicts least recently used entries, and the golden model and
fake quantization share entries."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.golden import quant
from bitflight.golden.llm import LlamaConfig, LlamaModel
from bitflight.golden.llm.accel import AcceleratorNumerics
from bitflight.golden.llm.perplexity import fake_quantize
from bitflight.golden.llm.quant_cache import CACHE, QuantCache, fingerprint
from bitflight.golden.llm.weights import random_weights
from bitflight.golden.policy import load_policy

CFG = LlamaConfig(name="c", layers=1, hidden=96, heads=2, kv_heads=1, head_dim=48,
                  intermediate=160, vocab=64)
W = torch.randn(16, 200, generator=torch.Generator().manual_seed(0)) * 0.05


def test_hit_returns_identical_weights_and_other_formats_miss():
    cache = QuantCache()
    first = cache.quantize(W, "bitmod", 4, 128, "fp16", True)
    assert first == quant.quantize(W, "bitmod", 4, 128, "fp16", True)
    assert cache.stats() == {"entries": 1, "bytes": first.codes.nbytes + first.dtype_ids.nbytes
                             + first.scales.nbytes, "hits": 0, "misses": 1}
    again = cache.quantize(W.clone(), "bitmod", 4, 128, "fp16", True)   # same values, new tensor
    assert again is first and cache.hits == 1
    for args in [("bitmod", 3, 128, "fp16", True), ("bitmod", 4, 64, "fp16", True),
                 ("bitmod", 4, 128, "int", True), ("int_sym", 4, 128, "fp16", True)]:
        other = cache.quantize(W, *args)
        assert other is not first and other == quant.quantize(W, *args)
    assert (cache.hits, cache.misses, len(cache)) == (1, 5, 5)


def test_a_changed_weight_misses():
    cache = QuantCache()
    a = cache.quantize(W, "bitmod", 4, 128, "fp16", True)
    w2 = W.clone()
    w2[3, 17] += 1e-3
    assert fingerprint(w2) != fingerprint(W)
    b = cache.quantize(w2, "bitmod", 4, 128, "fp16", True)
    assert b is not a and b == quant.quantize(w2, "bitmod", 4, 128, "fp16", True)
    assert cache.misses == 2


def test_cached_arrays_are_read_only():
    qw = QuantCache().quantize(W, "int_sym", 4, 128, "fp16", True)
    with pytest.raises(ValueError, match="read-only"):
        qw.codes[0, 0] = 1


def test_byte_bound_evicts_least_recently_used():
    size = QuantCache().quantize(W, "bitmod", 4, 128, "fp16", True).codes.nbytes
    cache = QuantCache(max_bytes=2 * size + 2 * size // 8)   # room for two entries, not three
    a = cache.quantize(W, "bitmod", 4, 128, "fp16", True)
    cache.quantize(W, "bitmod", 3, 128, "fp16", True)
    cache.quantize(W, "bitmod", 4, 128, "fp16", True)             # a is now the most recent
    cache.quantize(W, "fp", 4, 128, "fp16", True)                 # evicts bitmod 3
    assert len(cache) == 2 and cache.nbytes <= cache.max_bytes
    assert cache.quantize(W, "bitmod", 4, 128, "fp16", True) is a
    cache.quantize(W, "bitmod", 3, 128, "fp16", True)
    assert cache.misses == 4
    cache.clear()
    assert cache.stats() == {"entries": 0, "bytes": 0, "hits": 0, "misses": 0}


def test_accelerator_model_and_fake_quantization_share_entries():
    """Two loads of the same model: the second golden model re-quantizes nothing; eval's fake
    quantization with the policy's settings hits too, a different policy misses."""
    CACHE.clear()
    weights = random_weights(CFG, seed=5)
    layers = len(CFG.linear_names())
    m1 = LlamaModel(CFG, weights)
    m2 = LlamaModel(CFG, {k: v.clone() for k, v in weights.items()})
    a1 = AcceleratorNumerics(load_policy("bitmod-w4"), m1)
    assert (CACHE.hits, CACHE.misses) == (0, layers)
    a2 = AcceleratorNumerics(load_policy("bitmod-w4"), m2)
    assert (CACHE.hits, CACHE.misses) == (layers, layers)
    for name in CFG.linear_names():
        assert a2.weights[name].qw is a1.weights[name].qw
        np.testing.assert_array_equal(a2.weights[name].engine.codes, a1.weights[name].engine.codes)
    fake_quantize(m2, "bitmod", 4, 128)
    assert (CACHE.hits, CACHE.misses) == (2 * layers, layers)
    AcceleratorNumerics(load_policy("bitmod-w3"), m1)
    assert (CACHE.hits, CACHE.misses) == (2 * layers, 2 * layers)
    CACHE.clear()

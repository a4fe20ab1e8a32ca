"""Groups of 128 on a K that is not a multiple of 128 (SmolLM2's 576 = 4.5 x 128), zero-padded.

Independent expectation: quantizing the explicitly padded matrix (K rounded up to whole groups)
and cropping the codes back to K. For the symmetric schemes the padding is zeros: 0 is a level of
every grid (error 0 in every candidate) and cannot raise an absmax, so it changes neither a
group's scale nor its datatype choice. For int_asym a zero could move the group's minimum or
maximum, so the expectation pads with a copy of a real weight of the same group (inside its
[min, max]); the padded quantizer must still ignore its padding, as ``pad=True`` promises.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bitflight.golden import bitserial, formats, quant

G = 128
SYMMETRIC = [("bitmod", 3), ("bitmod", 4), ("fp", 3), ("fp", 4), ("int_sym", 4), ("ant", 4),
             ("nf4", 4)]


def _explicit(w: torch.Tensor, scheme: str) -> torch.Tensor:
    n, k = w.shape
    extra = -k % G
    if scheme != "int_asym":
        return torch.nn.functional.pad(w, (0, extra))
    first = w[:, k - k % G: k - k % G + 1]               # a real weight of the partial group
    return torch.cat([w, first.expand(n, extra)], 1)


@pytest.mark.parametrize("scheme,bits", SYMMETRIC + [("int_asym", 4)])
@pytest.mark.parametrize("mode", ["fp16", "int"])
@settings(max_examples=10, deadline=None)
@given(k=st.integers(1, 3 * G).filter(lambda k: k % G), seed=st.integers(0, 2**31 - 1),
       spread=st.sampled_from([0.02, 1.0]))
def test_padded_equals_explicitly_padded_then_cropped(scheme, bits, mode, k, seed, spread):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(3, k, generator=gen) * spread
    w[0, -1] = 8 * spread                                   # an outlier in the partial group
    got = quant.quantize(w, scheme, bits, group_size=G, scale_mode=mode, pad=True)
    ref = quant.quantize(_explicit(w, scheme), scheme, bits, group_size=G, scale_mode=mode)
    assert got.shape == (3, k) and got.num_groups == ref.num_groups == -(-k // G)
    np.testing.assert_array_equal(got.codes, ref.codes[:, :k])
    np.testing.assert_array_equal(got.dtype_ids, ref.dtype_ids)
    np.testing.assert_array_equal(got.scales, ref.scales)
    if mode == "int":
        np.testing.assert_array_equal(got.int_scales, ref.int_scales)
        np.testing.assert_array_equal(got.row_scales, ref.row_scales)
    torch.testing.assert_close(got.dequantize(), ref.dequantize()[:, :k], rtol=0, atol=0)


def test_padding_is_stored_as_the_code_of_zero():
    w = torch.randn(4, 576, generator=torch.Generator().manual_seed(1)) * 0.02
    qw = quant.quantize(w, "bitmod", 4, group_size=G, pad=True)
    back = quant.QuantizedWeight.unpack(qw.pack())
    assert back == qw
    ew = bitserial.engine_weight(qw, 4)
    zero = np.array([formats.get(f).encode([0.0])[0] for f in qw.formats])
    assert ew.codes.shape == (4, 640) and ew.k_in == 576
    np.testing.assert_array_equal(ew.codes[:, 576:], np.repeat(zero[qw.dtype_ids[:, 4:5]], 64, 1))
    # every padding code decodes to exactly 0 in its group's grid
    table = qw.level_table()
    assert np.all(table[qw.dtype_ids[:, 4].astype(np.int64)[:, None],
                        ew.codes[:, 576:].astype(np.int64)] == 0)


@pytest.mark.parametrize("scheme,bits,mode,per_group_bits,row_bits", [
    # bitmod: b bits x 128 codes (padding included) + 2-bit datatype id + fp16 scale
    ("bitmod", 4, "fp16", 4 * 128 + 2 + 16, 0),
    ("bitmod", 3, "fp16", 3 * 128 + 2 + 16, 0),
    # 8-bit integer group scale + one fp16 row scale per row
    ("bitmod", 4, "int", 4 * 128 + 2 + 8, 16),
    ("int_sym", 4, "fp16", 4 * 128 + 16, 0),
    ("int_asym", 4, "fp16", 4 * 128 + 16 + 8, 0),
])
def test_bits_per_weight_of_a_576_wide_layer(scheme, bits, mode, per_group_bits, row_bits):
    """SmolLM2's 576 in groups of 128: 5 groups per row, the last with 64 columns of padding,
    which the layout stores (and the engine streams), so it is counted: with 32 rows every
    section is a whole number of 8-byte words, and bits/weight is the hand count / 576."""
    n = 32
    w = torch.randn(n, 576, generator=torch.Generator().manual_seed(2)) * 0.02
    qw = quant.quantize(w, scheme, bits, group_size=G, scale_mode=mode, pad=True)
    assert qw.bits_per_weight == (5 * per_group_bits + row_bits) / 576
    assert 8 * (len(qw.pack()) - 64) == qw.bits_per_weight * n * 576

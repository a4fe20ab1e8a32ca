"""golden.bitserial.linear on real golden.quant weights: every engine scheme, a partial last group."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.golden import bitserial as bs
from bitflight.golden import quant
from bitflight.golden.quant import packing
from bitserial_cases import exact_dequant

ENGINE_SCHEMES = [("bitmod", 3), ("bitmod", 4), ("fp", 3), ("fp", 4), ("int_sym", 4),
                  ("int_sym", 6), ("int_sym", 8), ("ant", 4)]


@pytest.mark.parametrize("scheme,bits", ENGINE_SCHEMES)
@pytest.mark.parametrize("mode", ["int", "fp16"])
def test_quantized_linear_scalar_vector_and_bound(scheme, bits, mode):
    gen = torch.Generator().manual_seed(bits * 31 + len(scheme))
    w = torch.randn(6, 72, generator=gen) * 0.05
    qw = quant.quantize(w, scheme, bits, group_size=32, scale_mode=mode, pad=True)
    x = (torch.randn(3, 72, generator=gen) * 2).half()
    fast = bs.linear(x, qw)
    assert torch.equal(fast.view(torch.int16), bs.linear_scalar(x, qw).view(torch.int16))
    exact = x.double().numpy() @ exact_dequant(qw).T
    assert np.all(np.abs(fast.double().numpy() - exact) <= bs.error_bound(x, qw) + 1e-12)
    # the golden result is an fp16 rounding of something close to the exact product
    np.testing.assert_allclose(fast.double().numpy(), exact, rtol=0.05, atol=1e-3)


@pytest.mark.parametrize("scheme,bits,scale_mode", [("nf4", 4, "fp16"), ("mx", 4, "fp16"),
                                                    ("int_asym", 4, "fp16")])
def test_schemes_outside_the_engine_are_refused(scheme, bits, scale_mode):
    qw = quant.quantize(torch.randn(2, 32), scheme, bits, group_size=32, scale_mode=scale_mode)
    with pytest.raises(ValueError, match="not bit-serial|zero points|scale_mode"):
        bs.linear(torch.zeros(1, 32, dtype=torch.float16), qw)


@pytest.mark.parametrize("scheme,bits", ENGINE_SCHEMES)
def test_fp16_group_scale_is_the_packed_per_level_scale(scheme, bits):
    """In fp16 mode the engine applies the u16 a packed tile stores (scale x unit) and nothing
    else: the tile's scales section is EngineWeight.scale_fields bit for bit, and the engine
    computes the same bits from the unpacked tile (what the ISA simulator runs) as from the
    quantizer's weight, also for subnormal per-level scales (an odd one for fp4 grids, whose
    real scale 2 x that is not what the tile holds)."""
    gen = torch.Generator().manual_seed(bits * 7 + len(scheme))
    qw = quant.quantize(torch.randn(5, 72, generator=gen) * 0.05, scheme, bits, group_size=32,
                        scale_mode="fp16", pad=True)
    qw.scales[0, :2] = np.float32(np.array([3, 1023], np.float64) * 2.0 ** -24 / qw.unit)
    ew = bs.engine_weight(qw)
    _, sections = packing.parse(qw.pack())
    stored = np.frombuffer(sections[2], "<u2").reshape(ew.scale_fields.shape)
    np.testing.assert_array_equal(ew.scale_fields, stored)
    assert (ew.unit, ew.scale_bits) == (1.0, 11) and np.all(ew.row_scale_bits == 0x3C00)
    np.testing.assert_array_equal(ew.s_int[0, :2], [3, 1023])
    x = (torch.randn(3, 72, generator=gen) * 4).half()
    from_tile = bs.linear(x, quant.QuantizedWeight.unpack(qw.pack()))
    assert torch.equal(bs.linear(x, ew).view(torch.int16), from_tile.view(torch.int16))

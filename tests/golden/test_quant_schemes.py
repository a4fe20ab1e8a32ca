"""Property tests for every quantization scheme, and hand-worked cases for the baselines."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bitflight.golden import formats, quant

CASES = [("bitmod", 3), ("bitmod", 4), ("int_sym", 3), ("int_sym", 4), ("int_sym", 6),
         ("int_sym", 8), ("int_asym", 3), ("int_asym", 4), ("int_asym", 8), ("fp", 3), ("fp", 4),
         ("ant", 3), ("ant", 4), ("mx", 4), ("nf4", 4)]
MODES = ["fp16", "int"]


def _modes(scheme):
    return ["e8m0"] if scheme == "mx" else MODES


ALL = [(s, b, m) for s, b in CASES for m in _modes(s)]


@st.composite
def weights(draw, group_size):
    rows = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    base = draw(arrays(np.float32, (rows, groups * group_size),
                       elements=st.floats(-1, 1, width=32)))
    magnitude = draw(st.sampled_from([1e-6, 1e-3, 0.02, 1.0, 30.0]))   # 1e-6: clamped scales
    dtype = draw(st.sampled_from([torch.float32, torch.float16, torch.bfloat16]))
    return torch.from_numpy(base * np.float32(magnitude)).to(dtype)


def _levels_per_element(qw):
    """Real level (value / scale) of every element, and its format's sorted levels."""
    g = np.arange(qw.shape[1]) // qw.group_size
    if qw.scheme == "int_asym":
        lv = qw.codes.astype(np.float64) - qw.zero_points[:, g]
        grids = [np.arange(1 << qw.bits, dtype=np.float64)]
        return lv, grids, qw.zero_points[:, g].astype(np.float64)
    grids = [formats.get(name).levels if qw.scheme != "mx" else formats.get("fp4_e2m1").levels
             for name in qw.formats]
    table = qw.level_table()
    return table[qw.dtype_ids[:, g].astype(np.int64), qw.codes.astype(np.int64)], grids, None


def _group_size(scheme):
    return 32 if scheme == "mx" else 16


@pytest.mark.parametrize("scheme,bits,mode", ALL)
@settings(max_examples=25)
@given(data=st.data())
def test_dequantized_values_lie_on_grid_times_scale(scheme, bits, mode, data):
    g = _group_size(scheme)
    w = data.draw(weights(g))
    qw = quant.quantize(w, scheme, bits, group_size=g, scale_mode=mode)
    lv, grids, zp = _levels_per_element(qw)
    gidx = np.arange(w.shape[1]) // g
    ids = qw.dtype_ids[:, gidx]
    for i, grid in enumerate(grids):
        sel = ids == i
        shifted = lv[sel] + (zp[sel] if zp is not None else 0)
        assert np.isin(shifted, grid).all()
    expect = (lv * qw.scales[:, gidx].astype(np.float64)).astype(np.float32)
    assert np.array_equal(qw.dequantize().numpy(), expect)
    if mode == "fp16":
        unit16 = qw.unit_scales.astype(np.float16)
        assert np.array_equal(unit16.astype(np.float32), qw.unit_scales)
    if mode == "int":
        assert np.array_equal(qw.scales, (qw.int_scales.astype(np.float64)
                                          * qw.row_scales.astype(np.float64)[:, None])
                              .astype(np.float32))


@pytest.mark.parametrize("scheme,bits,mode", ALL)
@settings(max_examples=25)
@given(data=st.data())
def test_error_within_half_the_largest_gap(scheme, bits, mode, data):
    """|w - deq| <= s * gap_max / 2 for values inside the grid's range, plus two fp16 roundings
    in fp16 mode (the artifact casts w to fp16, then rounds x = w16 / s to fp16): each is a
    relative error of 2^-11 (absolute 2^-25 when subnormal), so the bound gains
    2^-10 |w| + 2^-25 + 2^-25 s. The int mode divides in float64 (2^-40 is ample); mx divides
    by a power of two exactly."""
    g = _group_size(scheme)
    w = data.draw(weights(g))
    qw = quant.quantize(w, scheme, bits, group_size=g, scale_mode=mode)
    _, grids, zp = _levels_per_element(qw)
    gidx = np.arange(w.shape[1]) // g
    s = qw.scales[:, gidx].astype(np.float64)
    ids = qw.dtype_ids[:, gidx]
    w64 = w.double().numpy()
    err = np.abs(w64 - qw.dequantize().double().numpy())
    slack = (2.0 ** -10 * np.abs(w64) + 2.0 ** -25 * (1 + s)) if mode == "fp16" \
        else 2.0 ** -40 * np.abs(w64)
    for i, grid in enumerate(grids):
        lo, hi = grid[0], grid[-1]
        if zp is not None:
            lo, hi = -zp, grid[-1] - zp
        gap = np.max(np.diff(grid))
        inside = (ids == i) & (w64 >= lo * s) & (w64 <= hi * s)
        bound = s * gap / 2 + slack
        assert (err[inside] <= bound[inside] * (1 + 1e-12)).all()


@pytest.mark.parametrize("scheme,bits,mode", ALL)
@settings(max_examples=15)
@given(data=st.data())
def test_pack_unpack_identity(scheme, bits, mode, data):
    g = _group_size(scheme)
    w = data.draw(weights(g))
    pad = data.draw(st.integers(0, g - 1))
    w = w[:, :w.shape[1] - pad] if pad < w.shape[1] else w
    qw = quant.quantize(w, scheme, bits, group_size=g, scale_mode=mode, pad=True)
    blob = qw.pack()
    back = quant.QuantizedWeight.unpack(blob)
    assert back == qw
    assert back.pack() == blob
    assert torch.equal(back.dequantize(), qw.dequantize())
    assert len(blob) * 8 - 512 == pytest.approx(qw.bits_per_weight * w.numel())


def test_padded_last_group_equals_the_short_group():
    rng = np.random.default_rng(3)
    w = torch.tensor(rng.standard_normal((6, 576)) * 0.02, dtype=torch.float32)
    for scheme, bits in [("bitmod", 4), ("bitmod", 3), ("int_asym", 4), ("ant", 4)]:
        full = quant.quantize(w, scheme, bits, pad=True)
        tail = quant.quantize(w[:, 512:], scheme, bits, group_size=64)
        assert full.dtype_ids.shape == (6, 5)
        # dividing every candidate's squared-error sum by 128 instead of 64 is exact in fp32
        assert np.array_equal(full.dtype_ids[:, 4], tail.dtype_ids[:, 0])
        assert np.array_equal(full.scales[:, 4], tail.scales[:, 0])
        assert np.array_equal(full.codes[:, 512:], tail.codes)


def test_bits_per_weight_counts_metadata():
    w = torch.randn(8, 1024)          # 64 groups: every section is a multiple of 8 bytes
    assert quant.quantize(w, "bitmod", 4).bits_per_weight == 4 + (2 + 16) / 128
    assert quant.quantize(w, "bitmod", 3, scale_mode="int").bits_per_weight == \
        3 + (2 + 8) / 128 + 16 / 1024
    assert quant.quantize(w, "int_asym", 4).bits_per_weight == 4 + (16 + 8) / 128
    assert quant.quantize(w, "mx", 4).bits_per_weight == 4 + 8 / 32
    assert quant.quantize(w, "ant", 4).bits_per_weight == 4 + (1 + 16) / 128
    # 32 groups: the 4 bytes of 1-bit ids are padded to the 8-byte section alignment (counted)
    assert quant.quantize(w[:4], "ant", 4).bits_per_weight == 4 + (2 + 16) / 128


def test_int_sym_matches_artifact_formula():
    # quant_int: s = fp16(absmax / 7) clamped; q = clamp(round_half_even(fp16(w / s)), -7, 7)
    rng = np.random.default_rng(5)
    w = torch.tensor(rng.standard_normal((4, 256)) * 0.05, dtype=torch.float32)
    qw = quant.quantize(w, "int_sym", 4)
    w16 = w.numpy().astype(np.float16).reshape(4, 2, 128)
    s = np.maximum((np.abs(w16).max(-1) / np.float16(7)).astype(np.float16), np.float16(1e-5))
    q = np.clip(np.rint((w16 / s[..., None]).astype(np.float16)), -7, 7)
    assert np.array_equal(qw.scales, s.astype(np.float32))
    assert np.array_equal(qw.dequantize().numpy().reshape(4, 2, 128),
                          (q * s[..., None].astype(np.float32)).astype(np.float32))


def test_int_asym_hand_worked():
    # min -1, max 2 -> scale (2 - -1)/15 = 0.2 (fp16 0.199951171875), zero point round(1/s) = 5.
    w = torch.zeros(1, 16)
    w[0, :4] = torch.tensor([-1.0, 2.0, 0.5, 0.0])
    qw = quant.quantize(w, "int_asym", 4, group_size=16)
    s = float(np.float16(0.2))
    assert float(qw.scales[0, 0]) == s and int(qw.zero_points[0, 0]) == 5
    # 0.5 / s = 2.5006 rounds to fp16 2.5 exactly and torch.round ties to even: 2 -> code 2 + 5
    assert qw.codes[0, :4].tolist() == [0, 15, 7, 5]
    assert qw.dequantize()[0, :4].tolist() == pytest.approx([-5 * s, 10 * s, 2 * s, 0.0])


def _mx_reference(block):
    """OCP MXFP4 by the microxcaling recipe (docs/references.md#bitmod-5), element by element:
    shared exponent
    floor(log2 absmax) - 2, then per element a private exponent max(floor(log2|x|), 0), one
    mantissa bit rounded half away from zero, clamp at 6."""
    amax = max(abs(v) for v in block)
    e = math.floor(math.log2(amax)) - 2 if amax > 0 else 0
    out = []
    for v in block:
        x = v / 2.0 ** e
        p = max(math.floor(math.log2(abs(x))), 0) if x != 0 else 0
        m = math.floor(abs(x) / 2.0 ** p * 2 + 0.5) / 2 * 2.0 ** p
        out.append(math.copysign(min(m, 6.0), x) * 2.0 ** e)
    return e, out


def test_mx_matches_microxcaling_recipe():
    rng = np.random.default_rng(11)
    w = rng.standard_normal((8, 128)).astype(np.float32) * np.float32(0.03)
    w[0, :32] = [6.0, 0.25, 2.5, 5.0, -0.75, 1.75, -3.5, 0.0] * 4     # ties at every binade
    qw = quant.quantize(torch.from_numpy(w), "mx", 4)
    assert qw.group_size == 32 and qw.scale_mode == "e8m0"
    deq = qw.dequantize().numpy()
    for r in range(8):
        for b in range(4):
            e, ref = _mx_reference(w[r, 32 * b:32 * b + 32].astype(np.float64).tolist())
            assert float(qw.scales[r, b]) == 2.0 ** e
            assert deq[r, 32 * b:32 * b + 32].tolist() == ref
    assert deq[0, :8].tolist() == [6.0, 0.5, 3.0, 6.0, -1.0, 2.0, -4.0, 0.0]


def test_nf4_uses_absmax_and_table():
    w = torch.tensor([[1.0, -0.5, 0.6, 0.0] * 16])
    qw = quant.quantize(w, "nf4", 4, group_size=64)
    assert float(qw.scales[0, 0]) == 1.0
    # -0.5 lies between -0.5251 and -0.3949 (mid -0.46) -> -0.5251; 0.6 -> 0.5626 (mid 0.6428)
    assert qw.dequantize()[0, :4].tolist() == pytest.approx(
        [1.0, -0.5250730514526367, 0.5626170039176941, 0.0])


def test_ant_picks_int_or_flint():
    on_int = torch.tensor([[7.0, 5.0, -3.0, 1.0, -6.0, 2.0, 4.0, -7.0] * 16])
    assert quant.quantize(on_int, "ant", 4).dtype_ids[0, 0] == 0          # exact on int4
    on_flint = torch.tensor([[16.0, 1.0, 2.0, -3.0, 0.0, 8.0, -4.0, 6.0] * 16])
    qw = quant.quantize(on_flint, "ant", 4)
    assert qw.dtype_ids[0, 0] == 1 and torch.equal(qw.dequantize(), on_flint)
    assert qw.formats == ("int4", "flint4")
    assert quant.quantize(on_int, "ant", 3).formats == ("int3", "fp3")



def test_scheme_names_are_one_list():
    """golden.quant.names is the list; the implementations, the policy schema and the CLI read it,
    and reading it does not load torch (the CLI lists the names in --help)."""
    import subprocess
    import sys

    from bitflight.commands import eval as eval_cmd, quantize as quantize_cmd
    from bitflight.golden import policy
    from bitflight.golden.quant.names import SCHEME_NAMES, UNQUANTIZED

    assert set(SCHEME_NAMES) == set(quant.SCHEMES)
    assert policy.SCHEMES == (UNQUANTIZED,) + SCHEME_NAMES
    assert quantize_cmd.SCHEME_NAMES is SCHEME_NAMES
    assert eval_cmd.DEFAULT_SCHEMES.split(",") == [UNQUANTIZED, *SCHEME_NAMES]
    probe = "import sys, bitflight.golden.quant.names; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

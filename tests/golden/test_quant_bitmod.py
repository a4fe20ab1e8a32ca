"""BitMoD per-group datatype selection against hand-worked cases and a loop-based reference.

The reference below is written from docs/references.md#bitmod-1.2 to 1.3 alone (its own level lists,
plain Python
loops over elements and candidates); it shares no code with golden.quant or golden.formats.
"""
import numpy as np
import pytest
import torch

from bitflight.golden import formats, quant

E2M1 = [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12]
REF_LEVELS = {  # integer-scaled levels per candidate, in the order ER_POS, ER_NEG, EA_POS, EA_NEG
    3: [[-4, -2, -1, 0, 1, 2, 3, 4], [-4, -3, -2, -1, 0, 1, 2, 4],
        [-4, -2, -1, 0, 1, 2, 4, 6], [-6, -4, -2, -1, 0, 1, 2, 4]],
    4: [sorted(E2M1 + [10]), sorted(E2M1 + [-10]), sorted(E2M1 + [16]), sorted(E2M1 + [-16])],
}
UNIT = {3: 1.0, 4: 0.5}   # real value of one integer-scaled step


def ref_quantize_group(w16, levels):
    """One candidate on one fp16 group: (integer levels, fp16 scale, fp16 dequantized)."""
    absmax = max(abs(float(v)) for v in w16)
    qmax = max(abs(v) for v in levels)
    scale = np.float16(np.float16(absmax) / np.float16(qmax))
    scale = min(max(scale, np.float16(1e-5)), np.float16(1e4))
    out_levels, deq = [], []
    for v in w16:
        x = float(np.float16(v / scale))
        level = levels[0]
        for lo, hi in zip(levels[:-1], levels[1:]):
            if x > (lo + hi) / 2:          # strictly above the mid-point: an exact tie stays low
                level = hi
        out_levels.append(level)
        deq.append(np.float16(np.float16(level) * scale))
    return out_levels, scale, deq


def ref_mse(deq, w, dtype):
    """mean((deq - w)^2) as PyTorch computes it for the input dtype: fp16 squares and an fp16
    mean for fp16 weights (sum exact in float64, then one rounding), float64 otherwise (PyTorch
    uses float32 there; the caller treats near-ties as undecidable)."""
    if dtype == torch.float16:
        sq = [np.float16(np.float16(d - np.float16(v)) ** 2) for d, v in zip(deq, w)]
        return float(np.float16(sum(float(s) for s in sq) / len(sq)))
    return sum((float(d) - float(v)) ** 2 for d, v in zip(deq, w)) / len(w)


def _stored(err, dtype):
    """The artifact keeps the running best error in the input dtype."""
    return torch.tensor(err, dtype=torch.float64).to(dtype).item()


def ref_search(group, bits, dtype):
    """Per-candidate results, the chosen id (strict less-than against the best so far, initial
    1e3, list order) and whether a comparison was too close for a float64 reference to decide:
    PyTorch sums 128 float32 squares with a relative error below 128 * 2^-24 < 1e-5."""
    w16 = [np.float16(v) for v in group]
    results, best, best_id, best_deq, close = [], _stored(1e3, dtype), None, None, False
    for i, levels in enumerate(REF_LEVELS[bits]):
        lv, scale, deq = ref_quantize_group(w16, levels)
        err = ref_mse(deq, group, dtype)
        results.append((lv, scale, err))
        # identical dequantized groups give bit-identical float32 sums: a tie PyTorch also sees
        if dtype != torch.float16 and abs(err - best) <= 1e-5 * max(err, best) \
                and deq != best_deq:
            close = True
        if err < best:
            best, best_id, best_deq = _stored(err, dtype), i, deq
    return results, best_id, close


def _quantize_one_group(values, bits):
    w = torch.tensor([values], dtype=torch.float32)
    return quant.quantize(w, "bitmod", bits, group_size=len(values))


@pytest.mark.parametrize("bits", [3, 4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_matches_loop_reference_on_random_groups(bits, dtype):
    rng = np.random.default_rng(bits * 10 + (dtype == torch.float16))
    rows = []
    for kind in range(32):                 # gaussian, heavy-tailed, skewed and outlier groups
        g = rng.standard_normal(128) * 0.02
        if kind % 4 == 1:
            g = rng.standard_t(3, 128) * 0.01
        elif kind % 4 == 2:
            g = np.abs(g) - 0.005
        elif kind % 4 == 3:
            g[rng.integers(128)] *= rng.choice([-8, 8])
        rows.append(g)
    w = torch.tensor(np.array(rows), dtype=dtype)
    qw = quant.quantize(w, "bitmod", bits)
    deq = qw.dequantize().numpy()
    decided = 0
    for r in range(w.shape[0]):
        results, ref_id, close = ref_search(w[r].tolist(), bits, dtype)
        if close:
            continue
        decided += 1
        assert qw.dtype_ids[r, 0] == ref_id, f"row {r}"
        levels, scale, _ = results[ref_id]
        assert qw.unit_scales[r, 0] == np.float32(scale)
        real = deq[r] / np.float32(qw.scales[r, 0])
        assert np.array_equal(real, np.array(levels, dtype=np.float32) * UNIT[bits])
    assert decided >= 28


def _on_grid_group(values, n=128):
    """A 128-group holding ``values`` repeated (cycling)."""
    return [values[i % len(values)] for i in range(n)]


@pytest.mark.parametrize("sign,expect", [(1, 2), (-1, 3)])
def test_isolated_extreme_picks_ea_4bit(sign, expect):
    # One isolated extreme 8.0 and the rest on the E2M1 grid at scale 0.5 (absmax 8 / qmax 16):
    # EA_POS is exact (8 = special 16 x 0.5), so its MSE is 0. The ER grids use scale 8/12 and
    # cannot hit 0.5 (0.5 / 0.6665 = 0.75 rounds to 1 -> 0.6665); EA_NEG clamps 8 to 6.
    values = [8.0] + _on_grid_group([0.5, -1.0, 1.5, -0.5, 0.0, 2.0], 127)
    qw = _quantize_one_group([sign * v for v in values], 4)
    assert qw.dtype_ids[0, 0] == expect
    assert torch.equal(qw.dequantize()[0], torch.tensor([sign * v for v in values]))


@pytest.mark.parametrize("sign,expect", [(1, 2), (-1, 3)])
def test_isolated_extreme_picks_ea_3bit(sign, expect):
    # FP3_EA_POS = {-4,-2,-1,0,1,2,4,6}: with absmax 6 the scale is 1 and every value is exact.
    # ER (qmax 4) has scale 1.5 and rounds 1 to 1.5.
    values = [6.0] + _on_grid_group([1.0, -1.0, 2.0, -2.0, 0.0], 127)
    qw = _quantize_one_group([sign * v for v in values], 3)
    assert qw.dtype_ids[0, 0] == expect


@pytest.mark.parametrize("sign,expect", [(1, 0), (-1, 1)])
def test_dense_mid_range_picks_er_4bit(sign, expect):
    # absmax 6, scale 6/12 = 0.5 per unit (real 1.0): 5.0 is the ER_POS special (10 x 0.5) and
    # every other value is on E2M1, so ER_POS is exact; EA (scale 6/16 = 0.375) maps 5.0 to
    # 13.3 units -> 12 -> 4.5, an error; ER_NEG has no +5.
    values = _on_grid_group([5.0, 6.0, 5.0, 3.0, 1.5, 5.0, 4.0, -2.0])
    qw = _quantize_one_group([sign * v for v in values], 4)
    assert qw.dtype_ids[0, 0] == expect


@pytest.mark.parametrize("sign,expect", [(1, 0), (-1, 1)])
def test_dense_mid_range_picks_er_3bit(sign, expect):
    # absmax 4, ER scale 4/4 = 1: 3.0 is the FP3_ER_POS special, the rest is on fp3, so ER_POS is
    # exact; EA (scale 4/6) sends 3.0 to 4.5 units, a tie that rounds down to 4 -> 2.67.
    values = _on_grid_group([3.0, 4.0, 3.0, -1.0, 2.0, 3.0, -2.0, 1.0])
    qw = _quantize_one_group([sign * v for v in values], 3)
    assert qw.dtype_ids[0, 0] == expect
    assert torch.equal(qw.dequantize()[0], torch.tensor([sign * v for v in values]))


def test_tie_goes_to_earlier_candidate():
    # ±6, ±3, ±1.5 are on both ER grids at scale 0.5 per unit (MSE 0 for ER_POS and ER_NEG);
    # EA grids have scale 0.375 and miss 3.0. ER_POS (id 0) wins the tie against ER_NEG.
    qw = _quantize_one_group(_on_grid_group([6.0, -6.0, 3.0, -3.0, 1.5, -1.5]), 4)
    assert qw.dtype_ids[0, 0] == 0
    # An all-zero group: every candidate is exact; the first one is kept.
    qw = _quantize_one_group([0.0] * 128, 4)
    # the scale is the clamp minimum fp16(1e-5) = 168 x 2^-24 per unit, i.e. twice that real
    assert qw.dtype_ids[0, 0] == 0 and float(qw.scales[0, 0]) == 2 * 168 * 2.0 ** -24


def test_midpoint_tie_rounds_to_lower_level():
    # The grid schemes share the artifact's quant_datatype; "fp" has a single grid, so the
    # selection cannot hide the rounding. absmax 6 -> scale 0.5 per unit (real 1.0). In units:
    # 2.5 -> 5 is the mid-point of 4 and 6, 3.5 -> 7 of 6 and 8, 5.0 -> 10 of 8 and 12,
    # -2.5 -> -5 of -6 and -4: every tie goes to the LOWER level (toward -inf, not toward 0).
    w = torch.tensor([_on_grid_group([6.0, 2.5, 3.5, 5.0, -2.5])])
    qw = quant.quantize(w, "fp", 4)
    assert qw.dequantize()[0, :5].tolist() == [6.0, 2.0, 3.0, 4.0, -3.0]
    # the same ties inside a BitMoD group that picks ER_POS (5.0 is its special value, so the
    # group is exact on ER_POS except for the ties, which every candidate also has to round)
    w = torch.tensor([_on_grid_group([6.0, 5.0, 5.0, 5.0, 2.5, -2.5])])
    qw = quant.quantize(w, "bitmod", 4)
    assert qw.dtype_ids[0, 0] == 0
    assert qw.dequantize()[0, :6].tolist() == [6.0, 5.0, 5.0, 5.0, 2.0, -3.0]


@pytest.mark.parametrize("mode", ["fp16", "int"])
def test_group_no_candidate_beats_initial_error_stays_zero(mode):
    # Weights of +-40000: every candidate's MSE is far above the artifact's initial error 1e3,
    # so no candidate is taken and the group stays all-zero with scale 0 (as in the artifact).
    w = torch.tensor([[40000.0, -40000.0, 17000.0, -3000.0] * 32])
    qw = quant.quantize(w, "bitmod", 4, scale_mode=mode)
    assert qw.dtype_ids.tolist() == [[0]] and float(qw.scales[0, 0]) == 0.0
    assert not qw.codes.any() and not qw.dequantize().any()
    assert quant.QuantizedWeight.unpack(qw.pack()) == qw


def test_int_mode_scale_reconstruction():
    # int_sym 4-bit (qmax 7): group absmaxes 7.0 and 3.5 give fp16 scales 1.0 and 0.5.
    # s_row = fp16(1/255) = 1028 * 2^-18 = 0.0039215087890625; q = round(1/s_row) = 255,
    # round(0.5/s_row) = round(127.502) = 128; effective scales 255*s_row and 128*s_row.
    w = torch.zeros(1, 256)
    w[0, 0], w[0, 1], w[0, 128], w[0, 129] = 7.0, 3.0, 3.5, -1.0
    qw = quant.quantize(w, "int_sym", 4, scale_mode="int")
    s_row = 1028 * 2.0 ** -18
    assert qw.row_scales.dtype == np.float16 and float(qw.row_scales[0]) == s_row
    assert qw.int_scales.tolist() == [[255, 128]]
    assert qw.scales.tolist() == [[np.float32(255 * s_row), np.float32(128 * s_row)]]
    # codes are re-rounded with the effective scale: 3.5 / (128 s_row) = 6.97 -> 7, 3/(255 s_row)
    # = 3.0001 -> 3, -1/(128 s_row) = -1.99 -> -2
    assert qw.dequantize()[0, [0, 1, 128, 129]].tolist() == pytest.approx(
        [7 * 255 * s_row, 3 * 255 * s_row, 7 * 128 * s_row, -2 * 128 * s_row], rel=1e-7)


@pytest.mark.parametrize("bits", [3, 4])
def test_int_mode_keeps_selection_and_reconstructs(bits):
    rng = np.random.default_rng(7)
    w = torch.tensor(rng.standard_normal((8, 512)) * 0.02, dtype=torch.float32)
    fp = quant.quantize(w, "bitmod", bits)
    hw = quant.quantize(w, "bitmod", bits, scale_mode="int")
    assert np.array_equal(fp.dtype_ids, hw.dtype_ids)
    row = (fp.scales.astype(np.float64).max(1) / 255).astype(np.float16)
    assert np.array_equal(hw.row_scales, row)
    q = np.clip(np.rint(fp.scales / row.astype(np.float64)[:, None]), 1, 255)
    assert np.array_equal(hw.int_scales, q.astype(np.uint8))
    assert np.array_equal(hw.scales, (q * row.astype(np.float64)[:, None]).astype(np.float32))
    # codes are re-rounded with the applied scale: the nearest level (ties down) of w / scale
    eff = q * row.astype(np.float64)[:, None]
    w64 = w.double().numpy()
    for r in range(8):
        for g in range(4):
            fmt = formats.get(formats.BITMOD_CANDIDATES[bits][hw.dtype_ids[r, g]])
            x = w64[r, 128 * g:128 * (g + 1)] / eff[r, g]
            assert np.array_equal(hw.codes[r, 128 * g:128 * (g + 1)], fmt.round_to_grid(x))


@pytest.mark.parametrize("bits", [3, 4])
def test_int_mode_rerounding_never_worse_than_fp16_codes(bits):
    # The documented choice: with the scale the hardware applies, re-rounded codes are the
    # nearest levels, so no element gets worse than keeping the codes chosen for the fp16 scale.
    rng = np.random.default_rng(bits + 20)
    w = torch.tensor(rng.standard_t(4, (16, 512)) * 0.02, dtype=torch.float32)
    fp = quant.quantize(w, "bitmod", bits)
    hw = quant.quantize(w, "bitmod", bits, scale_mode="int")
    g = np.arange(512) // 128
    s = hw.scales[:, g].astype(np.float64)
    old = fp.dequantize().double().numpy() / fp.scales[:, g].astype(np.float64) * s
    new = hw.dequantize().double().numpy()
    w64 = w.double().numpy()
    assert (np.abs(w64 - new) <= np.abs(w64 - old) + 1e-12).all()
    assert ((w64 - new) ** 2).mean() < ((w64 - old) ** 2).mean()


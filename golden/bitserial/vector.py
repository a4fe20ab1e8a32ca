"""Vectorized BitMoD datapath: the same bits as :mod:`.scalar` for whole matrices (torch, CPU).

Work is done per block of output rows (``_block_rows``), small enough to stay in the L2/L3
cache and to bound memory (the 49152-row lm_head of a 32-token prefill would otherwise need
gigabytes of temporaries). Per block:

1. lane stage (no state): every (slot, token, row, chunk) at once in int16: product exponent
   ``a_exp + shift``, the 4-lane max E, each lane's ``±sig << guard`` arithmetically shifted by
   ``E - exponent`` and summed into the partial P;
2. group accumulators: one vector align-add per PE cycle (chunk-major, slot-minor), exactly in
   the PE's order, over every (token, row, group) of the block;
3. dequant (an exact product) and the cross-group align-add, group by group.

A dead lane (zero activation or empty weight slot) gets exponent _DEAD (it never wins the max)
and contributes 0 (an empty slot has sign 0, a zero activation has value 0). Zero operands carry
no exponent in the scalar model; here every zero partial and zero accumulator is kept at the
exponent floor (canonical zero), so the align-add needs no per-operand zero test.
"""
from __future__ import annotations

import numpy as np
import torch

from .params import DEFAULT, Datapath
from .scalar import _act_bits
from .weights import EngineWeight, engine_weight

_DEAD = -64
_BLOCK_ELEMS = 1 << 20    # lane-stage elements (slot x token x row x chunk) per row block
# Intra-op threads while linear runs (None: leave the caller's setting). Every op works on a
# cache-sized block, so extra OpenMP threads have little to split and each op pays their
# wake-up; on the shared 2-core development machine 2 threads made linear 3-17x slower (wall)
# than 1 (docs/results/simulation-speed.md), so linear runs single-threaded by default.
THREADS: int | None = 1


def _weight_terms(ew: EngineWeight, lanes: int) -> tuple:
    """Per weight and slot, as [lane, slot, chunk, N] int16 views (rows innermost, so that every
    elementwise op runs over long contiguous rows): shift (or _DEAD) and sign (+1, -1, or 0 when
    the slot is empty), the slot count, and the group scales as [group, N]. Built with one table
    gather over all formats and cached on the EngineWeight: a layer's weight is reused for every
    token."""
    cache = ew.__dict__.setdefault("_vector_terms", {})
    if lanes in cache:
        return cache[lanes]
    slots = max(t.slots for t in ew.tables)
    size = max(len(t.used) for t in ew.tables)
    # joint table over (format, code): row f * size + code
    shift_tab = np.full((len(ew.tables), size, slots), _DEAD, np.int16)
    sign_tab = np.zeros((len(ew.tables), size, slots), np.int16)
    for i, t in enumerate(ew.tables):
        shift_tab[i, :len(t.used), :t.slots] = np.where(t.valid, t.shift.astype(np.int16), _DEAD)
        sign = 1 - 2 * t.negative.astype(np.int16)
        sign_tab[i, :len(t.used), :t.slots] = np.where(t.valid, sign, 0)
    n, k = ew.shape
    chunks = k // lanes
    # table row f * size + code per weight, built directly in the [lane, chunk, N] layout, then
    # one gather per (kind, slot) from a cache-resident column: no transposing copy of the terms
    fmt = torch.from_numpy(ew.fmt_index.T.astype(np.int32) * size)       # [group, N]
    idx = torch.empty((lanes, chunks, n), dtype=torch.int32)
    idx.copy_(torch.from_numpy(ew.codes).view(n, chunks, lanes).permute(2, 1, 0))
    idx += fmt.repeat_interleave(ew.group_size // lanes, dim=0)          # [chunk, N] broadcast
    idx = idx.view(-1)

    def gather(tab: np.ndarray) -> torch.Tensor:
        cols = torch.from_numpy(tab.reshape(-1, slots).T.copy())
        out = torch.empty((slots, lanes * chunks * n), dtype=torch.int16)
        for j in range(slots):
            torch.index_select(cols[j], 0, idx, out=out[j])
        return out.view(slots, lanes, chunks, n).transpose(0, 1)
    shift, sign = gather(shift_tab), gather(sign_tab)
    scales = (torch.from_numpy(ew.s_int).T.contiguous(), torch.from_numpy(ew.s_exp).T.contiguous())
    cache[lanes] = (shift, sign, slots, scales)
    return cache[lanes]


def _acts(x_fp16: torch.Tensor, ew: EngineWeight, dp: Datapath) -> tuple[torch.Tensor, torch.Tensor]:
    """fp16 activations -> (exponent or _DEAD, signed significand << guard), int16 [T, K]."""
    bits = torch.from_numpy(ew.pad_acts(_act_bits(x_fp16)).astype(np.int32))
    e, frac, neg = bits >> 10 & 0x1F, bits & 0x3FF, bits >> 15 & 1
    sig = torch.where(e > 0, frac | 0x400, frac)
    exp = torch.where(sig != 0, e.clamp(min=1), torch.full_like(e, _DEAD))
    value = (sig << dp.guard_bits) * (1 - 2 * neg)
    # int16 holds a lane value for the default 3 guard bits (15-bit signed lane product)
    return exp.to(torch.int16), value.to(torch.int16 if dp.lane_bits <= 16 else torch.int32)


def _lane_stage(a_exp, a_val, w_shift, w_sign, lanes: int, pair16: bool):
    """Partials P and exponents E (int32, canonical zero E = 0) of one row block.

    a_exp, a_val: [lane, 1, chunk, T, 1]; w_shift, w_sign: [lane, slot, chunk, 1, rows].
    An int16 shift by 15 or more gives 0 or -1 (floor), as the hardware's barrel shifter.
    """
    prod_exp = [a_exp[l] + w_shift[l] for l in range(lanes)]
    e_max = prod_exp[0].clone()
    for pe in prod_exp[1:]:
        torch.maximum(e_max, pe, out=e_max)
    vals = []
    for l in range(lanes):
        lane = torch.mul(a_val[l], w_sign[l])
        vals.append(lane.__irshift__(torch.sub(e_max, prod_exp[l], out=prod_exp[l])))
    if pair16:   # two 15-bit lane values fit int16; the 4-lane partial (17 bits) needs int32
        vals = [vals[i].add_(vals[i + 1]) if i + 1 < len(vals) else vals[i]
                for i in range(0, len(vals), 2)]
    total = vals[0].to(torch.int32)
    for v in vals[1:]:
        total += v
    return total, _zero_to_floor(e_max.to(torch.int32), total, 0)


def _align_add(acc, exp, value, value_exp, width: int, floor: int, may_overflow: bool):
    """Vector form of scalar.accumulate on canonical operands (a zero has exponent ``floor``),
    in place on ``acc``; returns the new exponent (canonical)."""
    m = torch.maximum(exp, value_exp)
    acc >>= torch.sub(m, exp, out=exp)
    acc += value >> torch.sub(m, value_exp)
    if may_overflow:
        # ((acc >> (width - 1)) + 1) >> 1 is 0 exactly when acc fits the signed width
        over = (((acc >> (width - 1)) + 1) >> 1).abs_()
        acc >>= over
        m += over
    return _zero_to_floor(m, acc, floor)


def _zero_to_floor(exp: torch.Tensor, mant: torch.Tensor, floor: int) -> torch.Tensor:
    """exp where mant != 0, else ``floor`` (in place). For floor 0 a multiply by min(|mant|, 1):
    torch's comparison and masked_fill kernels take 3-4x longer than abs, clamp and mul."""
    if floor:
        return exp.masked_fill_(mant == 0, floor)
    return exp.mul_(mant.abs().clamp_(max=1))


def _partial_bound(dp: Datapath) -> int:
    """Largest |P|: every lane at the full significand, none shifted."""
    return dp.lanes * (((1 << 11) - 1) << dp.guard_bits)


def _block_rows(t_count: int, chunks: int, slots: int) -> int:
    return max(1, _BLOCK_ELEMS // max(1, t_count * chunks * slots))


def linear(x_fp16: torch.Tensor, qw, dp: Datapath = DEFAULT) -> torch.Tensor:
    """BitMoD-engine linear layer: fp16 x [T, K] times quantized W [N, K]^T -> fp16 [T, N].

    Bit-identical to :func:`.scalar.linear_scalar` (see :mod:`.scalar` for the datapath and
    :mod:`.bound` for the error bound against an exact float64 product). ``qw`` may be a
    QuantizedWeight or, to reuse the cached term tables across calls, an EngineWeight.
    """
    ew = qw if isinstance(qw, EngineWeight) else engine_weight(qw, dp.lanes)
    caller = torch.get_num_threads()
    if THREADS is not None and THREADS != caller:
        torch.set_num_threads(THREADS)
    try:
        out, out_exp = dot_accumulators(x_fp16, ew, dp)
    finally:
        if torch.get_num_threads() != caller:
            torch.set_num_threads(caller)
    return finalize(out, out_exp, ew, dp)


def dot_accumulators(x_fp16: torch.Tensor, ew: EngineWeight,
                     dp: Datapath = DEFAULT) -> tuple[torch.Tensor, torch.Tensor]:
    """Output accumulators (mantissa O, exponent Y), int64 [T, N]: :func:`.scalar.dot_accumulator`
    for every token and row (before ``finalize``)."""
    a_exp, a_val = _acts(x_fp16, ew, dp)
    w_shift, w_sign, slots, (s_int, s_exp) = _weight_terms(ew, dp.lanes)
    t_count, (n, k), lanes = a_exp.shape[0], ew.shape, dp.lanes
    chunks, groups = k // lanes, k // ew.group_size
    per_group = chunks // groups
    # tokens next to rows (innermost): the per-cycle slices of the group stage are contiguous
    # [T, rows] planes
    a_exp, a_val = (a.view(t_count, chunks, lanes).permute(2, 1, 0)
                    .reshape(lanes, 1, chunks, t_count, 1) for a in (a_exp, a_val))
    pair16 = dp.lane_bits <= 15
    # The group accumulator cannot overflow if the partials at full size cannot make it
    # overflow: a floor shift never grows a magnitude, so |A| <= sum |P| (scalar.accumulate).
    acc_over = per_group * slots * _partial_bound(dp) >= 1 << (dp.acc_bits - 1)
    out = torch.zeros((t_count, n), dtype=torch.int64)
    out_exp = torch.full_like(out, ew.exp_floor)
    rows = _block_rows(t_count, chunks, slots)
    for n0 in range(0, n, rows):
        sl = slice(n0, min(n, n0 + rows))
        p, e = _lane_stage(a_exp, a_val, w_shift[:, :, :, None, sl], w_sign[:, :, :, None, sl],
                           lanes, pair16)
        # [slot, group, chunk-in-group, T, rows]; a PE cycle is (chunk-in-group, slot)
        p = p.view(slots, groups, per_group, t_count, -1)
        e = e.view(slots, groups, per_group, t_count, -1)
        acc = torch.zeros((groups,) + p.shape[3:], dtype=torch.int32)   # [group, T, rows]
        exp = torch.zeros_like(acc)
        for p_j, e_j in zip(p.permute(2, 0, 1, 3, 4).unbind(0), e.permute(2, 0, 1, 3, 4).unbind(0)):
            for p_js, e_js in zip(p_j.unbind(0), e_j.unbind(0)):     # PE cycle order
                exp = _align_add(acc, exp, p_js, e_js, dp.acc_bits, 0, acc_over)
        dp.check_exp(int(exp.max()), "group accumulator")
        r = acc.to(torch.int64).mul_(s_int[:, None, sl])
        r_exp = exp.to(torch.int64).add_(s_exp[:, None, sl])
        r_exp.masked_fill_(r == 0, ew.exp_floor)   # canonical zero (scale 0 or A = 0)
        o, o_exp = out[:, sl], out_exp[:, sl]
        for g in range(groups):
            o_exp.copy_(_align_add(o, o_exp.clone(), r[g], r_exp[g], dp.out_bits,
                                   ew.exp_floor, True))
    for y in (out_exp.min(), out_exp.max()):
        dp.check_exp(int(y), "output accumulator", signed=True)
    return out, out_exp


def finalize(out: torch.Tensor, out_exp: torch.Tensor, ew: EngineWeight,
             dp: Datapath = DEFAULT) -> torch.Tensor:
    """Vector form of :func:`.output.finalize_float64`, which gives the bits of the integer
    ``finalize`` (tests/golden/test_bitserial_finalize.py). numpy rounds float64 -> fp16 once
    (torch would round twice, through float32)."""
    value = out.numpy().astype(np.float64) * (ew.row_scale * ew.unit)[None, :]
    value = np.ldexp(value, out_exp.numpy() - dp.lsb_offset)
    with np.errstate(over="ignore"):
        return torch.from_numpy(value.astype(np.float16))

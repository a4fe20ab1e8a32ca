"""Scalar reference of the BitMoD datapath: one PE, one cycle at a time, plain Python integers.

This is the model the RTL testbenches compare against; :mod:`.vector` computes the same bits for
whole matrices. Per PE and output element (docs/rtl/bitmod.md has the diagram):

1. ``lane_cycle`` (exp_match + bs_mul + adder tree, docs/references.md#bitmod-2.3): lane l
multiplies fp16
   activation (s, e, sig) by its weight term (neg, shift): product exponent ``e + shift``; the
   cycle's exponent E is the max over live lanes (non-zero activation and a term present); each
   live lane's ``±(sig << guard)`` is arithmetically right-shifted by ``E - e - shift`` (floor);
   the lanes are summed: partial P (``partial_bits`` signed) at exponent E.
2. ``accumulate`` (grp_accum): align accumulator and partial to ``M = max(X, E)`` by arithmetic
   right shift, add, and if the sum leaves the signed ``width`` range shift it right once more and
   increment the exponent (normalization is right-only). A zero operand has no exponent (it
   counts as the floor, 0), so zero partials never coarsen the sum and zero is always (0, 0).
3. ``dequant`` (bit-serial dequant unit): ``R = A * s_int`` by MSB-first shift-and-add, one scale
   bit per cycle; exact. The exponent gets the group's scale exponent (0 in integer-scale mode,
   the fp16 group scale's exponent in fp16 mode: signed, ``out_exp_bits``).
4. Cross-group accumulation: ``accumulate`` again, ``out_bits`` wide, from (0, MIN_GROUP_EXP):
   zero has the smallest exponent a dequantized group can have (``exp_floor``).
5. ``finalize`` (:mod:`.output`): ``O * 2**(Y - lsb_offset) * row_scale * unit`` rounded once
   to fp16, round-to-nearest-even, overflow to inf (IEEE), by the output unit's integer algorithm.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .output import finalize
from .params import DEFAULT, Datapath, fp16_fields
from .terms import TermTable
from .weights import EngineWeight, engine_weight

Term = tuple[int, int] | None


def lane_cycle(acts: Sequence[tuple[int, int, int]], terms: Sequence[Term],
               dp: Datapath = DEFAULT) -> tuple[int, int]:
    """One PE cycle: fp16 fields per lane and one term per lane -> (partial P, exponent E)."""
    live = []
    for (sign, exp, sig), term in zip(acts, terms, strict=True):
        if term is None or sig == 0:
            continue
        neg, shift = term
        value = sig << dp.guard_bits
        live.append((-value if sign ^ neg else value, exp + shift))
    if not live:
        return 0, 0
    e_max = max(e for _, e in live)
    return sum(v >> (e_max - e) for v, e in live), e_max


def accumulate(acc: int, exp: int, value: int, value_exp: int, width: int,
               floor: int = 0) -> tuple[int, int]:
    """Floating align-add with floor truncation and right-only normalization (see module doc).

    A zero operand carries no exponent (it counts as ``floor``), so a zero partial or a group
    with scale 0 cannot coarsen the accumulator, and a zero sum is always ``(0, floor)``.
    """
    exp = exp if acc else floor
    value_exp = value_exp if value else floor
    m = max(exp, value_exp)
    total = (acc >> (m - exp)) + (value >> (m - value_exp))
    limit = 1 << (width - 1)
    if not total:
        return 0, floor
    if -limit <= total < limit:
        return total, m
    return total >> 1, m + 1


def dequant(acc: int, scale: int, scale_bits: int) -> int:
    """Bit-serial integer rescale: one scale bit per cycle, MSB first (equals ``acc * scale``)."""
    if not 0 <= scale < 1 << scale_bits:
        raise ValueError(f"group scale {scale} does not fit {scale_bits} unsigned bits")
    out = 0
    for b in reversed(range(scale_bits)):
        out = (out << 1) + (acc if scale >> b & 1 else 0)
    return out


def group_sum(act_bits: Sequence[int], codes: Sequence[int], table: TermTable,
              dp: Datapath = DEFAULT) -> tuple[int, int, int]:
    """One group on one PE -> (accumulator A, exponent X, cycles taken)."""
    acc = exp = cycles = 0
    for c0 in range(0, len(codes), dp.lanes):
        acts = [fp16_fields(int(b)) for b in act_bits[c0:c0 + dp.lanes]]
        lane_codes = [int(c) for c in codes[c0:c0 + dp.lanes]]
        for j in range(table.slots):
            terms = [(int(table.negative[c, j]), int(table.shift[c, j]))
                     if table.valid[c, j] else None for c in lane_codes]
            p, e = lane_cycle(acts, terms, dp)
            acc, exp = accumulate(acc, exp, p, e, dp.acc_bits)
            cycles += 1
    return acc, exp, cycles


def dot_accumulator(act_bits: Sequence[int], ew: EngineWeight, row: int,
                    dp: Datapath = DEFAULT) -> tuple[int, int, int]:
    """One output element before finalize: (mantissa O, exponent Y, PE cycles of all groups)."""
    out, out_exp, cycles = 0, ew.exp_floor, 0
    g = ew.group_size
    for grp in range(ew.codes.shape[1] // g):
        table = ew.tables[ew.fmt_index[row, grp]]
        acc, exp, n = group_sum(act_bits[grp * g:(grp + 1) * g],
                                ew.codes[row, grp * g:(grp + 1) * g], table, dp)
        dp.check_exp(exp, "group accumulator")
        r = dequant(acc, int(ew.s_int[row, grp]), ew.scale_bits)
        out, out_exp = accumulate(out, out_exp, r, exp + int(ew.s_exp[row, grp]), dp.out_bits,
                                  ew.exp_floor)
        dp.check_exp(out_exp, "output accumulator", signed=True)
        cycles += n
    return out, out_exp, cycles


def dot(act_bits: Sequence[int], ew: EngineWeight, row: int,
        dp: Datapath = DEFAULT) -> int:
    """One output element: fp16 activations (bit patterns) . weight row -> fp16 bit pattern."""
    out, out_exp, _ = dot_accumulator(act_bits, ew, row, dp)
    return finalize(out, out_exp, int(ew.row_scale_bits[row]), ew.unit_shift, dp)


def linear_scalar(x_fp16, qw, dp: Datapath = DEFAULT):
    """Slow reference of :func:`bitflight.golden.bitserial.linear` (torch fp16 [T, N])."""
    import torch

    ew = engine_weight(qw, dp.lanes)
    x = ew.pad_acts(_act_bits(x_fp16))
    out = np.array([[dot(x[t], ew, n, dp) for n in range(ew.shape[0])]
                    for t in range(x.shape[0])], dtype=np.uint16).reshape(x.shape[0], ew.shape[0])
    return torch.from_numpy(out.view(np.float16).copy())


def _act_bits(x_fp16) -> np.ndarray:
    import torch

    if not isinstance(x_fp16, torch.Tensor) or x_fp16.dtype != torch.float16 or x_fp16.dim() != 2:
        raise ValueError("x_fp16 must be a 2-D torch.float16 tensor [T, K]")
    bits = x_fp16.contiguous().view(torch.int16).numpy().view(np.uint16).astype(np.int64)
    if np.any((bits >> 10 & 0x1F) == 0x1F):
        raise ValueError("x_fp16 holds inf or NaN; the BitMoD PE takes finite activations only")
    return bits

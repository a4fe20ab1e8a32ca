"""Vectorized BitMoD datapath: the same bits as :mod:`.scalar` for whole matrices (torch, CPU).

The lane stage (exponent match, alignment, adder tree) has no state, so it runs for every (token,
row, chunk, slot) at once in int16; only the accumulators loop, over the cycles of one group and
then over the groups, exactly in the PE's order. Activations of a dead lane get exponent -64 and
an empty weight slot gets sign 0, so dead lanes never win the exponent max and add 0.
"""
from __future__ import annotations

import numpy as np
import torch

from .params import DEFAULT, Datapath
from .scalar import _act_bits
from .weights import EngineWeight, engine_weight

_DEAD = -64
_LANE_ELEMS = 1 << 23     # int16 elements per lane-stage block (~16 MB per temporary)


def _weight_terms(ew: EngineWeight, lanes: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Per weight and slot, laid out [lane, slot, 1, N, chunk]: shift (or _DEAD) and sign (+1, -1,
    or 0 when the slot is empty). Cached on the EngineWeight: a layer's weight is reused."""
    cache = ew.__dict__.setdefault("_vector_terms", {})
    if lanes in cache:
        return cache[lanes]
    slots = max(t.slots for t in ew.tables)
    n, k = ew.shape
    shift = np.full((n, k, slots), _DEAD, np.int16)
    sign = np.zeros((n, k, slots), np.int16)
    per_elem = np.repeat(ew.fmt_index, ew.group_size, axis=1)
    for i, t in enumerate(ew.tables):
        sel = per_elem == i
        codes = ew.codes[sel]
        valid = t.valid[codes]
        shift[sel, :t.slots] = np.where(valid, t.shift[codes].astype(np.int16), _DEAD)
        sign[sel, :t.slots] = np.where(valid, 1 - 2 * t.negative[codes].astype(np.int16), 0)
    chunks = k // lanes

    def layout(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).view(n, chunks, lanes, slots).permute(2, 3, 0, 1) \
            .unsqueeze(2).contiguous()
    cache[lanes] = (layout(shift), layout(sign), slots)
    return cache[lanes]


def _acts(x_fp16: torch.Tensor, ew: EngineWeight, dp: Datapath) -> tuple[torch.Tensor, torch.Tensor]:
    """fp16 activations -> (exponent or _DEAD, signed significand << guard), int16 [T, K]."""
    bits = torch.from_numpy(ew.pad_acts(_act_bits(x_fp16)).astype(np.int32))
    e, frac, neg = bits >> 10 & 0x1F, bits & 0x3FF, bits >> 15 & 1
    sig = torch.where(e > 0, frac | 0x400, frac)
    exp = torch.where(sig != 0, e.clamp(min=1), torch.full_like(e, _DEAD))
    value = (sig << dp.guard_bits) * (1 - 2 * neg)
    return exp.to(torch.int16), value.to(torch.int16)


def lane_partials(x_fp16: torch.Tensor, ew: EngineWeight, dp: Datapath = DEFAULT):
    """Partials P (int32) and exponents E (int32), [cycle, T, N, group], in PE cycle order.

    Lanes are the outermost dimension so that the 4-way max and sum are element-wise over
    contiguous blocks. torch shifts by more than the width give 0 / -1 (floor), like hardware.
    """
    a_exp, a_val = _acts(x_fp16, ew, dp)
    w_shift, w_sign, slots = _weight_terms(ew, dp.lanes)
    t_count, (n, k), lanes = a_exp.shape[0], ew.shape, dp.lanes
    chunks, groups = k // lanes, k // ew.group_size
    per_group = chunks // groups
    # [lane, 1, T, 1, chunk] and [lane, slot, 1, N, chunk]: chunk innermost in both operands
    a_exp = a_exp.view(t_count, chunks, lanes).permute(2, 0, 1).reshape(lanes, 1, t_count, 1, chunks)
    a_val = a_val.view(t_count, chunks, lanes).permute(2, 0, 1).reshape(lanes, 1, t_count, 1, chunks)
    partial = torch.empty(slots, t_count, n, chunks, dtype=torch.int32)
    expo = torch.empty(slots, t_count, n, chunks, dtype=torch.int16)
    block = max(1, _LANE_ELEMS // max(1, t_count * k * slots))
    for n0 in range(0, n, block):
        sl = slice(n0, min(n, n0 + block))
        prod_exp = [a_exp[l] + w_shift[l, :, :, sl] for l in range(lanes)]
        e_max = prod_exp[0].clone()
        for pe in prod_exp[1:]:
            torch.maximum(e_max, pe, out=e_max)
        e_max.clamp_(min=0)
        total = torch.zeros(e_max.shape, dtype=torch.int32)
        for l in range(lanes):
            lane = a_val[l] * w_sign[l, :, :, sl]
            lane >>= torch.sub(e_max, prod_exp[l], out=prod_exp[l])
            total += lane
        partial[:, :, sl] = total
        expo[:, :, sl] = e_max
    # cycle order inside a group: chunk-major, slot-minor
    shape = (slots, t_count, n, groups, per_group)
    return (partial.view(shape).permute(4, 0, 1, 2, 3).reshape(-1, t_count, n, groups),
            expo.view(shape).permute(4, 0, 1, 2, 3).reshape(-1, t_count, n, groups).to(torch.int32))


def _align_add(acc, exp, value, value_exp, width: int, floor: int = 0):
    """Vector form of scalar.accumulate (zero operands count as ``floor``), in place."""
    exp = torch.where(acc != 0, exp, floor)
    value_exp = torch.where(value != 0, value_exp, floor)
    m = torch.maximum(exp, value_exp)
    acc >>= exp.neg_().add_(m)
    acc += value >> value_exp.neg_().add_(m)
    # ((acc >> (width - 1)) + 1) >> 1 is 0 exactly when acc fits the signed width
    over = (((acc >> (width - 1)) + 1) >> 1).abs_()
    acc >>= over
    m.add_(over)
    return acc, torch.where(acc != 0, m, floor)


def group_sums(partial: torch.Tensor, expo: torch.Tensor,
               dp: Datapath = DEFAULT) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group accumulators (A, X), int32 [T, N, K // G], from ``lane_partials``."""
    acc = torch.zeros(partial.shape[1:], dtype=torch.int32)
    exp = torch.zeros_like(acc)
    for i in range(partial.shape[0]):
        acc, exp = _align_add(acc, exp, partial[i], expo[i], dp.acc_bits)
    return acc, exp


def linear(x_fp16: torch.Tensor, qw, dp: Datapath = DEFAULT) -> torch.Tensor:
    """BitMoD-engine linear layer: fp16 x [T, K] times quantized W [N, K]^T -> fp16 [T, N].

    Bit-identical to :func:`.scalar.linear_scalar` (see :mod:`.scalar` for the datapath and
    :mod:`.bound` for the error bound against an exact float64 product).
    """
    ew = qw if isinstance(qw, EngineWeight) else engine_weight(qw, dp.lanes)
    partial, expo = lane_partials(x_fp16, ew, dp)
    acc, exp = group_sums(partial, expo, dp)
    r = acc.to(torch.int64) * torch.from_numpy(ew.s_int).unsqueeze(0)
    r_exp = exp.to(torch.int64) + torch.from_numpy(ew.s_exp).unsqueeze(0)
    out = torch.zeros(acc.shape[:2], dtype=torch.int64)
    out_exp = torch.full_like(out, ew.exp_floor)
    for g in range(acc.shape[2]):
        out, out_exp = _align_add(out, out_exp, r[..., g], r_exp[..., g], dp.out_bits,
                                  ew.exp_floor)
    return finalize(out, out_exp, ew, dp)


def finalize(out: torch.Tensor, out_exp: torch.Tensor, ew: EngineWeight,
             dp: Datapath = DEFAULT) -> torch.Tensor:
    """Vector form of scalar.finalize. numpy rounds float64 -> fp16 once (torch rounds twice)."""
    value = out.numpy().astype(np.float64) * (ew.row_scale * ew.unit)[None, :]
    value = np.ldexp(value, out_exp.numpy() - dp.lsb_offset)
    with np.errstate(over="ignore"):
        return torch.from_numpy(value.astype(np.float16))

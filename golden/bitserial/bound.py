"""Derived bound on |linear(x, W) - x . W_dequantized| (exact real arithmetic), per output.

Notation (one output element, one group g of C_g = (G / L) * slots cycles, L lanes):
``u(e) = 2**(e - lsb_offset)`` is the weight of one LSB at exponent e; a term product is
``|a_k| * 2**shift`` for a weight term of activation a_k; M_g is the largest term product of the
group, T_g the sum of all of them.

1. Every truncation is a floor of one operand by a right shift, error in [0, 1) LSB of the
   exponent it is aligned to. Per cycle: at most L - 1 lanes are shifted (the lane that sets E is
   not), the accumulator alignment shifts one of its two operands, and an overflow normalization
   drops one more bit: < (L + 1) u(X) per cycle, where the accumulator exponent X never decreases.
   So the group error Err_g < C_g (L + 1) u_g with u_g the largest LSB the accumulator reaches.
2. Every exponent the accumulator takes is the floor 0 (u <= 2**-lsb_offset), a cycle's max
   exponent E (the lane at E has a product of at
   least 2**(E - 15) if its activation is normal, so u(E) <= 2**-(10 + guard) * M_g; a subnormal
   lane has E <= 1 + 7, so u(E) <= 2**(8 - lsb_offset)), or by an overflow normalization, which
   happens only when the running sum is >= 2**(acc_bits - 1) LSBs: then
   u_g <= 2**-(acc_bits - 2) * (T_g + Err_g). Solving for u_g gives ``_group_lsb`` below.
3. The dequant multiply is exact; group g's error is scaled by s_g = s_int * 2**s_exp.
4. Cross-group accumulation: < 2 u_out per group, with u_out bounded like step 2 by the largest
   dequantized group LSB u_g 2**s_exp (not scaled by s_int: a product keeps its LSB), the floor,
   or by 2**-(out_bits - 2) * (sum_g s_g (T_g + Err_g) + Err_out).
5. The float64 product by row scale and unit is exact; the final fp16 round-to-nearest-even adds
   at most 2**-11 of the magnitude (normal range) or 2**-25 (subnormal range). Overflow to inf is
   outside the bound.
"""
from __future__ import annotations

import numpy as np
import torch

from .params import DEFAULT, FP16_FRAC, Datapath
from .terms import MAX_SHIFT
from .weights import EngineWeight, engine_weight


def _term_magnitudes(ew: EngineWeight) -> tuple[np.ndarray, np.ndarray]:
    """Per weight: sum and max of its terms' 2**shift, float64 [N, K]."""
    n, k = ew.shape
    per_elem = np.repeat(ew.fmt_index, ew.group_size, axis=1)
    total, largest = np.zeros((n, k)), np.zeros((n, k))
    for i, t in enumerate(ew.tables):
        sel = per_elem == i
        mags = np.where(t.valid, 2.0 ** t.shift, 0.0)[ew.codes[sel]]
        total[sel], largest[sel] = mags.sum(-1), mags.max(-1)
    return total, largest


def _group_lsb(m_g, t_g, cycles: int, dp: Datapath):
    """Upper bound of the group accumulator's final LSB u_g (module doc, step 2)."""
    c_acc = 2.0 ** -(dp.acc_bits - 2)
    denom = 1.0 - c_acc * cycles * (dp.lanes + 1)
    if denom <= 0:
        raise ValueError("group too long for the accumulator width: no bound")
    return np.maximum.reduce([m_g * 2.0 ** -(FP16_FRAC + dp.guard_bits),
                              np.full_like(m_g, 2.0 ** (1 + MAX_SHIFT - dp.lsb_offset)),
                              c_acc * t_g / denom])


def error_bound(x_fp16: torch.Tensor, qw, dp: Datapath = DEFAULT) -> np.ndarray:
    """float64 [T, N]: |linear(x, qw) - exact| is at most this (unless the output overflows)."""
    ew = qw if isinstance(qw, EngineWeight) else engine_weight(qw, dp.lanes)
    n, k = ew.shape
    g = ew.group_size
    groups = k // g
    a = np.pad(x_fp16.double().abs().numpy(), ((0, 0), (0, k - ew.k_in)))   # [T, K padded]
    total, largest = _term_magnitudes(ew)                          # [N, K]
    t_g = np.einsum("tgk,ngk->tng", a.reshape(-1, groups, g), total.reshape(n, groups, g))
    m_g = (a.reshape(-1, 1, groups, g) * largest.reshape(1, n, groups, g)).max(-1)
    slots = np.array([t.slots for t in ew.tables])[ew.fmt_index]  # [N, groups]
    cycles = (g // dp.lanes) * slots
    u_g = _group_lsb(m_g, t_g, int(cycles.max()), dp)
    err_g = cycles[None] * (dp.lanes + 1) * u_g
    s_g = (ew.s_int * 2.0 ** ew.s_exp)[None]                       # [1, N, groups]
    c_out = 2.0 ** -(dp.out_bits - 2)
    denom = 1.0 - c_out * 2 * groups
    lsb_g = u_g * (2.0 ** ew.s_exp)[None]
    u_out = np.maximum.reduce([lsb_g.max(-1), c_out * (s_g * (t_g + err_g)).sum(-1) / denom,
                               np.full(lsb_g.shape[:2], 2.0 ** (ew.exp_floor - dp.lsb_offset))])
    err = (s_g * err_g).sum(-1) + 2 * groups * u_out
    scale = ew.row_scale[None, :] * ew.unit
    exact_mag = scale * (s_g * t_g).sum(-1)     # >= |exact result|
    pre_round = scale * err
    return (pre_round + 2.0 ** -11 * (exact_mag + pre_round) + 2.0 ** -25) * (1 + 1e-12)

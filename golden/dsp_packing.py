"""Two INT8 MACs per DSP slice: packed arithmetic, lane decode and the overflow adjust unit.

FlightLLM (docs/references.md#flightllm-3.1) packs two INT8 multiply-accumulates into one DSP48
following Xilinx
WP486: two activations ``a_hi`` and ``a_lo`` that share one weight ``w`` enter the multiplier as
one wide operand, so one product carries both lane products::

    operand = a_hi * 2**18 + a_lo                   (27-bit signed: fits the DSP48E2 A:D port)
    P       = operand * w = (a_hi*w) * 2**18 + a_lo*w

The 48-bit accumulator ``P`` of a cascade then holds ``U * 2**18 + L`` with ``U = sum a_hi*w``
(upper lane, bits 47..18) and ``L = sum a_lo*w`` (lower lane, bits 17..0).

Lane decode (sign correction of the lower lane). Bits 17..0 of ``P`` are ``L mod 2**18``; read as
an 18-bit signed number they give ``L`` exactly when ``-2**17 <= L < 2**17``. A negative ``L``
borrows one from the upper field, so the upper lane is ``(P >> 18) + P[17]``
(:func:`split_lanes`).

When the decode is exact (derived here, checked by tests/golden/test_dsp_packing.py):
* ``P`` is exact as long as the packed sum fits 48 bits: ``|U| < 2**29`` holds for any chain
  shorter than 2**15 products, far beyond any configured chain.
* The lower lane is exact iff its (partial) sum stays in ``[-2**17, 2**17 - 1]``. INT8 x INT8
  products lie in ``[-16256, 16384]`` (16384 only for -128 x -128), so 7 products always fit; 8
  products fit unless all eight are -128 x -128 (8 * 16384 = 2**17). FlightLLM's "no overflow for
  up to eight 16-bit accumulations" misses exactly that corner. INT4 weights (``[-8, 7]``) give
  products in ``[-1016, 1024]``: 127 products always fit.
  :func:`max_exact_products` returns these numbers; :func:`lower_lane_fits` is the exact
  per-data condition.

Overflow adjust unit (OAU) for longer chains: at an OAU point the 18 low bits are taken out of the
cascade and sent to the reduction node, and the cascade continues with the low field cleared, so the
lower lane restarts from zero and never needs more than one OAU interval of headroom. Clearing bits
removes ``L_seg mod 2**18`` = ``sext18(P[17:0]) + 2**18 * P[17]``, so the reduction node adds back
``sext18(P[17:0])`` to the lower lane and ``P[17]`` (the borrow) to the upper lane
(:func:`oau_split`, :func:`packed_dot`). This is our reading of "the MSP cascades on with limited
bits, the LSP goes to the reduction node": the paper gives no offsets
(docs/references.md#flightllm-8 item 5).
"""
from __future__ import annotations

from typing import Sequence

LANE_BITS = 18            # width of the lower lane field
P_BITS = 48               # DSP48 accumulator width
OPERAND_BITS = 27         # DSP48E2 A:D pre-adder width that carries the packed operand
ACT_BITS = 8


def wrap(value: int, bits: int) -> int:
    """Two's-complement wrap of an integer to ``bits`` bits (what a register of that width holds)."""
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


def sign_extend_int4(value: int) -> int:
    """The signed INT4 held in the low four bits of ``value`` (how INT4 weights enter the DSP)."""
    return wrap(value, 4)


def _check_int(value: int, bits: int, what: str) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not lo <= value <= hi:
        raise ValueError(f"{what} {value} is not a signed {bits}-bit integer")


def pack_operand(a_hi: int, a_lo: int) -> int:
    """The wide multiplier operand ``a_hi * 2**18 + a_lo`` of two INT8 activations."""
    _check_int(a_hi, ACT_BITS, "a_hi")
    _check_int(a_lo, ACT_BITS, "a_lo")
    return a_hi * (1 << LANE_BITS) + a_lo


def packed_product(a_hi: int, a_lo: int, w: int, *, w_bits: int = 8) -> int:
    """One packed multiply: both lane products in one 48-bit word."""
    _check_int(w, w_bits, "weight")
    return wrap(pack_operand(a_hi, a_lo) * w, P_BITS)


def split_lanes(p: int) -> tuple[int, int]:
    """Decode a packed accumulator into (upper, lower) lane sums with the lower-lane sign correction."""
    p = wrap(p, P_BITS)
    lower = wrap(p, LANE_BITS)
    borrow = (p >> (LANE_BITS - 1)) & 1
    return (p >> LANE_BITS) + borrow, lower


def oau_split(p: int) -> tuple[int, int, int]:
    """Overflow adjust unit: (cascade value with the low field cleared, LSP, borrow).

    ``cascade + sext18(LSP-field) + borrow * 2**18 == p`` — nothing is lost, so adding the LSP to
    the
    lower lane and the borrow to the upper lane at the reduction node restores both lanes.
    """
    p = wrap(p, P_BITS)
    cleared = wrap(p & ~((1 << LANE_BITS) - 1), P_BITS)
    return cleared, wrap(p, LANE_BITS), (p >> (LANE_BITS - 1)) & 1


def max_exact_products(w_bits: int, a_bits: int = ACT_BITS) -> int:
    """Longest chain whose lower lane is exact for every input (the derived bound above)."""
    prod_max = (1 << (a_bits - 1)) * (1 << (w_bits - 1))          # (-2^(a-1)) * (-2^(w-1))
    prod_min = -((1 << (a_bits - 1)) - 1) * (1 << (w_bits - 1))   # covers both sign pairings
    prod_min = min(prod_min, -(1 << (a_bits - 1)) * ((1 << (w_bits - 1)) - 1))
    lane_max, lane_min = (1 << (LANE_BITS - 1)) - 1, -(1 << (LANE_BITS - 1))
    return min(lane_max // prod_max, lane_min // prod_min)


def oau_interval(dsps_per_group: int, w_bits: int = 8) -> int:
    """DSPs between OAU points: the longest whole number of DSP groups that is always exact."""
    groups = max_exact_products(w_bits) // dsps_per_group
    if groups < 1:
        raise ValueError(f"a DSP group of {dsps_per_group} packed DSPs can overflow its 18-bit lane")
    return groups * dsps_per_group


def lower_lane_fits(a_lo: Sequence[int], w: Sequence[int]) -> bool:
    """Exact condition for the decode of one chain without OAU.

    Only the final lower-lane sum matters, not its prefixes: ``P`` itself is exact (48 bits hold
    both lanes) and the decode reads ``P`` once, at the end of the chain.
    """
    total = sum(int(a) * int(b) for a, b in zip(a_lo, w, strict=True))
    return -(1 << (LANE_BITS - 1)) <= total < (1 << (LANE_BITS - 1))


def packed_dot(a_hi: Sequence[int], a_lo: Sequence[int], w: Sequence[int], *,
               oau_every: int | None = None, w_bits: int = 8) -> tuple[int, int]:
    """A packed cascade of ``len(w)`` DSPs as the hardware computes it: (upper, lower) dot products.

    ``oau_every``: an OAU after every that many DSPs (``None``: no OAU). The result equals the
    exact ``(a_hi . w, a_lo . w)`` whenever every OAU interval's lower-lane sum fits 18 bits.
    """
    if not len(a_hi) == len(a_lo) == len(w):
        raise ValueError(f"lane lengths differ: {len(a_hi)}, {len(a_lo)}, {len(w)}")
    p, lsp_sum, borrow_sum = 0, 0, 0
    for i, (x_hi, x_lo, wt) in enumerate(zip(a_hi, a_lo, w)):
        if oau_every and i and i % oau_every == 0:
            p, lsp, borrow = oau_split(p)
            lsp_sum += lsp
            borrow_sum += borrow
        p = wrap(p + packed_product(int(x_hi), int(x_lo), int(wt), w_bits=w_bits), P_BITS)
    upper, lower = split_lanes(p)
    return upper + borrow_sum, lower + lsp_sum

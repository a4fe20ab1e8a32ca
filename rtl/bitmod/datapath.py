"""The datapath of one PE: lanes, adder tree and group accumulator, in three pipeline stages.

Everything a row or a column shares lives outside the PE: term decoding per row and the fp16
unpack per column (rtl/bitmod/fronts.py), dequantization, the cross-group accumulation and the
output conversion in the row unit (rtl/bitmod/row_acc.py, rtl/bitmod/output.py).
"""
from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import layouts
from .align_add import clamp_shift
from .group_acc import GroupAccumulator
from .layouts import hold_layout, terms_layout, unpacked_acts_layout
from .params import ACC_DELAY, EngineParams


def datapath_signature(p: EngineParams) -> wiring.Signature:
    """The ports of :class:`PeDatapath` (also what a hierarchical array's PE instances expose)."""
    return wiring.Signature({
        "terms": In(terms_layout(p)), "acts": In(unpacked_acts_layout(p)),
        "step": In(1), "group_end": In(1), "hold": Out(hold_layout(p))})


class PeDatapath(wiring.Component):
    """One PE's arithmetic: golden.bitserial.scalar's lane_cycle and group accumulate.

    Ports:
      - ``terms: In(terms_layout)``: this cycle's weight term per lane (the row's registered
        decoders); ``acts: In(unpacked_acts_layout)``: the lanes' activations (the column's
        registered unpack).
      - ``step``, ``group_end``: In(1): the flags of the terms that were on ``terms`` two cycles
        earlier (the array delays them): accumulate that partial; it closes a group (and the
        accumulator restarts from zero, so a group runs from one closing step to the next).
      - ``hold: Out(hold_layout)``: the last closed group's sum (mant, exp), a register written
        by the closing step and held until the next group closes; the row unit reads it.
    Timing: stage 1 (terms/acts -> per lane signed value, exponent; the exponent max and the
    clamped alignment distances) and stage 2 (alignment shifts, adder tree) are registered; the
    shifts are LUT barrel shifters, or with ``lane_shift: dsp`` one multiplier per lane by the
    power of two stage 1 decodes (same results, same cycles); the
    group accumulator (stage 3) adds the partial in the cycle its flags arrive. With the array's
    input registers a step issued in cycle t reaches the accumulator in t + ACC_DELAY, and
    ``hold`` shows a closed group from t + ACC_DELAY + 1.
    """

    latency = ACC_DELAY

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__(datapath_signature(p))

    def elaborate(self, platform):
        m = Module()
        p, dp = self.p, self.p.dp
        # stage 1: exp_match's inputs and bs_mul's signed product (golden lane_cycle). The
        # product is +-y, y = sig << guard; -y = ~(y - 1) with y - 1 = (sig - 1) << guard |
        # (2**guard - 1) and sig - 1 from the column's unpack, so no lane needs a negating adder:
        # one LUT per bit selects between sig and ~(sig - 1).
        values, exps = [], []
        for j in range(p.lanes):
            t, a = self.terms[layouts.lane(j)], self.acts[layouts.lane(j)]
            live, neg = Signal(name=f"live{j}"), Signal(name=f"neg{j}")
            exp = Signal(dp.exp_bits, name=f"exp{j}")
            value = Signal(signed(dp.lane_bits), name=f"value{j}")
            ones = C((1 << dp.guard_bits) - 1, dp.guard_bits)
            m.d.comb += [live.eq(t.valid & a.nz), neg.eq(a.sign ^ t.neg),
                         exp.eq(a.exp + t.shift),
                         value.eq(Mux(live, Mux(neg, ~Cat(ones, a.sig_m1, C(0, 1)),
                                                Cat(C(0, dp.guard_bits), a.sig, C(0, 1))), 0))]
            values.append(value)
            exps.append(Mux(live, exp, 0))
        e_max = Signal(dp.exp_bits)
        m.d.comb += e_max.eq(_max_tree(m, exps))
        # a lane that is not live has value 0, so its (possibly wrapped) distance does not matter
        s1_values, s1_dists = [], []
        for j, (v, e) in enumerate(zip(values, exps)):
            dist = Signal(dp.exp_bits, name=f"dist{j}")
            m.d.comb += dist.eq(e_max - e)
            short = clamp_shift(m, dist, dp.lane_bits)
            if p.lane_shift == "dsp":
                short = _power_of_two(m, short, f"pow{j}")
            s1_value = Signal.like(v, name=f"s1_value{j}")
            s1_dist = Signal.like(short, name=f"s1_dist{j}")
            m.d.sync += [s1_value.eq(v), s1_dist.eq(short)]
            s1_values.append(s1_value)
            s1_dists.append(s1_dist)
        s1_emax = Signal.like(e_max)
        m.d.sync += s1_emax.eq(e_max)

        # stage 2: alignment (arithmetic shift = floor) and the adder tree
        align = _shift_by_multiply if p.lane_shift == "dsp" else (lambda v, d: v >> d)
        partial = Signal(signed(dp.partial_bits))
        s2_emax = Signal.like(e_max)
        m.d.sync += [partial.eq(_sum_tree([align(v, d) for v, d in zip(s1_values, s1_dists)])),
                     s2_emax.eq(s1_emax)]

        # stage 3: group accumulator (grp_accum). The closing step restarts it from (0, 0), so
        # the next group's first step needs no input mux; it takes stage 2's next exponent to
        # keep its exponent differences a cycle ahead (group_acc.py)
        m.submodules.gacc = gacc = GroupAccumulator(dp.acc_bits, dp.partial_bits, dp.exp_bits)
        m.d.comb += [gacc.val.eq(partial), gacc.val_exp.eq(s2_emax), gacc.next_exp.eq(s1_emax),
                     gacc.step.eq(self.step), gacc.clear.eq(self.group_end)]
        with m.If(self.step & self.group_end):
            m.d.sync += [self.hold.mant.eq(gacc.sum), self.hold.exp.eq(gacc.sum_exp)]
        return m


def _power_of_two(m, dist, name):
    """``2**(K - dist)`` with ``K = 2**len(dist) - 1``: the multiplier that aligns a lane in a
    DSP (``lane_shift: dsp``), decoded in stage 1 so stage 2 holds only the DSP and the tree."""
    k = (1 << len(dist)) - 1
    out = Signal(k + 1, name=name)
    m.d.comb += out.eq(C(1 << k, k + 1) >> dist)
    return out


def _shift_by_multiply(value, power):
    """``value >> (K - log2(power))``: ``value * 2**(K - d)`` has ``value >> d`` (floor) in its
    bits from K up, the low K bits being the fraction the shift drops. One DSP per lane (a
    15 x 16 product) instead of a 4-level barrel shifter of LUTs."""
    k = len(power) - 1
    return (value * power)[k:k + len(value)].as_signed()


def _max_tree(m, values):
    level = 0
    while len(values) > 1:
        nxt = []
        for i, (a, b) in enumerate(zip(values[::2], values[1::2])):
            node = Signal(a.shape(), name=f"emax_{level}_{i}")
            m.d.comb += node.eq(Mux(a > b, a, b))
            nxt.append(node)
        values = nxt + ([values[-1]] if len(values) % 2 else [])
        level += 1
    return values[0]


def _sum_tree(values):
    while len(values) > 1:
        nxt = [a + b for a, b in zip(values[::2], values[1::2])]
        values = nxt + ([values[-1]] if len(values) % 2 else [])
    return values[0]

"""Conversions of docs/numerics.md: ``f(x)`` (binary16 / int32 -> binary32), ``h(a)`` (binary32
-> binary16) and ``rint(a)`` (binary32 -> int32, ties to even)."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, signed
from amaranth.lib.wiring import Component, In, Out, Signature

from .fields import F16, F32, Pipe, Pipelined, clz, round_pack, special, unpack

INT32_MAX, INT32_MIN = (1 << 31) - 1, -(1 << 31)


class F16ToF32(Component):
    """``y = f(a)``: binary16 -> binary32, exact (subnormals become normal); NaN -> 0x7FC00000.

    Ports: In ``a`` (16), Out ``y`` (32). Timing: combinational (``latency == 0``).
    """
    latency = 0

    def __init__(self):
        super().__init__(Signature({"a": In(16), "y": Out(32)}))

    def elaborate(self, platform):
        m = Module()
        h = unpack(self.a, F16)
        lead = clz(h.sig)[:4]                             # 0..10 for a nonzero 11-bit significand
        frac = (h.sig << lead)[:F16.frac_bits]
        exp = (h.exp + (F32.bias - F16.bias) - lead)[:8]
        finite = Mux(h.zero, 0, Cat(Const(0, F32.frac_bits - F16.frac_bits), frac, exp))
        is_special, word = special(F32, h.nan, h.inf, h.sign)
        m.d.comb += self.y.eq(Mux(is_special, word, Cat(finite[:31], h.sign)))
        return m


class F32ToF16(Pipelined):
    """``y = h(a)``: binary32 -> binary16, RNE; ``|a| >= 65520`` -> ±inf; subnormal results are
    rounded, not flushed; NaN -> 0x7E00.

    Ports: In ``a`` (32), Out ``y`` (16). Timing: free-running, ``latency == stages``; cut points:
    after unpacking, before the rounding increment.
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "y": Out(16)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, 2, "f32tof16")
        a = unpack(self.a)
        is_special, word = special(F16, a.nan, a.inf, a.sign)
        # a binary32 subnormal lies far below half the smallest binary16 subnormal: its exponent
        # (-111 here) shifts all of it into the sticky bit, so it needs no normalization
        exp = a.exp - (F32.bias - F16.bias)
        sign, exp, sig, is_special, word = pipe.cut(a.sign, exp, a.sig, is_special, word)
        packed, (is_special, word) = round_pack(pipe, sign, exp, sig, fmt=F16,
                                                carry=(is_special, word))
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m


class I32ToF32(Pipelined):
    """``y = f(a)`` for a signed 32-bit integer: binary32 RNE (exact for ``|a| <= 2^24``).

    Ports: In ``a`` (signed 32), Out ``y`` (32). Timing: free-running, ``latency == stages``; cut
    points: after the magnitude's leading-zero count (before its normalizing shift), before the
    rounding increment.
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(signed(32)), "y": Out(32)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, 2, "i32tof32")
        sign = self.a[31]
        mag = Mux(sign, -self.a, self.a)[:32]             # -2^31 -> 2^31 fits 32 unsigned bits
        mag = pipe.wire(mag, "mag")
        lead = pipe.wire(clz(mag), "lead")
        # the count and the shift it drives are each a log-depth tree: one per stage
        sign, mag, lead = pipe.cut(sign, mag, lead)
        norm = (mag << lead)[:32]
        exp = F32.bias + 31 - lead
        # exp >= bias - 1 (lead <= 32): never subnormal, so round_pack needs no alignment shift
        packed, _ = round_pack(pipe, sign, exp, norm, shift=Const(0, 1))
        m.d.comb += self.y.eq(packed)
        return m


class F32Rint(Pipelined):
    """``y = rint(a)`` as a signed 32-bit integer: nearest, ties to even (golden
    ``binary32.rint``), saturated to ``[-2^31, 2^31 - 1]`` (±inf saturate too); ``nan`` flags a
    NaN input, ``y`` is then 0.

    Ports: In ``a`` (32), Out ``y`` (signed 32), Out ``nan`` (1). Timing: free-running,
    ``latency == stages``; cut points: after the alignment shift, after the rounding increment.
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "y": Out(signed(32)), "nan": Out(1)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, 2, "rint")
        a = unpack(self.a)
        big = ~a.nan & (a.exp >= F32.bias + 31)           # |a| >= 2^31 or inf
        small = a.exp < F32.bias - 1                      # |a| < 1/2 (also subnormals, zeros)
        # |a| in [1/2, 2^31): sig * 2^(exp - 150) = (sig << (exp - 126)) / 2^24
        shift = (a.exp - (F32.bias - 1))[:5]
        wide = pipe.wire((a.sig << shift)[:24 + 31], "aligned")
        whole, rnd, low = wide[24:], wide[23], wide[:23] != 0
        sign, whole, rnd, low, big, small, nan = pipe.cut(
            a.sign, whole, rnd, low, big, small, a.nan)

        mag = (whole + (rnd & (low | whole[0])))[:32]
        value = Mux(sign, -mag, mag)
        value = Mux(small | nan, 0, value)
        value = Mux(big, Mux(sign, INT32_MIN, INT32_MAX), value)
        value, nan = pipe.cut(value, nan)
        m.d.comb += [self.y.eq(value), self.nan.eq(nan)]
        return m

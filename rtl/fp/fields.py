"""Shared pieces of the floating-point units: formats, field unpacking, leading-zero count, the
one rounding/packing step every unit ends with, and the register placement of ``stages``.

All functions build Amaranth expressions over raw bit patterns; none of them owns state except
:class:`Pipe`, which places the pipeline registers of a unit.
"""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring

from ...base.errors import ConfigError


@dataclass(frozen=True)
class Format:
    """An IEEE-754 binary format: ``exp_bits`` exponent and ``frac_bits`` fraction bits."""
    exp_bits: int
    frac_bits: int

    @property
    def width(self) -> int:
        return 1 + self.exp_bits + self.frac_bits

    @property
    def bias(self) -> int:
        return (1 << self.exp_bits - 1) - 1

    @property
    def exp_max(self) -> int:
        """The all-ones exponent field (inf / NaN)."""
        return (1 << self.exp_bits) - 1

    @property
    def qnan(self) -> int:
        """The canonical quiet NaN of docs/numerics.md (0x7FC00000 / 0x7E00)."""
        return (self.exp_max << self.frac_bits) | (1 << self.frac_bits - 1)

    def inf(self, sign: Value) -> Value:
        return Cat(Const(0, self.frac_bits), Const(self.exp_max, self.exp_bits), sign)


F32 = Format(8, 23)
F16 = Format(5, 10)


@dataclass(frozen=True)
class Unpacked:
    """The fields of an operand and its classification.

    ``exp`` is the effective biased exponent (a subnormal's field 0 reads as 1), ``sig`` the
    significand with its hidden bit (``frac_bits + 1`` wide), so the value of every finite operand
    is ``sig * 2^(exp - bias - frac_bits)``."""
    sign: Value
    exp: Value
    sig: Value
    zero: Value
    inf: Value
    nan: Value


def unpack(x: Value, fmt: Format = F32) -> Unpacked:
    frac = x[:fmt.frac_bits]
    field = x[fmt.frac_bits:fmt.frac_bits + fmt.exp_bits]
    hidden = field != 0
    top = field == fmt.exp_max
    return Unpacked(sign=x[fmt.width - 1], exp=Mux(hidden, field, 1), sig=Cat(frac, hidden),
                    zero=~hidden & (frac == 0), inf=top & (frac == 0), nan=top & (frac != 0))


def clz(v: Value) -> Value:
    """Leading zeros of ``v`` as a balanced tree of muxes (log2 depth). Exact for ``v != 0``;
    an all-zero ``v`` gives ``len(v)`` rounded up to a power of two (callers treat zero apart)."""
    n = len(v)
    width = 1 << (n - 1).bit_length()
    if width != n:                                   # pad at the bottom: same count if v != 0
        v = Cat(Const(0, width - n), v)
    return _clz_pow2(v)


def _clz_pow2(v: Value) -> Value:
    n = len(v)
    if n == 1:
        return ~v[0]
    lo, hi = v[:n // 2], v[n // 2:]
    return Mux(hi == 0, n // 2 + _clz_pow2(lo), _clz_pow2(hi))


class Pipe:
    """Places ``stages`` free-running register ranks at a unit's cut points.

    A unit calls :meth:`cut` at each of its ``points`` candidate boundaries (in dataflow order).
    Without ``order`` the ranks are spread evenly over them; with ``order`` (every point once,
    the most useful first) rank j goes to point ``order[j mod points]``, so a unit says which
    cuts pay at each depth. With ``stages == 0`` every cut is a wire, so the unit is
    combinational."""

    def __init__(self, m: Module, stages: int, points: int, name: str,
                 order: tuple[int, ...] | None = None):
        self.m, self.name, self.next = m, name, 0
        self.ranks = [0] * points
        if order is not None:
            if sorted(order) != list(range(points)):
                raise ValueError(f"{name}: order {order} is not a permutation of {points} points")
            for j in range(stages):
                self.ranks[order[j % points]] += 1
            return
        for j in range(1, stages + 1):
            self.ranks[min(points - 1, max(0, round(j * (points + 1) / (stages + 1)) - 1))] += 1

    def wire(self, value: Value, name: str) -> Signal:
        """``value`` as a named combinational signal: evaluated once (amaranth.sim inlines an
        expression at every use) and visible by name in the Verilog."""
        value = Value.cast(value)
        sig = Signal(value.shape(), name=f"{self.name}_{name}")
        self.m.d.comb += sig.eq(value)
        return sig

    def cut(self, *values: Value) -> tuple[Value, ...]:
        """The values after this cut point's register ranks (named wires when it has none)."""
        point, self.next = self.next, self.next + 1
        out = [self.wire(v, f"p{point}_{i}") for i, v in enumerate(values)]
        for rank in range(self.ranks[point]):
            for i, v in enumerate(out):
                v = Value.cast(v)
                reg = Signal(v.shape(), name=f"{self.name}_p{point}r{rank}_{i}", reset_less=True)
                self.m.d.sync += reg.eq(v)
                out[i] = reg
        return tuple(out)


def denorm_shift(exp: Value, width: int) -> Value:
    """The right shift that takes a ``width``-bit significand at signed biased exponent ``exp``
    into the subnormal range: ``1 - exp`` below 1, capped at ``width + 1`` (beyond it every bit
    is sticky anyway), 0 otherwise. :func:`round_pack` computes it; a pipelined unit may compute
    it a stage earlier, beside its normalization shift, and pass it in."""
    exp = Value.cast(exp).as_signed()
    cap = width + 1
    return Mux(exp >= 1, 0, Mux(exp <= 1 - cap, cap, 1 - exp))[:cap.bit_length()]


def round_pack(pipe: Pipe, sign: Value, exp: Value, sig: Value, sticky: Value = Const(0),
               fmt: Format = F32, carry: tuple[Value, ...] = (),
               shift: Value | None = None) -> tuple[Value, tuple[Value, ...]]:
    """Round ``(-1)^sign * sig/2^(len(sig)-1) * 2^(exp - bias)`` to ``fmt``, nearest even.

    ``sig`` must be normalized (its top bit set) when ``exp >= 1``; ``sticky`` says whether
    nonzero bits lie below ``sig``; ``exp`` is a signed biased exponent. Results below the normal
    range are shifted right into a subnormal with every shifted-out bit kept as sticky (rounded,
    never flushed); rounding carries into the exponent field, so the largest finite value rounds
    up to inf, and ``exp >= exp_max`` is inf. A zero ``sig`` gives a signed zero. Uses one cut
    point of ``pipe`` (between the subnormal shift and the rounding add), through which the
    caller's ``carry`` values travel too; returns the packed word and the carried values.
    ``shift``: :func:`denorm_shift` of ``exp``, when the caller has it already."""
    w = len(sig)
    if w < fmt.frac_bits + 2:
        raise ValueError(f"round_pack: sig has {w} bits, needs >= {fmt.frac_bits + 2}")
    exp = Value.cast(exp).as_signed()
    zero = sig == 0
    over = ~zero & (exp >= fmt.exp_max)
    if shift is None:
        shift = denorm_shift(exp, w)
    wide = pipe.wire(Cat(Const(0, w), sig) >> shift, "denorm")
    kept = wide[w:]
    sticky = sticky | (wide[:w] != 0)
    field = Mux(exp >= 1, exp, 0)[:fmt.exp_bits]
    sign, kept, sticky, field, zero, over, *carry = pipe.cut(
        sign, kept, sticky, field, zero, over, *carry)
    lsb_pos = w - 1 - fmt.frac_bits
    frac = kept[lsb_pos:w - 1]
    rnd = kept[lsb_pos - 1]
    low = (kept[:lsb_pos - 1] != 0) | sticky
    inc = rnd & (low | frac[0])
    mag = (Cat(frac, field) + inc)[:fmt.width - 1]
    mag = Mux(over, Cat(Const(0, fmt.frac_bits), Const(fmt.exp_max, fmt.exp_bits)), mag)
    return Cat(Mux(zero, 0, mag), sign), tuple(carry)



def special(fmt: Format, nan: Value, inf: Value, sign: Value) -> tuple[Value, Value]:
    """``(is_special, word)``: the canonical NaN when ``nan``, else ``±inf`` when ``inf``."""
    return nan | inf, Mux(nan, fmt.qnan, fmt.inf(sign))


class Pipelined(wiring.Component):
    """Base of the free-running units: ``stages`` register ranks, ``latency == stages``."""

    def __init__(self, signature, stages: int = 0):
        if not isinstance(stages, int) or isinstance(stages, bool) or stages < 0:
            self._MustUse__silence = True               # a rejected unit is not an unused one
            raise ConfigError(f"{type(self).__name__}: stages must be an int >= 0, got {stages!r}")
        self._stages = stages
        super().__init__(signature)

    @property
    def latency(self) -> int:
        """Cycles from an input to its result on ``y``."""
        return self._stages

"""rtl.delay: a value delayed by n clock edges, with its shape and initial value, and only its
last stage shaped (the others plain vectors, so a struct does not become a wire per field and
stage in the Verilog); a line in a RAM (delay_ram) gives what the registers give."""
import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from bitflight.rtl.delay import RAM_MIN_CYCLES, delay, delay_ram
from bitflight.sim.hdl import amaranth_run

PAIR = data.StructLayout({"lo": 3, "hi": signed(5)})


def test_zero_cycles_is_the_value_itself():
    a, m = Signal(4), Module()
    m._MustUse__silence = True                  # nothing is added to it
    assert delay(m, a, 0, None, "d") is a


@pytest.mark.parametrize("cycles", [1, 4])
def test_a_signed_value_comes_out_cycles_later_starting_from_its_init(cycles):
    m = Module()
    a = Signal(signed(5), init=-3)
    out = delay(m, a, cycles, None, "d", reset_less=False)
    assert out.shape() == signed(5)
    seen = []

    async def bench(ctx):
        for i in range(8):
            seen.append(ctx.get(out))
            ctx.set(a, i - 2)
            await ctx.tick()
    amaranth_run.run(m, bench)
    def a_at(t):                    # what the bench set in cycle t (before it: the init)
        return -3 if t < 0 else t - 2
    assert seen == [a_at(t - cycles) for t in range(8)]


class _Line(wiring.Component):
    def __init__(self, cycles):
        self.cycles = cycles
        super().__init__({"i": In(PAIR), "o": Out(PAIR)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(delay(m, self.i, self.cycles, None, "line"))
        return m


def test_only_the_last_stage_of_a_struct_is_a_struct():
    text = verilog.convert(_Line(5), name="line")
    stages = {int(n) for n in re.findall(r"line_d(\d+)\b", text)}
    assert stages == {1, 2, 3, 4, 5}
    fields = {int(n) for n in re.findall(r"line_d(\d+)\.(?:lo|hi)\b", text)}
    assert fields == {5}


class _Pair(wiring.Component):
    """A struct and a signed value, delayed by registers (``o_reg``) and in a RAM (``o_ram``)."""
    def __init__(self, cycles):
        self.cycles = cycles
        super().__init__({"i": In(PAIR), "s": In(signed(7)), "o_reg": Out(PAIR),
                          "s_reg": Out(signed(7)), "o_ram": Out(PAIR), "s_ram": Out(signed(7))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.o_reg.eq(delay(m, self.i, self.cycles, None, "reg_i")),
                     self.s_reg.eq(delay(m, self.s, self.cycles, None, "reg_s"))]
        o, s = delay_ram(m, [self.i, self.s], self.cycles, "ram")
        m.d.comb += [self.o_ram.eq(o), self.s_ram.eq(s)]
        return m


@pytest.mark.parametrize("cycles", [1, 2, 3, 4, 5, 8, 9, 31])
def test_a_ram_line_gives_what_registers_give(cycles):
    """Random values in, from reset on: the RAM line's outputs equal the register line's in
    every cycle (zeros for the first ``cycles``), and each is the input of ``cycles`` before."""
    import random
    rng = random.Random(cycles)
    dut = _Pair(cycles)
    seen, fed = [], []

    async def bench(ctx):
        for _ in range(3 * cycles + 20):
            lo, hi, s = rng.randrange(8), rng.randrange(-16, 16), rng.randrange(-64, 64)
            ctx.set(dut.i, {"lo": lo, "hi": hi})
            ctx.set(dut.s, s)
            fed.append((lo, hi, s))
            got = [(ctx.get(dut.o_reg.lo), ctx.get(dut.o_reg.hi), ctx.get(dut.s_reg)),
                   (ctx.get(dut.o_ram.lo), ctx.get(dut.o_ram.hi), ctx.get(dut.s_ram))]
            seen.append(got)
            await ctx.tick()
    amaranth_run.run(dut, bench)
    for t, (reg, ram) in enumerate(seen):
        want = fed[t - cycles] if t >= cycles else (0, 0, 0)
        assert reg == want and ram == want, t


def test_long_ram_lines_are_one_memory_and_short_ones_registers():
    """From RAM_MIN_CYCLES on the line is one memory as deep as the next power of two (no
    per-stage registers); below it, registers; a value with a non-zero init is refused."""
    assert RAM_MIN_CYCLES == 3
    long_text = verilog.convert(_Pair(5), name="pair")
    assert re.search(r"reg \[14:0\] ram \[7:0\]", long_text)      # 8 + 7 bits, 8 deep
    assert not re.search(r"ram_\d_d[1-4]\b", long_text)
    short_text = verilog.convert(_Pair(2), name="pair")
    assert "reg [14:0] ram " not in short_text and re.search(r"ram_0_d2\b", short_text)
    m = Module()
    m._MustUse__silence = True                  # only the refusal is tested
    with pytest.raises(ValueError, match="has init 3"):
        delay_ram(m, [Signal(4, init=3, name="x")], 4, "bad")
    with pytest.raises(ValueError, match="pair has init"):       # a struct view's signal
        delay_ram(m, [Signal(PAIR, init={"lo": 1}, name="pair")], 4, "bad")

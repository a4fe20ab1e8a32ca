"""rtl.delay: a value delayed by n clock edges, with its shape and initial value, and only its
last stage shaped (the others plain vectors, so a struct does not become a wire per field and
stage in the Verilog)."""
import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from bitflight.rtl.delay import delay

PAIR = data.StructLayout({"lo": 3, "hi": signed(5)})


def test_zero_cycles_is_the_value_itself():
    a = Signal(4)
    assert delay(Module(), a, 0, None, "d") is a


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
    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
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

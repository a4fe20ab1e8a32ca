"""bitflight board ulx3s: the pin harness drives every input bit and observes every output bit,
and the open flow produces an ECP5 bitstream for the board."""
import json

import pytest
from amaranth import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from bitflight.cli import main
from bitflight.fpga.board import ulx3s


class Probe(wiring.Component):
    """Registers its 20 input bits as they are (y) so a test can watch every one of them."""

    def __init__(self):
        super().__init__({"a": In(12), "b": In(8), "y": Out(20)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(Cat(self.a, self.b))
        return m


def test_harness_drives_every_input_bit_independently():
    core = Probe()
    top = ulx3s.harness(core)
    sim = Simulator(top)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for _ in range(200):
            await ctx.tick()
            seen.append((ctx.get(core.a) | ctx.get(core.b) << 12, ctx.get(core.y)))
    sim.add_testbench(bench)
    sim.run()
    values = [v for v, _ in seen[40:]]
    for bit in range(20):                            # every input bit toggles ...
        assert len({v >> bit & 1 for v in values}) == 2
    # ... and no two bits carry the same sequence (a shift register, not shared LFSR bits)
    columns = {tuple(v >> bit & 1 for v in values) for bit in range(20)}
    assert len(columns) == 20


def test_unknown_variant_is_a_usage_error():
    with pytest.raises(ValueError, match="unknown ULX3S variant '99F'"):
        ulx3s.platform_for("99F")


@pytest.mark.synth
def test_counter_builds_to_a_ulx3s_bitstream(tmp_path, capsys):
    out = tmp_path / "ulx3s"
    assert main(["board", "ulx3s", "--target", "example-counter", "-o", str(out)]) == 0
    bit = (out / "top.bit").read_bytes()
    assert bit.startswith(b"\xff\x00Part: LFE5U-85F-6CABGA381\x00")   # ecppack's header
    summary = json.loads((out / "ulx3s.json").read_text())
    assert summary["board"] == "ULX3S-85F"
    assert summary["utilization"]["TRELLIS_IO"]["used"] == 3     # clk25, LED 0, LED 7
    (constraint,) = summary["constraint_mhz"].values()
    (fmax,) = summary["fmax_mhz"].values()
    assert constraint == 25.0 and fmax > 25.0
    assert "top.bit: example-counter" in capsys.readouterr().out

"""sim.hdl.amaranth_run: the testbench runs against the clock, and waveforms are dumped when asked
(one path, or every run into BITFLIGHT_VCD_DIR)."""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from bitflight.sim.hdl import amaranth_run


class _Counter(wiring.Component):
    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m


def _counts(dut, seen):
    async def bench(ctx):
        for _ in range(5):
            seen.append(ctx.get(dut.count))
            await ctx.tick()
    return bench


def test_runs_on_the_clock_without_a_dump(tmp_path, monkeypatch):
    monkeypatch.delenv("BITFLIGHT_VCD_DIR", raising=False)
    dut, seen = _Counter(), []
    amaranth_run.run(dut, _counts(dut, seen))
    assert seen == [0, 1, 2, 3, 4]


def test_vcd_on_request(tmp_path, monkeypatch):
    monkeypatch.delenv("BITFLIGHT_VCD_DIR", raising=False)
    dut, seen = _Counter(), []
    amaranth_run.run(dut, _counts(dut, seen), vcd=tmp_path / "one.vcd")
    assert "count" in (tmp_path / "one.vcd").read_text()
    monkeypatch.setenv("BITFLIGHT_VCD_DIR", str(tmp_path / "waves"))
    amaranth_run.run(dut, _counts(dut, []))
    (dump,) = (tmp_path / "waves").glob("_Counter-*.vcd")
    assert "$var" in dump.read_text() and "count" in dump.read_text()

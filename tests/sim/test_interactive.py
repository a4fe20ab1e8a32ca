"""bitflight.sim.hdl.interactive: step a component from Python on a pyverilator-mm model."""
import pytest
from amaranth import Module, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from bitflight.sim.hdl.interactive import Stepper, interactive

pytestmark = pytest.mark.verilator


class SignedAccumulator(wiring.Component):
    """acc += i.payload on each edge where i.valid; acc is signed 12-bit and wraps.
    Ports: i (stream of signed 8-bit, always ready), acc: Out(signed(12)) registered,
    negative: Out(1) combinational (acc < 0); tag: In(70), tag_inv: Out(70) = ~tag (combinational,
    wider than 64 bits: pyverilator moves those in 32-bit words)."""
    i: In(stream.Signature(signed(8)))
    acc: Out(signed(12))
    negative: Out(1)
    tag: In(70)
    tag_inv: Out(70)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.i.ready.eq(1), self.negative.eq(self.acc < 0), self.tag_inv.eq(~self.tag)]
        with m.If(self.i.valid):
            m.d.sync += self.acc.eq(self.acc + self.i.payload)
        return m


def _wrap12(x: int) -> int:
    return (x + 2048) % 4096 - 2048


def test_stepping_a_signed_stream_component_matches_a_python_model():
    sim = interactive(SignedAccumulator())
    assert isinstance(sim, Stepper)
    assert sim.ports == {"clk": "in", "rst": "in", "i__valid": "in", "i__payload": "in",
                         "tag": "in", "i__ready": "out", "acc": "out", "negative": "out",
                         "tag_inv": "out"}
    sim.reset()
    assert sim["acc"] == 0 and sim["i.ready"] == 1
    expected = 0
    inputs = [-128, -128, 127, 5, -1, 0, -77] * 6  # crosses -2048 and wraps
    for k, value in enumerate(inputs):
        valid = k % 4 != 3
        sim["i.valid"], sim["i__payload"] = int(valid), value
        sim.tick()
        expected = _wrap12(expected + value) if valid else expected
        assert sim["acc"] == expected, f"step {k}"
        assert sim["negative"] == (expected < 0)
    assert sim.cycle == 1 + len(inputs)
    tag = (1 << 69) | (0xDEADBEEF << 20) | 0x5A5
    sim["tag"] = tag
    assert sim["tag_inv"] == (1 << 70) - 1 - tag
    with pytest.raises(ValueError, match=r"-129 does not fit port 'i__payload' \(s8\)"):
        sim["i__payload"] = -129
    with pytest.raises(KeyError, match="port 'acc' is an output"):
        sim["acc"] = 1
    with pytest.raises(KeyError, match="no port 'nope'"):
        sim["nope"]
    # A second model of the same design in the same process is independent of the first.
    other = interactive(SignedAccumulator())
    other.reset()
    assert other["acc"] == 0 and sim["acc"] == expected
    sim["i.valid"] = 0
    assert sim.run_until(lambda s: True) == 0
    before = sim.cycle
    with pytest.raises(TimeoutError):
        sim.run_until(lambda s: s["acc"] == 12345, max_cycles=10)
    assert sim.cycle == before + 10


def test_trace_records_the_stepped_edges(tmp_path):
    sim = interactive(SignedAccumulator())
    sim.reset()
    sim.trace(tmp_path / "acc.vcd")
    sim["i.valid"], sim["i.payload"] = 1, -3
    sim.tick(4)
    sim.stop_trace()
    text = (tmp_path / "acc.vcd").read_text()
    code = next(line.split()[3] for line in text.splitlines()
                if line.strip().startswith("$var")
                if line.split()[4] == "acc")
    values = [int(line[1:].split()[0], 2) for line in text.splitlines()
              if line.startswith("b") and line.split()[1] == code]
    assert [v - 4096 if v >= 2048 else v for v in values][-1] == -12  # four edges of -3
    # Tracing advanced this model's time; a new model must still get a context of its own.
    fresh = interactive(SignedAccumulator())
    fresh.reset()
    assert fresh["acc"] == 0 and sim["acc"] == -12


def test_unknown_target_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown target 'no-such'"):
        interactive("no-such")

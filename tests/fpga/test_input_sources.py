"""fpga.input_sources: a component with more input bits than an Amaranth top can hold is
synthesized with its widest inputs driven by black boxes, and nothing else changes."""
import re

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bitflight.base.errors import HardwareFlowError
from bitflight.fpga import export, input_sources, synth


class Adder(wiring.Component):
    """o = the low 12 bits of a + b + c, registered, with input widths of the caller's choice
    (the bits above 12 are read by nothing: wide inputs that convert fast)."""

    def __init__(self, a: int, b: int, c: int):
        super().__init__({"a": In(a), "b": In(b), "c": In(c), "o": Out(14)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.o.eq(self.a[:12] + self.b[:12] + self.c[:12])
        return m


def test_the_widest_inputs_are_sourced_until_the_rest_fit():
    dut = Adder(40_000, 30_000, 10)
    assert input_sources.input_bits(dut) == 70_010
    assert input_sources.sourced_ports(dut) == ["a"]        # 30 010 + clk, rst fit
    assert input_sources.sourced_ports(dut, limit=12) == ["a", "b"]
    small = Adder(8, 8, 8)
    assert input_sources.sourced_ports(small) == []
    assert input_sources.fit_top_ports(small) is small
    small._MustUse__silence = dut._MustUse__silence = True


def test_a_too_wide_top_is_a_clear_error_and_sourced_it_converts():
    dut = Adder(40_000, 30_000, 10)
    with pytest.raises(HardwareFlowError, match=r"wide: 70010 input bits, more than an "
                                                r"Amaranth top module holds \(65532\)"):
        export.verilog_text(dut, "wide")
    text = export.verilog_text(input_sources.fit_top_ports(dut), "wide")
    assert re.search(r"^module wide\(", text, re.M)
    # 40 000 bits in two black boxes of at most 32 768, and 'a' is no port any more
    boxes = re.findall(r"^\s*(bitflight_input_source_\d+) src_a_\d+ \(", text, re.M)
    assert sorted(boxes) == ["bitflight_input_source_32768", "bitflight_input_source_7232"]
    assert "(* blackbox *)\nmodule bitflight_input_source_7232(o);\n  output [7231:0] o;" in text
    header = re.search(r"^module wide\(([^)]*)\);", text, re.M).group(1)
    assert {p.strip() for p in header.split(",")} == {"b", "c", "o", "clk", "rst"}


@pytest.mark.synth
@pytest.mark.parametrize("lang, suffix", [("verilog", ".v"), ("rtlil", ".il")])
def test_a_sourced_input_maps_to_the_same_cells_as_a_port(tmp_path, lang, suffix):
    """The adder with ``b`` from a black box maps like the adder with ``b`` a port, read as
    Verilog or as RTLIL (what ``bitflight synth`` writes)."""
    plain = export.write_atomic(tmp_path / "plain.v", export.verilog_text(Adder(12, 12, 12), "add"))
    sourced = input_sources.SourcedInputs(Adder(12, 12, 12), ["b"])
    boxed = export.write_atomic(tmp_path / f"boxed{suffix}",
                                export.design_text(sourced, "add", lang))
    want = synth.synthesize(plain, "add", "xc7", flatten=False)
    got = synth.synthesize(boxed, "add", "xc7", flatten=False)
    assert (got.lut, got.ff, got.carry) == (want.lut, want.ff, want.carry)
    assert want.ff == 14 and want.lut > 0

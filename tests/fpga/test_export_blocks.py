"""Hierarchical export: block modules written once next to the top, linted block-wise."""
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bitflight.fpga import export
from bitflight.rtl.bitmod.hier import Block, place

pytestmark = pytest.mark.verilator
BLOCK = """module blk(a, y);
  input [3:0] a;
  output [3:0] y;
  assign y = a + 4'd1;
endmodule
"""


def _top(pins: str) -> str:
    return ("module top(x, z);\n  input [3:0] x;\n  output [3:0] z;\n"
            f"  blk u ({pins});\nendmodule\n")


def test_block_and_top_lint_clean(tmp_path):
    path = tmp_path / "ok.v"
    path.write_text(BLOCK + _top(".a(x), .y(z)"))
    export.lint(path, "top")


def test_a_missing_pin_on_an_instance_is_reported(tmp_path):
    path = tmp_path / "pin.v"
    path.write_text(BLOCK + _top(".a(x)"))
    with pytest.raises(export.LintError, match=r"top with port stubs of its blocks.*PINMISSING"):
        export.lint(path, "top")


def test_a_finding_inside_a_block_is_reported(tmp_path):
    """The stubs' UNDRIVEN waiver must not reach the real block: its undriven output fails."""
    path = tmp_path / "undriven.v"
    path.write_text(BLOCK.replace("  assign y = a + 4'd1;\n", "") + _top(".a(x), .y(z)"))
    with pytest.raises(export.LintError, match=r"block blk.*UNDRIVEN"):
        export.lint(path, "top")


class _Inc(wiring.Component):
    a: In(4)
    y: Out(4)
    domain, step = "sync", 1

    def elaborate(self, platform):
        m = Module()
        m.d[self.domain] += self.y.eq(self.a + self.step)
        return m


class _Pair(wiring.Component):
    """Two copies of _Inc in series, as Instances of one module ``inc`` (or as submodules)."""
    a: In(4)
    y: Out(4)

    def __init__(self, hierarchical: bool, block=_Inc):
        self.hierarchical, self.block = hierarchical, block
        super().__init__()

    @property
    def verilog_blocks(self):
        return (Block("inc", self.block),) if self.hierarchical else ()

    def elaborate(self, platform):
        from amaranth.hdl import Signal
        m = Module()
        mid = Signal(4)
        for name, ports in (("first", {"a": self.a, "y": mid}), ("second", {"a": mid, "y": self.y})):
            if self.hierarchical:
                place(m, name, ports, block=Block("inc", _Inc))
            else:
                place(m, name, ports, component=_Inc())
        return m


def test_hierarchical_export_writes_the_block_once_and_lints(tmp_path):
    text = export.verilog_text(_Pair(True), "pair")
    assert text.count("module inc(") == 1 and text.count("  inc ") == 2
    assert "module \\pair.first" not in text
    path = export.write_atomic(tmp_path / "pair.v", text)
    export.lint(path, "pair")
    flat = export.verilog_text(_Pair(False), "pair")
    assert "module \\pair.first" in flat and "module inc(" not in flat


def test_a_block_whose_ports_differ_from_its_instances_is_rejected():
    pair = _Pair(True, block=lambda: _Extra())
    pair._MustUse__silence = True       # rejected before elaboration: no unused-design warning
    with pytest.raises(ValueError, match="Verilog module 'inc': ports"):
        export.verilog_text(pair, "pair")


class _Extra(wiring.Component):
    a: In(4)
    y: Out(4)
    spare: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.y.eq(self.a), self.spare.eq(self.a[0])]
        return m


def test_a_port_map_missing_a_port_is_rejected():
    parent = Module()
    parent._MustUse__silence = True     # rejected before elaboration: no unused-design warning
    with pytest.raises(ValueError, match=r"first: port map misses \['y'\]"):
        place(parent, "first", {"a": 0}, block=Block("inc", _Inc))


class _Add(_Inc):
    """Combinational: its module has no clk or rst."""
    domain, step = "comb", 3


class _Chain(wiring.Component):
    """A clocked and an unclocked block in series, each placed from its :class:`Block`."""
    a: In(4)
    y: Out(4)

    def __init__(self, clocked_add: bool = False):
        self.blocks = (Block("inc", _Inc), Block("add3", _Add, clocked=clocked_add))
        super().__init__()

    @property
    def verilog_blocks(self):
        return self.blocks

    def elaborate(self, platform):
        from amaranth.hdl import Signal
        m = Module()
        mid = Signal(4)
        place(m, "first", {"a": self.a, "y": mid}, block=self.blocks[0])
        place(m, "second", {"a": mid, "y": self.y}, block=self.blocks[1])
        return m


def test_an_unclocked_block_is_instantiated_without_clock_ports(tmp_path):
    text = export.verilog_text(_Chain(), "chain")
    assert "module add3(y, a);" in text and "module inc(clk, rst, y, a);" in text
    second = text[text.index("  add3 second ("):]
    assert ".clk(" not in second[:second.index(");")]
    export.lint(export.write_atomic(tmp_path / "chain.v", text), "chain")
    # a block that says it is clocked must have the clock ports its instances connect
    wrong = _Chain(clocked_add=True)
    wrong._MustUse__silence = True      # rejected before elaboration: no unused-design warning
    with pytest.raises(ValueError, match="Verilog module 'add3': ports"):
        export.verilog_text(wrong, "chain")

"""Verilog export (atomic, named top module) and Verilator lint with the documented waivers."""
import pytest
from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from bitflight.cli import main
from bitflight.fpga import export


class _Stage(wiring.Component):
    i: In(stream.Signature(signed(8)))
    o: Out(stream.Signature(signed(16)))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.payload.eq(self.i.payload * 3 - 1), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


class Idiomatic(wiring.Component):
    """Streams, a submodule, a memory, an FSM, a struct, a Switch without Default, slicing:
    everything Amaranth's Verilog output does that Verilator -Wall flags but is safe."""
    i: In(stream.Signature(signed(8)))
    o: Out(stream.Signature(signed(16)))
    addr: In(4)
    rd: Out(16)
    sel: Out(4)
    zero: Out(1)
    top_bits: Out(4)

    def elaborate(self, platform):
        m = Module()
        m.submodules.stage = stage = _Stage()
        m.submodules.mem = mem = memory.Memory(shape=16, depth=16, init=range(16))
        wp, rp = mem.write_port(), mem.read_port()
        wiring.connect(m, wiring.flipped(self.i), stage.i)
        wiring.connect(m, stage.o, wiring.flipped(self.o))
        m.d.comb += [wp.addr.eq(self.addr), wp.data.eq(self.i.payload), wp.en.eq(self.i.valid),
                     rp.addr.eq(self.addr + 1), self.rd.eq(rp.data)]
        pair = Signal(data.StructLayout({"lo": 4, "hi": 4}))
        count = Signal(range(5))
        m.d.sync += pair.eq(self.addr * 7)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.i.valid):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.sync += count.eq(count + 1)
                with m.If(count == 4):
                    m.next = "DONE"
            with m.State("DONE"):  # a 2-bit state: Yosys tests it with a vector '!' (LOGNOT)
                m.next = "IDLE"
        m.d.comb += self.sel.eq(pair.lo)
        with m.Switch(self.addr[:2]):
            with m.Case(0):
                m.d.comb += self.sel.eq(count)
            with m.Case(1):
                m.d.comb += self.sel.eq(2)
        m.d.comb += [self.zero.eq(Mux(self.rd[4:9].any(), 0, self.addr[0])),
                     self.top_bits.eq(self.rd.bit_select(self.addr[:2], 4))]
        return m


def test_write_verilog_names_the_top_module_and_lints_clean(tmp_path):
    path = export.write_verilog("example-counter", "tiny", tmp_path / "out")
    assert path == tmp_path / "out" / "example-counter.v"
    assert "module example_counter(" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["example-counter.v", "waivers.vlt"]
    export.lint(path, "example_counter")


def test_idiomatic_amaranth_design_is_lint_clean_under_the_waivers(tmp_path):
    text = export.verilog_text(Idiomatic(), "idiomatic")
    path = export.write_atomic(tmp_path / "idiomatic.v", text)
    export.lint(path, "idiomatic")


@pytest.mark.parametrize("index", range(len(export.WAIVERS)),
                         ids=[f"{w.rule}-{i}" for i, w in enumerate(export.WAIVERS)])
def test_every_waiver_is_needed(tmp_path, monkeypatch, index):
    """Dropping any one waiver makes the idiomatic design fail with that rule: none is dead."""
    text = export.verilog_text(Idiomatic(), "idiomatic")
    path = export.write_atomic(tmp_path / "idiomatic_design.v", text)
    waiver = export.WAIVERS[index]
    monkeypatch.setattr(export, "WAIVERS", export.WAIVERS[:index] + export.WAIVERS[index + 1:])
    with pytest.raises(export.LintError) as info:
        export.lint(path, "idiomatic")
    assert f"%Warning-{waiver.rule}" in str(info.value)
    monkeypatch.undo()
    export.lint(path, "idiomatic")


def test_a_missing_instance_module_is_reported(tmp_path):
    from amaranth.hdl import Instance

    class Wrapper(wiring.Component):
        a: In(4)
        y: Out(4)

        def elaborate(self, platform):
            m = Module()
            m.submodules.leaf = Instance("vendor_leaf", i_a=self.a, o_y=self.y)
            return m
    path = export.write_atomic(tmp_path / "wrapper.v", export.verilog_text(Wrapper(), "wrapper"))
    with pytest.raises(export.LintError, match=r"Cannot find file containing module: 'vendor_lea"):
        export.lint(path, "wrapper")


def test_truncation_in_hand_written_verilog_is_reported(tmp_path):
    path = tmp_path / "trunc.v"
    path.write_text("module trunc(input [7:0] a, output [3:0] y);\n  assign y = a;\nendmodule\n")
    with pytest.raises(export.LintError, match=r"trunc.v: verilator lint: %Warning-WIDTHTRUNC"):
        export.lint(path, "trunc")


def test_bad_module_name_is_rejected():
    with pytest.raises(ValueError, match="not a plain identifier"):
        export.verilog_text(object(), "bad-name")  # the name is checked first


def test_cli_writes_and_lints(tmp_path, capsys):
    assert main(["verilog", "example-counter", "--config", "tiny", "-o", str(tmp_path)]) == 0
    assert "(lint clean)" in capsys.readouterr().out
    assert (tmp_path / "example-counter.v").is_file()


def test_cli_unknown_target_is_a_one_line_error(tmp_path, capsys):
    assert main(["verilog", "nope", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bitflight verilog: error: unknown target 'nope'") and "\n" == err[-1]
    assert err.count("\n") == 1

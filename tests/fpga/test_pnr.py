"""fpga.pnr: nextpnr report parsing (pure, against hand-checked reports) and one routed counter."""
import json
from pathlib import Path

import pytest

from bitflight.cli import main
from bitflight.fpga import pnr
from bitflight.fpga.tools import ToolError

DATA = Path(__file__).parent / "data"


def test_counter_report_matches_nextpnrs_own_log():
    """A real nextpnr-ecp5 0.11 report of example-counter (8-bit incrementer). Its log says:
    "Max frequency for clock 'clk': 604.23 MHz (PASS at 100.00 MHz)" and
    "0.95 ns logic, 0.71 ns routing"; the path is clk-to-q, a LUT-input into the first CCU2C
    half, seven ripple hops through the next halves (8 bits) and the flip-flop's setup."""
    rep = pnr.parse_report(json.loads((DATA / "nextpnr_counter_report.json").read_text()))
    assert rep.fmax_mhz == {"clk": 604.23} and rep.constraint_mhz == {"clk": 100.0}
    assert rep.meets_constraint
    assert rep.utilization == {"TRELLIS_COMB": (20, 83640), "TRELLIS_FF": (8, 83640)}
    (path,) = rep.paths
    assert path.clock == "posedge clk -> posedge clk"
    assert (round(path.logic_ns, 2), round(path.delay_ns - path.logic_ns, 2)) == (0.95, 0.71)
    assert round(1000 / path.delay_ns, 1) == pytest.approx(604.2, abs=0.1)
    assert (path.logic_levels, path.carry_hops) == (1, 7)
    assert (path.start, path.end) == ("count_TRELLIS_FF_Q_3", "count_TRELLIS_FF_Q_1")
    assert path.design_sources() == ["rtl/examples/counter.py:34"]  # techmap files left out


def _step(kind, delay, cell, port, net="", sources=()):
    frm = {"cell": cell, "port": port, "loc": [0, 0]}
    return {"type": kind, "delay": delay, "from": frm, "to": frm, "net": net,
            "sources": list(sources)}


def test_two_clocks_a_multiplier_and_a_failed_constraint():
    """Hand-written: clock 'clk' misses 150 MHz; the 'slow' clock passes; the path goes
    FF -> LUT4 -> MULT18X18D -> LUT4 -> FF with design sources on two nets."""
    report = {
        "fmax": {"clk": {"achieved": 123.456, "constraint": 150},
                 "slow": {"achieved": 300.0, "constraint": 50}},
        "utilization": {"MULT18X18D": {"used": 2, "available": 156},
                        "DP16KD": {"used": 0, "available": 208},
                        "TRELLIS_COMB": {"used": 10, "available": 83640}},
        "critical_paths": [{"from": "posedge clk", "to": "posedge clk", "path": [
            _step("clk-to-q", 0.5, "a_ff", "Q"),
            _step("routing", 1.0, "lut_a", "Q", "a", ["rtl/x.py:3", "/share/lattice/x.v:1"]),
            _step("logic", 0.25, "lut_a", "A"),
            _step("routing", 0.5, "mul", "Z", "b", ["rtl/x.py:4"]),
            _step("logic", 4.0, "mul", "A0"),
            _step("routing", 0.75, "lut_b", "P0", "p", ["rtl/x.py:4", "rtl/x.py:5"]),
            _step("logic", 0.25, "lut_b", "B"),
            _step("setup", 0.1, "y_ff", "DI")]}]}
    rep = pnr.parse_report(report)
    assert rep.fmax_mhz == {"clk": 123.46, "slow": 300.0}
    assert not rep.meets_constraint
    assert rep.utilization == {"MULT18X18D": (2, 156), "TRELLIS_COMB": (10, 83640)}
    (path,) = rep.paths
    assert (path.delay_ns, path.logic_ns, path.logic_levels, path.carry_hops) == \
        (7.35, 5.1, 3, 0)
    assert path.design_sources() == ["rtl/x.py:3", "rtl/x.py:4", "rtl/x.py:5"]
    assert (path.start, path.end) == ("a_ff", "y_ff")


def test_yosys_cells_are_summed_into_ecp5_classes():
    cells = {"LUT4": 10, "TRELLIS_FF": 7, "CCU2C": 3, "PFUMX": 2, "L6MUX21": 1, "DP16KD": 4,
             "PDPW16KD": 1, "MULT18X18D": 5, "ALU54B": 1, "TRELLIS_DPR16X4": 6, "$scopeinfo": 9}
    assert pnr.cell_classes(cells) == {"lut4": 10, "ff": 7, "carry": 3, "lutram": 6, "mux": 3,
                                       "bram": 5, "mult": 5, "alu": 1}


def test_nextpnr_errors_say_when_the_design_does_not_fit():
    log = ("Info: Packing...\n"
           "ERROR: Unable to place cell 'x', no BELs remaining to implement cell type "
           "'TRELLIS_COMB'\nERROR: second\n")
    assert pnr.nextpnr_error(log) == ("the design does not fit the device: ERROR: Unable to "
                                      "place cell 'x', no BELs remaining to implement cell "
                                      "type 'TRELLIS_COMB'")
    assert pnr.nextpnr_error("Info: a\nERROR: Failed to route\n") == "ERROR: Failed to route"
    assert pnr.nextpnr_error("") == "no output"


def test_bad_device_and_frequency_are_usage_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown device 'ecp5-99' \(known: ecp5-85, "):
        pnr.place_and_route("", "x", tmp_path / "o", device_name="ecp5-99")
    with pytest.raises(ValueError, match="--freq must be a positive number of MHz, not 0"):
        pnr.place_and_route("", "x", tmp_path / "o", freq_mhz=0)
    assert main(["pnr", "example-counter", "--device", "ice40"]) == 2


@pytest.mark.synth
def test_counter_routes_and_cli_writes_summary_and_outputs(tmp_path, capsys):
    out, summary = tmp_path / "out", tmp_path / "pnr.json"
    assert main(["pnr", "example-counter", "--device", "ecp5-85", "--freq", "200", "--seed", "3",
                 "--json", str(summary), "-o", str(out)]) == 0
    data = json.loads(summary.read_text())
    assert data == json.loads((out / "pnr.json").read_text())
    assert (data["device"], data["part"], data["seed"], data["freq_mhz"]) == \
        ("ecp5-85", "LFE5UM5G-85F-8BG756C", 3, 200.0)
    # 8 flip-flops and the 8-bit incrementer in CCU2C carry cells; it runs far above 200 MHz.
    assert (data["synth"]["ff"], data["utilization"]["TRELLIS_FF"]["used"]) == (8, 8)
    assert data["synth"]["carry"] == 4 and data["meets_constraint"]
    assert data["fmax_mhz"]["clk"] > 200
    assert {p.name for p in out.iterdir()} >= {"example_counter.v", "synth.json", "routed.json",
                                                "report.json", "nextpnr.log", "pnr.json"}
    assert "clk " in capsys.readouterr().out
    # a second run replaces the folder (it holds an earlier result); a foreign folder is kept
    assert main(["pnr", "example-counter", "-o", str(out)]) == 0
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    assert main(["pnr", "example-counter", "-o", str(foreign)]) == 2
    assert (foreign / "notes.txt").read_text() == "x"


@pytest.mark.synth
def test_design_larger_than_the_device_is_a_one_line_fit_error(tmp_path):
    """130 multipliers on an LFE5U-12F (28 MULT18X18D)."""
    n = 130
    body = "".join(f"  always @(posedge clk) y{i} <= a{i} * b{i};\n" for i in range(n))
    ports = ", ".join(f"a{i}, b{i}, y{i}" for i in range(n))
    decls = "".join(f"  input [17:0] a{i}, b{i};\n  output reg [35:0] y{i};\n" for i in range(n))
    text = f"module many(clk, {ports});\n  input clk;\n{decls}{body}endmodule\n"
    with pytest.raises(ToolError, match=r"^many: nextpnr-ecp5 \(ecp5-12\) failed: the design "
                                        r"does not fit the device: ERROR: .*MULT18X18D"):
        pnr.place_and_route(text, "many", tmp_path / "o", device_name="ecp5-12")
    assert not (tmp_path / "o").exists()


@pytest.mark.synth
def test_seed_sweep_routes_one_synthesis_per_seed_and_reports_the_spread(tmp_path, capsys):
    out, summary = tmp_path / "out", tmp_path / "pnr.json"
    assert main(["pnr", "example-counter", "--seed", "2,5", "--json", str(summary),
                 "-o", str(out)]) == 0
    data = json.loads(summary.read_text())
    assert data == json.loads((out / "pnr.json").read_text())
    assert data["seeds"] == [2, 5] and [r["seed"] for r in data["runs"]] == [2, 5]
    fmax = [r["fmax_mhz"]["clk"] for r in data["runs"]]
    assert data["fmax_spread_mhz"]["clk"] == {"min": min(fmax), "max": max(fmax),
                                              "median": round(sum(fmax) / 2, 2)}
    # one netlist: the same synthesized cells in both runs, each run's outputs in its folder
    assert data["runs"][0]["synth_cells"] == data["runs"][1]["synth_cells"]
    assert (out / "synth.json").is_file()
    for seed in (2, 5):
        report = json.loads((out / f"seed-{seed}" / "report.json").read_text())
        assert round(float(report["fmax"]["clk"]["achieved"]), 2) == \
            data["runs"][[2, 5].index(seed)]["fmax_mhz"]["clk"]
    best = [2, 5][fmax.index(max(fmax))]
    assert data["best_seed"] == best
    assert f"best: seed {best} " in capsys.readouterr().out


def test_the_best_seed_is_the_one_whose_slowest_clock_is_fastest():
    from types import SimpleNamespace as NS
    from bitflight.fpga.pnr_seeds import SeedSweep
    runs = [NS(seed=s, report=NS(fmax_mhz=f)) for s, f in (
        (1, {"a": 150.0, "b": 90.0}), (2, {"a": 120.0, "b": 101.0}), (3, {"a": 101.0, "b": 140.0}))]
    assert SeedSweep(runs).best().seed == 2           # 101 MHz at worst, seed 3 ties, comes later


def test_seed_lists_are_checked():
    from bitflight.fpga.pnr_seeds import parse_seeds
    assert parse_seeds("3") == [3] and parse_seeds("4,1,2") == [4, 1, 2]
    assert main(["pnr", "example-counter", "--seed", "1,x"]) == 2
    assert main(["pnr", "example-counter", "--seed", "1,1"]) == 2

"""Per-unit sums of a hierarchical synthesis log (fpga/synth_units.py), on a hand-written
excerpt of Yosys' ``stat`` output: counts worked out by hand."""
import pytest

from bitflight.fpga.synth_units import main, module_cells, top_module, units

LOG = """
3.9. Printing statistics.

=== stale ===
       99   LUT6

4.10. Printing statistics.

=== top ===
        +----------Local Count, excluding submodules.
       40 wires
        2   LUT2
        1   FDRE
        2   top.pe
        1   top.out

=== top.out ===
        3   LUT6
        1   DSP48E1

=== top.pe ===
        5   LUT4
        2   FDRE
        1   CARRY4
        3   top.pe.lane

=== top.pe.lane ===
        1   LUT3
        1   RAMB18E1

=== design hierarchy ===
        1   LUT6
"""


def test_a_unit_sums_its_instances_once_per_instance():
    modules = module_cells(LOG)
    assert set(modules) == {"top", "top.out", "top.pe", "top.pe.lane"}   # the last stat only
    rows = dict(units(modules, "top", "xc7", depth=2))
    # pe: 5 LUT + 3 lanes x 1 LUT; top: 2 + 2 pe x 8 + 3 (out)
    assert (rows["top.pe"].lut, rows["top.pe"].ff, rows["top.pe"].carry) == (8, 2, 1)
    assert rows["top.pe"].bram == 2                     # three RAMB18 -> two 36 Kb tiles
    assert (rows["top"].lut, rows["top"].ff, rows["top"].dsp) == (21, 5, 1)
    assert (rows["top (own)"].lut, rows["top (own)"].ff) == (2, 1)
    assert "top.pe.lane" in rows and "top.pe.lane" not in dict(units(modules, "top", "xc7", 1))


def test_a_log_without_stat_is_a_one_line_error(tmp_path, capsys):
    log = tmp_path / "yosys.log"
    log.write_text("nothing here\n")
    assert main([str(log)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Yosys synthesis log" in err


def test_the_cli_prints_the_units(tmp_path, capsys):
    log = tmp_path / "yosys.log"
    log.write_text(LOG)
    assert main([str(log), "--depth", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:]] == ["top", "top", "top.out", "top.pe"]
    assert out[1].split()[1:5] == ["21", "5", "2", "1"]          # LUT, FF, CARRY4, DSP


def test_the_top_is_the_module_nobody_instantiates():
    """A shared module instanced by its own name (a hierarchical array's PE) may be shorter than
    the top's name and need not carry it as a prefix."""
    log = LOG.replace("top.pe.lane", "lane").replace("=== top ===", "=== array_top ===") \
        .replace("top.", "array_top.")
    modules = module_cells(log)
    assert top_module(modules) == "array_top"
    assert dict(units(modules, "array_top", "xc7", 2))["array_top"].lut == 21
    with pytest.raises(ValueError, match="expected one top module"):
        top_module({**modules, "orphan": modules["lane"]})

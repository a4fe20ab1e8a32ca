"""The hierarchical BitMoD array (one PE module, rows x cols Instances) in Verilator: the same
vectors as the flat array at tiny size, and the bitmod-asic shape (32 rows, group 128) reduced to
2 columns and in full (32 x 32), bit-exact against golden.bitserial with the paper's cycles."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bitflight.base import config
from bitflight.base.errors import ConfigError
from bitflight.fpga import export
from bitflight.rtl.bitmod.array import PE_MODULE, BitmodArray, array_blocks
from bitflight.rtl.bitmod.layouts import weight_row_layout
from bitflight.rtl.bitmod.params import EngineParams
from bitflight.sim import hdl

from bitmod_cases import MODES, array_jobs, cocotb_env, make_job

HERE = Path(__file__).parent
TINY = EngineParams.from_config(config.load("tiny"))
ASIC = EngineParams.from_config(config.load("bitmod-asic"))
# the full array's rows, group and PE; 2 tokens; tiles of 3 x 1 PEs, so the rows run up to 10
# cycles apart (11 tile rows, the last one partial) where the full array is broadcast
REDUCED = dataclasses.replace(ASIC, cols=2, tile=(3, 1))
# docs/references.md#bitmod-2.4: cycles per group of 128 = 32 chunks x (2 for 3/4-bit codes, 3 int6,
# 4 int8)
PAPER_CYCLES_PER_GROUP_128 = {"bitmod3": 64, "bitmod4": 64, "fp3": 64, "fp4": 64, "int4": 64,
                              "int6": 96, "int8": 128}


def _hier_build(p: EngineParams, key: str) -> hdl.Build:
    text = export.verilog_text(BitmodArray(p, hierarchical=True), "bitmod_array")
    # the bench drives and reads the stream ports only, so only they are public: the top
    # module's own wiring of the instances is left to Verilator to optimize
    return hdl.build(export.mark_hier_blocks(text, "bitmod_array"), top="bitmod_array", key=key,
                     build_args=export.VERILATOR_HIER_ARGS, ports_only=True)


def _asic_jobs(p: EngineParams, *, full: bool = True) -> list[dict]:
    """Seeded random groups of every datatype class in both scale modes plus edge cases, 2
    groups of 128 each. ``full=False`` keeps one job per cycle count (64, 96, 128 per group)
    and scale mode, an edge case and the multi-group job: the 32 x 32 run shows the shape, the
    two-column run (the same rows, group and PE) every datatype."""
    shape = (p.rows, p.cols, p.lanes, p.group_size)
    plain = [(s, m) for s in PAPER_CYCLES_PER_GROUP_128 for m in MODES]
    edges = [("bitmod4", "acts", "fp16"), ("bitmod3", "special", "int"), ("int8", "max", "int"),
             ("bitmod4", "zero_groups", "fp16"), ("int6", "subnormal", "int"),
             ("fp4", "zero_scale", "fp16"), ("bitmod4", "tiny", "fp16"),
             ("bitmod3", "overflow", "int")]
    keep_plain, keep_edges = range(len(plain)), range(len(edges))
    if not full:                 # chosen before the jobs are made: a 32 x 32 job is not cheap
        firsts = {}
        for i, (scheme, mode) in enumerate(plain):
            firsts.setdefault((PAPER_CYCLES_PER_GROUP_128[scheme], mode), i)
        keep_plain, keep_edges = list(firsts.values()), [len(edges) - 1]
    jobs = [make_job(500 + i, plain[i][0], *shape, groups=2, dots=1, mode=plain[i][1])
            for i in keep_plain]
    jobs += [make_job(600 + i, edges[i][0], *shape, groups=2, dots=1, edge=edges[i][1],
                      mode=edges[i][2]) for i in keep_edges]
    jobs.append(make_job(700, "bitmod4", *shape, groups=5, dots=1, mode="fp16", k=576))
    for job in jobs:
        assert job["cycles_per_group"] == PAPER_CYCLES_PER_GROUP_128[job["scheme"]]
    return jobs


@pytest.fixture(scope="module")
def reduced_text() -> str:
    """The hierarchical export of REDUCED, converted once for the tests that read it."""
    return export.verilog_text(BitmodArray(REDUCED, hierarchical=True), "bitmod_array")


def test_export_instantiates_one_module_per_repeated_unit(reduced_text):
    """Each PE, each row's units and each column's unpack are Instances of one module per kind,
    and every kind is a Verilator hier block; nothing of them is flattened per copy."""
    text = reduced_text
    counts = {"pe": 32 * 2, "terms": 32, "scale": 32, "acc": 32, "acts": 2, "finalize": 32}
    blocks = array_blocks(REDUCED)
    assert set(blocks) == set(counts)
    for kind, block in blocks.items():
        assert text.count(f"module {block.module}(") == 1
        instances = re.findall(rf"^\s*{block.module} (\w+) \(", text, re.M)
        assert len(instances) == counts[kind], kind
    pes = re.findall(rf"^\s*{PE_MODULE} (pe_\d+_\d+) \(", text, re.M)
    assert sorted(pes) == sorted(f"pe_{r}_{c}" for r in range(32) for c in range(2))
    assert not re.search(r"module \\bitmod_array\.(pe|terms|scale|acc|acts)_", text)
    assert "module \\bitmod_array.out.finalize_" not in text
    marked = export.mark_hier_blocks(text, "bitmod_array")
    assert marked.count("/*verilator hier_block*/") == len(blocks)
    assert re.search(rf"module {PE_MODULE}\(.*?\);\n  /\*verilator hier_block\*/", marked, re.S)


def _modules(text: str) -> dict[str, str]:
    """Verilog module name -> its body."""
    return {name.lstrip("\\"): body for name, body in
            re.findall(r"^module (\S+)\s*\(.*?\);(.*?)^endmodule", text, re.M | re.S)}


def test_each_tile_row_is_a_module_of_its_own(reduced_text):
    """A tile row's decoders, skew, row units and PEs are one Verilog module per tile row
    (what lets a module-by-module synthesis map a 1024-row column one tile row at a time): the
    array's top module instantiates the tile rows and no PE or row unit, and tile row k holds
    exactly the PEs and row units of its rows (REDUCED: 11 tile rows of 3, the last of 2)."""
    modules = _modules(reduced_text)
    top = modules["bitmod_array"]
    assert not re.search(rf"^\s*({PE_MODULE}|bitmod_row_\w+) ", top, re.M)
    grid = REDUCED.tile_grid[0]
    assert grid == 11
    for k in range(grid):
        body = modules[f"bitmod_array.tile_row_{k}"]
        rows = REDUCED.tile_row_rows(k)
        pes = re.findall(rf"^\s*{PE_MODULE} pe_(\d+)_(\d+) \(", body, re.M)
        assert sorted(pes) == sorted((str(r), str(c)) for r in rows for c in range(2))
        accs = re.findall(r"^\s*bitmod_row_acc acc_(\d+) \(", body, re.M)
        units = [u for u, (tile_row, _) in enumerate(REDUCED.bands) if tile_row == k]
        assert sorted(map(int, accs)) == units and units
        assert len(re.findall(r"^\s*bitmod_row_terms terms_\d+ \(", body, re.M)) == len(rows)


@pytest.mark.parametrize("tile", [None, (3, 1), (1, 1)])
def test_tiles_bound_what_one_register_drives(tile):
    """Which PEs share the value on their terms, acts and step ports: with tiles of tr x tc
    PEs one register per row and tile column (terms), per column and tile row (acts) and per
    tile (flags), and no two of them share one; broadcast (None) is one per row and column
    (32 x 2 array, so 3 x 1 tiles leave a partial one)."""
    p = dataclasses.replace(ASIC, cols=2, tile=tile)
    text = export.verilog_text(BitmodArray(p, hierarchical=True), "bitmod_array")
    pes = re.findall(rf"^\s*{PE_MODULE} pe_(\d+)_(\d+) \((.*?)\);", text, re.M | re.S)
    assert len(pes) == p.rows * p.cols
    tr, tc = p.tile_shape
    owners = {"terms": lambda r, c: (r, c // tc), "acts": lambda r, c: (c, r // tr),
              "step": lambda r, c: (r // tr, c // tc)}
    for port, owner in owners.items():
        nets = {}
        for r, c, body in pes:
            net = dict(re.findall(r"\.(\w+)\(([^()]*)\)", body))[port]
            nets.setdefault(net, set()).add(owner(int(r), int(c)))
        assert all(len(keys) == 1 for keys in nets.values()), port
        assert len(nets) == len({owner(r, c) for r in range(p.rows)
                                 for c in range(p.cols)}), port


def test_synthesis_export_makes_only_the_pe_a_module():
    """The registry target (what synthesis and place-and-route read) keeps the row and column
    units in the top's netlist; a hierarchy mode other than False, True, 'pe' is refused."""
    from bitflight.rtl import registry
    arr = registry.get("bitmod-array").build(config.load("tiny"))
    arr._MustUse__silence = True        # only its mode is read here
    assert arr.hierarchical == "pe"
    pe_only = BitmodArray(REDUCED, hierarchical="pe")
    assert [b.module for b in pe_only.verilog_blocks] == [PE_MODULE]
    text = export.verilog_text(pe_only, "bitmod_array")
    assert len(re.findall(rf"^\s*{PE_MODULE} pe_\d+_\d+ \(", text, re.M)) == 64
    assert "module \\bitmod_array.tile_row_0.terms_0 (" in text
    assert "module bitmod_row_terms(" not in text
    with pytest.raises(ValueError, match="hierarchical must be False, True or 'pe'"):
        BitmodArray(REDUCED, hierarchical="rows")
    modular = registry.get("bitmod-array").modular_build(config.load("tiny"))
    modular._MustUse__silence = True
    assert modular.hierarchical is True      # module by module: every unit one module


def test_weight_rows_come_one_port_per_tile_row_and_a_too_wide_tile_is_refused():
    """A weight row carries 8-bit codes x lanes, a 4-bit datatype and two 16-bit scales (68
    bits at 4 lanes); Amaranth holds at most 2**16 bits in a signal. One port per tile row lets
    a 1024-row column in tiles of 32 build (its whole beat would be 69 632 bits); a tile of 964
    rows is refused with the limit in the message, 963 rows build."""
    per_row = 8 * 4 + 4 + 16 + 16
    assert ASIC.lanes == 4 and weight_row_layout(ASIC).size == per_row
    column = BitmodArray(dataclasses.replace(ASIC, rows=1024, cols=1, tile=(32, 1)))
    column._MustUse__silence = True
    ports = [name for name, *_ in column.signature.members.flatten() if name[0].startswith("w_t")]
    assert [p[0] for p in ports] == [f"w_t{k}" for k in range(32)]
    assert all(len(getattr(column, f"w_t{k}").as_value()) == 32 * per_row for k in range(32))
    assert repr(column.weight_row(1000).as_value()) == repr(column.w_t31.as_value()[8 * per_row:
                                                                                   9 * per_row])
    assert len(column.w.payload.as_value()) == 4           # the flags
    BitmodArray(dataclasses.replace(ASIC, rows=963, cols=1))._MustUse__silence = True
    with pytest.raises(ConfigError, match=r"bitmod array of 964 x 1: a tile row of 964 rows "
                                          r"takes 65552 bits.*at most 963 rows per tile"):
        BitmodArray(dataclasses.replace(ASIC, rows=964, cols=1))
    # an output beat holds one fp16 result per row and ``last``: 4095 rows fit, 4096 do not
    BitmodArray(dataclasses.replace(ASIC, rows=4095, cols=1, tile=(32, 1)))._MustUse__silence = True
    with pytest.raises(ConfigError, match=r"4096 x 1: an output beat is 65537 bits"):
        BitmodArray(dataclasses.replace(ASIC, rows=4096, cols=1, tile=(32, 1)))



@pytest.mark.verilator
@pytest.mark.xdist_group("bitmod-verilator")
def test_hierarchical_tiny_array_equals_golden_like_the_flat_one(tmp_path):
    build = _hier_build(TINY, "bitmod-array-hier-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", array_jobs(TINY), tmp_path / "jobs.json", TINY))


@pytest.mark.verilator
@pytest.mark.xdist_group("bitmod-verilator")
def test_bitmod_asic_rows_and_group_reduced_to_two_columns(tmp_path):
    assert REDUCED.row_skew == 10
    build = _hier_build(REDUCED, "bitmod-array-hier-asic-32x2")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", _asic_jobs(REDUCED), tmp_path / "jobs.json", REDUCED))


@pytest.mark.verilator
@pytest.mark.xdist_group("bitmod-verilator")
def test_decode_column_in_bands_as_hierarchical_verilog(tmp_path):
    """A 32-row decode column of the bitmod-asic PE and group, in tiles of 8 rows and bands of 3
    (3 + 3 + 2 rows per tile row: 12 row units, each one Instance of the band-of-3 module, the
    short band's third row tied to zero), every datatype in Verilator."""
    column = dataclasses.replace(ASIC, rows=32, cols=1, tile=(8, 1), band=3)
    assert [len(rows) for _, rows in column.bands] == [3, 3, 2] * 4
    text = export.verilog_text(BitmodArray(column, hierarchical=True), "bitmod_array")
    module = array_blocks(column)["acc"].module
    assert len(re.findall(rf"^\s*{module} (\w+) \(", text, re.M)) == 12
    build = _hier_build(column, "bitmod-array-hier-column-bands")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", _asic_jobs(column), tmp_path / "jobs.json", column))


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("bitmod-verilator")
def test_full_bitmod_asic_32x32_array(tmp_path):
    assert (ASIC.rows, ASIC.cols, ASIC.group_size) == (32, 32, 128)
    build = _hier_build(ASIC, "bitmod-array-hier-asic")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", _asic_jobs(ASIC, full=False), tmp_path / "jobs.json", ASIC))

"""amaranth.sim benches of the BitMoD RTL: bit-exact against golden.bitserial, cycles asserted."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from bitflight.base import config
from bitflight.golden import bitserial as bs
from bitflight.golden import formats
from bitflight.rtl.bitmod.array import BitmodArray
from bitflight.rtl.bitmod.decoder import TermDecoder
from bitflight.rtl.bitmod.params import EngineParams
from bitflight.rtl.bitmod.pe import BitmodPe

from bitmod_cases import EDGES, MODES, SCHEMES, check_run, make_job, tiles
from bitmod_driver import run_job

P = EngineParams.from_config(config.load("tiny"))
EXPECTED_SLOTS = {"bitmod3": 2, "bitmod4": 2, "fp3": 2, "fp4": 2, "int4": 2, "int6": 3, "int8": 4}


def test_decoder_matches_golden_table_for_every_datatype_code_and_slot():
    dut = TermDecoder()
    mismatches = []

    async def bench(ctx):
        for index, name in enumerate(bs.HW_FORMATS):
            table = bs.term_table(name)
            ctx.set(dut.fmt, index)
            for code in map(int, formats.get(name).codes):
                ctx.set(dut.code, code)
                for slot in range(table.slots):
                    ctx.set(dut.slot, slot)
                    want = ((1, int(table.negative[code, slot]), int(table.shift[code, slot]))
                            if table.valid[code, slot] else (0,))
                    got = (ctx.get(dut.valid), ctx.get(dut.neg), ctx.get(dut.shift))
                    if got[:len(want)] != want or ctx.get(dut.slots) != table.slots:
                        mismatches.append((name, code, slot, got, want))
        ctx.set(dut.fmt, len(bs.HW_FORMATS))             # beyond the table: no term
        assert ctx.get(dut.valid) == 0

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert not mismatches, mismatches[:5]


def _check(dut, job):
    state = run_job(dut, job)
    assert job["slots"] == EXPECTED_SLOTS[job["scheme"]]                  # docs/references.md#bitmod-2.4
    check_run(job, state["beats"], state["accept"], dut.p.result_latency, dut.latency)
    return state


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_pe_bit_exact_and_cycles(scheme, mode):
    _check(BitmodPe(P), make_job(sum(map(ord, scheme + mode)), scheme, 1, 1, P.lanes,
                                 P.group_size, mode=mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("scheme", ["bitmod4", "bitmod3", "int8"])
def test_pe_edge_cases(scheme, edge, mode):
    _check(BitmodPe(P), make_job(11, scheme, 1, 1, P.lanes, P.group_size, edge=edge, mode=mode))


def test_edge_jobs_reach_the_fp16_output_edges():
    """The output edge cases are what they claim: subnormal results in "tiny", inf in
    "overflow", zeros and finite results elsewhere (so the benches above cover them)."""
    def kinds(edge):
        v = np.array([x for mode in MODES for s in SCHEMES for x in np.ravel(
            make_job(3, s, 2, 2, P.lanes, P.group_size, edge=edge, mode=mode)["expected"])],
            np.uint16)
        e = v >> 10 & 0x1F
        return {"sub": np.mean((e == 0) & (v & 0x3FF != 0)), "inf": np.mean(e == 31)}
    assert kinds("tiny")["sub"] > 0.5 and kinds("overflow")["inf"] > 0.8
    assert kinds("acts")["inf"] == 0 and kinds("max")["inf"] < 0.1


def test_array_bit_exact_every_pe():
    dut = BitmodArray(P)
    for scheme, mode in (("bitmod4", "fp16"), ("int6", "int")):
        _check(dut, make_job(5, scheme, P.rows, P.cols, P.lanes, P.group_size, groups=3,
                             mode=mode))


@pytest.mark.parametrize("scheme", ["bitmod4", "bitmod3"])
def test_shipped_policy_group_128_with_a_partial_group_on_the_tiny_array(scheme):
    """The shipped policies (fp16 group scales, groups of 128) on the tiny array: the group
    length is the stream's, not the config's (32); K = 576 as SmolLM2's width ends with half a
    group, zero-padded; 64 cycles per group (docs/references.md#bitmod-2.4)."""
    job = make_job(17, scheme, P.rows, P.cols, P.lanes, 128, groups=5, dots=1, mode="fp16",
                   k=576)
    assert len(job["w"]) == 5 * 128 // P.lanes and job["cycles_per_group"] == 64
    _check(BitmodArray(P), job)


def test_properties_match_the_paper_cycle_counts():
    pe = BitmodPe(P)
    Fragment.get(pe, None)
    for name in bs.HW_FORMATS:
        bits = formats.get(name).bits
        assert pe.cycles_per_chunk(name) == {6: 3, 8: 4}.get(bits, 2)
        assert pe.cycles_per_group(name) == P.group_size // P.lanes * pe.cycles_per_chunk(name)
        assert pe.cycles_per_group(name, 128) == 32 * pe.cycles_per_chunk(name)
        assert pe.throughput(name) == P.lanes / pe.cycles_per_chunk(name)
    # the step's 3-stage pipeline to the group accumulator, one cycle to start the row scan, its
    # 4 stages (read, dequant multiply, output alignment, output add into the RAM), the output
    # unit's read register, 4 output stages (rtl/bitmod/finalize.py: product; leading one;
    # shift; round and encode); the whole tiny array is one tile (no skew)
    assert (pe.latency, P.latency) == (13, 13 + P.cols - 1)
    # tiles of 2 x 1 PEs on a 5 x 3 array: 3 tile rows, the last 2 cycles behind the first
    tiled = EngineParams(rows=5, cols=3, tile=(2, 1))
    assert (tiled.tile_grid, tiled.result_latency, tiled.latency) == ((3, 3), 15, 17)


@pytest.mark.parametrize("scheme", ["bitmod4", "int8"])
def test_one_column_groups_back_to_back_stay_exact(scheme):
    """One column and one-chunk groups: the row unit scans column 0 for every group, as often
    as the array can close groups. rtl/bitmod/row_acc.py reads a column's running sum from the
    RAM two stages before the add that writes it, which is exact only if two scans of one
    column are at least 3 cycles apart: the closest the array allows, and exact."""
    one = EngineParams(lanes=4, group_size=4, scale_bits=8, rows=2, cols=1)
    for mode in MODES:
        job = make_job(78, scheme, 2, 1, 4, 4, groups=6, dots=3, mode=mode)
        state = run_job(BitmodArray(one), job)
        assert tiles(state["beats"]) == job["expected"]
        gaps = [b - a for a, b in zip(state["accept"], state["accept"][1:])]
        # as fast as the array can close groups: one chunk (2 or 4 cycles), at least 3 apart
        assert min(gaps) == max(one.min_group_cycles, job["slots"]) >= 3


@pytest.mark.parametrize("mode", MODES)
def test_fresh_dot_ignores_the_stale_exponent_of_its_bank(mode):
    """Two dot products of huge values, then two of ordinary ones: dot 2 reuses dot 0's result
    RAM words (same bank), whose exponents are far above its own. A fresh group must start from
    zero at the floor exponent; taking the stale exponent would shift its first product out."""
    big = make_job(81, "bitmod4", P.rows, P.cols, P.lanes, P.group_size, edge="overflow",
                   mode=mode)
    small = make_job(82, "bitmod4", P.rows, P.cols, P.lanes, P.group_size, mode=mode)
    job = {**small, **{key: big[key] + small[key] for key in ("w", "a", "expected")}}
    state = run_job(BitmodArray(P), job)
    assert tiles(state["beats"]) == job["expected"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scheme", ["bitmod4", "int8"])
def test_pe_bitmod_asic_config_group_128(scheme, mode):
    asic = EngineParams.from_config(config.load("bitmod-asic"))
    assert (asic.group_size, asic.rows, asic.cols) == (128, 32, 32)
    job = make_job(41, scheme, 1, 1, asic.lanes, asic.group_size, groups=2, dots=1, edge="acts",
                   mode=mode)
    _check(BitmodPe(asic), job)
    assert asic.cycles_per_group(SCHEMES[scheme][0]) == 128 // 4 * job["slots"]   # 64 or 128


@pytest.mark.parametrize("scheme", ["bitmod4", "int8"])
def test_short_groups_and_output_back_pressure_stall_but_stay_exact(scheme):
    """Group 4: one chunk, fewer cycles (2 or 4) than the 6 columns a row unit scans per group,
    so closing steps must wait (GroupScan.close_ok); the output is taken only every 20th cycle,
    slower than tiles finish, so a tile's last group also waits for its result bank. Results
    stay bit-exact; nothing is lost."""
    short = EngineParams(lanes=4, group_size=4, scale_bits=8, rows=2, cols=6)
    assert short.min_group_cycles == 6
    for mode in MODES:
        job = make_job(77, scheme, 2, 6, 4, 4, groups=3, dots=3, edge="zero_scale", mode=mode)
        state = run_job(BitmodArray(short), job, ready_every=20)
        assert tiles(state["beats"]) == job["expected"]
        gaps = [b - a for a, b in zip(state["accept"], state["accept"][1:])]
        assert short.min_group_cycles in gaps    # a group waited for the scan
        assert max(gaps) > short.min_group_cycles   # a tile waited for its result bank


@pytest.mark.parametrize("rows, cols, tile, group, skew", [
    (2, 2, (1, 1), 32, 1), (5, 3, (2, 2), 32, 2), (3, 7, (1, 3), 4, 2)])
def test_tiles_forward_terms_and_activations_and_stay_exact(rows, cols, tile, group, skew):
    """Tiles (rtl/bitmod/array.py): each tile registers the terms and activations it takes from
    the tile to its left and the one above, so tile (R, C) runs R + C cycles late; edge tiles
    may be partial. Every PE bit-exact, the first result ``rows / tile rows - 1`` cycles later
    than the broadcast array's (``_check``). Group 4 on 7 columns closes groups as often as
    the scan allows, so a column's hold register, written C cycles late, is read in time and
    not overwritten before, under output back-pressure as well."""
    p = EngineParams(lanes=4, group_size=group, scale_bits=8, rows=rows, cols=cols, tile=tile)
    assert p.row_skew == skew          # tile rows - 1, counted by hand
    for i, (scheme, mode) in enumerate((("bitmod4", "fp16"), ("int8", "int"))):
        if group > 4:
            _check(BitmodArray(p), make_job(90 + i, scheme, rows, cols, 4, group, groups=3,
                                            mode=mode, edge="cancel_groups"))
            continue
        job = make_job(92 + i, scheme, rows, cols, 4, group, groups=3, dots=3, mode=mode)
        state = run_job(BitmodArray(p), job, ready_every=20)
        assert tiles(state["beats"]) == job["expected"]
        gaps = [b - a for a, b in zip(state["accept"], state["accept"][1:])]
        assert min(gaps) == p.min_group_cycles == cols


@pytest.mark.parametrize("rows, cols, tile, band, units, result_latency, latency", [
    (4, 1, None, 2, 2, 15, 15), (5, 3, None, 2, 3, 15, 19), (8, 1, (4, 1), 3, 4, 17, 17)])
def test_bands_share_row_units_and_stay_exact(rows, cols, tile, band, units, result_latency,
                                              latency):
    """Bands (``band`` rows per row unit): a unit scans its rows' hold registers one after the
    other within each column and converts them one per cycle, so a beat takes ``band`` cycles.
    A column in bands of 2; 5 rows in bands of 2, 2, 1 (a short band); 8 rows in tiles of 4 in
    bands of 3 (3 + 1 per tile row: a band never spans tile rows). Every PE bit-exact; the
    first beat 13 cycles after the last chunk (the broadcast array's), plus the tile skew,
    plus one collecting register and band - 1 rows; each further beat ``band`` cycles later
    (counted by hand in the parameters)."""
    p = EngineParams(lanes=4, group_size=32, scale_bits=8, rows=rows, cols=cols, tile=tile,
                     band=band)
    assert len(p.bands) == units
    assert (p.result_latency, p.latency) == (result_latency, latency)
    for i, (scheme, mode) in enumerate((("bitmod4", "fp16"), ("int8", "int"))):
        _check(BitmodArray(p), make_job(70 + i, scheme, rows, cols, 4, 32, groups=3,
                                        mode=mode, edge="cancel_groups"))


@pytest.mark.parametrize("rows, cols, band", [(4, 3, 2), (3, 1, 3)])
def test_bands_hold_back_short_groups(rows, cols, band):
    """A unit's scan takes cols x band cycles, so groups close at least that far apart: groups
    of 4 weights (one chunk, 2 or 4 cycles) close as often as the scan allows, under output
    back-pressure, and every result is exact."""
    p = EngineParams(lanes=4, group_size=4, scale_bits=8, rows=rows, cols=cols, band=band)
    assert p.min_group_cycles == cols * band
    for i, (scheme, mode) in enumerate((("bitmod4", "fp16"), ("int8", "int"))):
        job = make_job(80 + i, scheme, rows, cols, 4, 4, groups=3, dots=3, mode=mode)
        state = run_job(BitmodArray(p), job, ready_every=20)
        assert tiles(state["beats"]) == job["expected"]
        gaps = [b - a for a, b in zip(state["accept"], state["accept"][1:])]
        assert min(gaps) == max(cols * band, job["slots"])   # int8's chunk takes 4 cycles


def test_band_is_checked():
    with pytest.raises(config.ConfigError, match=r"bitmod array band 0 is not a row count"):
        EngineParams(band=0)


def test_tile_is_checked():
    with pytest.raises(config.ConfigError, match=r"bitmod array tile \(0, 2\) is not"):
        EngineParams(tile=(0, 2))


def test_dsp_lane_shift_gives_the_same_results_in_the_same_cycles():
    """``lane_shift: dsp`` aligns each lane by multiplying with 2**(15 - distance) instead of a
    barrel shift: every scheme in both scale modes, every edge case of bitmod4 and int8 (the
    "cancel" edge has zero partials, "max" the largest products), and the tiny array, all
    bit-exact with golden and at the fabric form's cycle counts (``_check``)."""
    dsp = dataclasses.replace(P, lane_shift="dsp")
    for i, (scheme, mode) in enumerate((s, m) for s in SCHEMES for m in MODES):
        _check(BitmodPe(dsp), make_job(200 + i, scheme, 1, 1, dsp.lanes, dsp.group_size,
                                       mode=mode))
    for scheme, edge, mode in ((s, e, m) for s in ("bitmod4", "int8") for e in EDGES
                               for m in MODES):
        _check(BitmodPe(dsp), make_job(12, scheme, 1, 1, dsp.lanes, dsp.group_size, edge=edge,
                                       mode=mode))
    _check(BitmodArray(dsp), make_job(5, "bitmod4", dsp.rows, dsp.cols, dsp.lanes,
                                      dsp.group_size, groups=3, mode="fp16"))


def test_lane_shift_is_checked():
    with pytest.raises(config.ConfigError, match="bitmod.lane_shift 'lut' is not one of"):
        EngineParams(lane_shift="lut")

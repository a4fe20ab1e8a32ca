"""The CSD-chain engine model against the RTL chain and MPU on the same workloads
(bitflight.sim.hdl.calibrate_csd).

The model's only term beyond its compute passes is the chain's pipeline latency
(``csd_model.fill_drain_cycles`` = ``dsps_per_chain + 2``), paid once per run. With it the model
must equal the RTL cycles (counted from the first input to the last result, results bit-exact)
exactly, at every N, with mixed N and skipped blocks, unpacked and packed; the issue's goal of 5%
is checked too. The hand counts below are the pass counts of docs/rtl/csd.md ("passes per block":
16 N / slices per 16-row block and k-block, per token group of 1 or 2 tokens).
"""

import pytest

from bitflight.base import config
from bitflight.sim.hdl import calibrate_csd as cal

TINY = config.load("tiny")


def _hand_passes(w, packed: bool) -> int:
    """Per token group, 16 N / slices passes per 16 x 16 block; on a packed chain a lone token
    (an odd one left over) runs dense (N = 16) blocks row-packed, two rows per pass: half."""
    slices = 8 if packed else 16                    # tiny: 16 MACs per chain, 2 per packed DSP
    blocks = cal.case(w)[0].block_n.astype(int)     # N of every 16x16 block (0: skipped)
    n_sum, dense_sum = int(blocks.sum()), int(blocks[blocks == 16].sum())
    pairs, lone = divmod(w.tokens, 2) if packed else (w.tokens, 0)
    return (pairs * n_sum + lone * (n_sum - dense_sum // 2)) * 16 // slices


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_chain_model_matches_rtl_amaranth(packed):
    loads = cal.workloads(TINY, tokens=3, k=64, n_out=16)
    rows = cal.calibrate(TINY, packed, loads)
    assert len(rows) == len(TINY.csd.n_options) + 1          # every N, and mixed N
    assert 0 in cal.case(loads[-1])[0].block_n               # mixed N skips a block
    for w, c in zip(loads, rows):
        assert c.fill_drain == (10 if packed else 18), c
        assert c.model_cycles - c.fill_drain == c.beats == _hand_passes(w, packed), c
        assert c.rtl_cycles == c.model_cycles, c
        assert abs(c.difference) < 0.05, c


def test_u280_chain_model_matches_rtl():
    """The U280 config's chain (8 DSPs x 2 packed MACs) under the U280 config's own model
    parameters, reduced to one chain."""
    u280 = config.load("u280")
    loads = cal.workloads(u280, tokens=3, k=64, n_out=16)
    for w, c in zip(loads, cal.calibrate(u280, True, loads)):
        assert c.fill_drain == u280.csd.dsps_per_chain + 2 == 10
        assert c.model_cycles - c.fill_drain == c.beats == _hand_passes(w, True), c
        assert c.rtl_cycles == c.model_cycles, c


def test_sub_block_density_rounds_per_tile_not_per_row():
    """N = 2 with 4 k-blocks: one pass carries 8 rows, so 16 rows need 2 passes per k-block (8
    per token), not one pass per row (16) as rounding each row's 4 x 2/16 k-blocks up would say."""
    w = cal.CsdWorkload(2, tokens=1, k=64, n_out=16)
    assert cal.model_cycles(TINY, w, packed=False) - 18 == 8


def test_packed_mv_model_matches_rtl_row_packing_dense_blocks_only():
    """MV on a packed chain (8 DSPs): dense blocks row-packed (two rows per DSP), N:M blocks one
    MAC per DSP; the model charges both exactly. Hand count for k 64 x 16 rows: N = 16 takes
    16 rows x 4 k-blocks x 2 passes per row / 2 rows per pass = 64 passes (128 with the second
    lane idle, as before row packing); N = 2 takes 16 / 4 rows per pass x 4 k-blocks = 16."""
    loads = [cal.CsdWorkload(n, tokens=1, k=64, n_out=16) for n in (2, 16)] \
        + [cal.CsdWorkload("mixed", tokens=1, k=64, n_out=16, seed=99)]
    rows = cal.calibrate(TINY, True, loads)
    for c in rows:
        assert c.rtl_cycles == c.model_cycles, c
    assert [c.rtl_cycles - c.fill_drain for c in rows[:2]] == [16, 64]
    sp, _ = cal.case(loads[2])
    assert 0 < sp.dense_share < 1            # the mixed case has dense and N:M blocks


def test_mpu_model_matches_rtl_amaranth():
    """One MPU (vpus_per_mpu = 2 chains on one activation stream) is the model's MM tile."""
    loads = [cal.CsdWorkload(2, 2, 64, 32), cal.CsdWorkload("mixed", 2, 64, 32, seed=7)]
    for c in cal.calibrate(TINY, False, loads, target="mpu"):
        assert c.rtl_cycles == c.model_cycles, c


@pytest.mark.verilator
@pytest.mark.xdist_group("csd-verilator")
@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_chain_model_matches_rtl_verilator(packed):
    """A larger workload (4 tokens x k 128 x 32 outputs, ~1k passes per N) in Verilator, on the
    chain build tests/rtl/csd/test_csd_verilator.py caches."""
    loads = cal.workloads(TINY, tokens=4, k=128, n_out=32)
    for w, c in zip(loads, cal.calibrate(TINY, packed, loads, simulator="verilator")):
        assert c.simulator == "verilator"
        assert c.model_cycles - c.fill_drain == c.beats == _hand_passes(w, packed), c
        assert c.rtl_cycles == c.model_cycles, c


@pytest.mark.verilator
@pytest.mark.xdist_group("csd-verilator")
def test_u280_row_packed_mv_matches_rtl_verilator():
    """The U280 chain as configured (DSP48E2 instances, fpga/models/dsp48e2.v) with one token:
    row-packed dense blocks and one-MAC N:M blocks, cycle-exact and bit-exact."""
    u280 = config.load("u280")
    loads = cal.workloads(u280, tokens=1, k=256, n_out=64)
    for w, c in zip(loads, cal.calibrate(u280, True, loads, simulator="verilator")):
        assert c.model_cycles - c.fill_drain == c.beats == _hand_passes(w, True), c
        assert c.rtl_cycles == c.model_cycles, c


def test_bad_target_is_one_line_error():
    with pytest.raises(ValueError, match="target: expected 'chain' or 'mpu'"):
        cal.calibrate(TINY, False, [], target="vpu")


def test_mv_mapping_packs_two_rows_per_dsp():
    """Packed MV: p_K = dsps_per_chain, p_N = 2 x mv_vpus; the same MACs per cycle as unpacked
    (p_K = chain_macs, p_N = mv_vpus), so the FlightLLM MV parallelism 64 x 16 per core holds
    for dense weights. N:M weights (density < 1) run one MAC per DSP on the packed chain: twice
    the unpacked chain's passes per kept weight, or the dense blocks' share at two."""
    from bitflight.sim.perf import csd_model
    u280 = config.load("u280")
    assert csd_model.parallelism(u280, "decode") == (1, 8, 128)
    unpacked = u280.model_copy(update={"csd": u280.csd.model_copy(update={"pack_two_macs": False})})
    assert csd_model.parallelism(unpacked, "decode") == (1, 16, 64)
    speedup = csd_model.core_speedup(u280)
    for cfg in (u280, unpacked):
        assert csd_model.chain_cycles(cfg, "decode", 1, 4096, 4096)[0] == 4096 * 4096 / (16 * 64) \
            / speedup
    half = 4096 * 4096 * 0.5 / speedup
    assert csd_model.chain_cycles(unpacked, "decode", 1, 4096, 4096, density=0.5)[0] == half / 1024
    assert csd_model.chain_cycles(u280, "decode", 1, 4096, 4096, density=0.5)[0] == half / 512
    assert csd_model.chain_cycles(u280, "decode", 1, 4096, 4096, density=0.5,
                                  dense_share=0.5)[0] == half * (0.5 / 1024 + 0.5 / 512)
    # prefill packs tokens, not rows: density alone
    assert csd_model.chain_cycles(u280, "prefill", 64, 4096, 4096, density=0.5)[0] \
        == csd_model.chain_cycles(u280, "prefill", 64, 4096, 4096, density=0.5, dense_share=0)[0]

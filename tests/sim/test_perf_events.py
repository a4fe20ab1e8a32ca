"""Event-level model over instruction streams: hand-timed programs on the tiny config.

tiny: 100 MHz, 4 HBM channels of 3.2 GB/s = 32 B/cycle each; CSD decode mapping 16 inputs x
2 chains per cycle, fill/drain FD = 18 cycles (dsps_per_chain + 2: results land 18 cycles after
the chain's last pass); BitMoD arrays 2x2 (prefill) / 4x1 (decode), 4 lanes.
"""
import pytest

from bitflight.base import config
from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, Engine, MiscOp, SysOp
from bitflight.sim.perf import bitmod_model, csd_model
from bitflight.sim.perf.events import simulate
from bitflight.sim.perf.instr_cost import cost

TINY = config.load("tiny")
FD = 18


def ld(nbytes, channel=0, **kw):
    return isa.make("LD", buf=Buf.WGT, channel=channel, length=nbytes, **kw)


def st(nbytes, channel=1, **kw):
    return isa.make("ST", buf=Buf.OUT, channel=channel, length=nbytes, **kw)


def mv(**kw):      # 4 outputs x 64 inputs: ceil(64/16) x ceil(4/2) = 8 cycles on tiny's chains
    return isa.make("MV", engine=Engine.DENSE, a_dt=DType.INT8, b_dt=DType.INT8, o_dt=DType.INT32,
                    m=1, n=4, k=64, b_lines=16, **kw)


def test_costs_by_hand():
    assert cost(ld(320), TINY).cycles == 10
    assert cost(mv(), TINY).cycles == 8
    assert cost(ld(320, zero_fill=1), TINY)[:5] == (20, 0, None, 0.0, 0.0)  # a line per cycle
    assert cost(mv(), TINY).drain == FD == csd_model.fill_drain_cycles(TINY)
    soft = isa.make("MISC", op=MiscOp.SOFTMAX, dt_in=DType.FP16, dt_out=DType.FP16, rows=2,
                    cols=10)
    assert cost(soft, TINY).cycles == 10                        # 20 elements x 2 passes / 4 lanes


def test_serial_chain_adds_up():
    prog = [ld(320, release=["MV"]), mv(wait=["LD"], release=["ST"]), st(64, wait=["MV"])]
    t = simulate(prog, TINY)
    assert t.cycles == 10 + 8 + FD + 2
    assert [(e.start, e.end) for e in t.events] == [(0, 10), (10, 18 + FD), (18 + FD, 20 + FD)]
    assert t.bytes_per_channel() == {0: 320, 1: 64}


def test_double_buffering_overlaps_load_and_compute():
    """K weight tiles streamed while the previous one computes: K x max(load, compute) plus one
    compute of drain -- the analytical model's K x max(...) plus exactly one tile of fill/drain
    -- plus the chain's pipeline fill/drain once (the last tile's results)."""
    k = 3
    prog = [ld(320, release=["MV"]) for _ in range(k)] + [mv(wait=["LD"]) for _ in range(k)]
    t = simulate(prog, TINY)
    assert t.cycles == k * 10 + 8 + FD
    assert t.utilization()["LD"] == pytest.approx(30 / (38 + FD))
    assert t.busy()["MV"] == 3 * 8


def test_mm_and_mv_share_their_engine():
    """MM and MV run on the same chains: with no token between them the MV waits for the MM
    (8 cycles, its results FD later), while a BITMOD MM (the array) overlaps a CSD MV."""
    mm = isa.make("MM", **{**mv().args})
    t = simulate([mm, mv()], TINY)
    assert [(e.start, e.end) for e in t.events] == [(0, 8 + FD), (8, 16 + FD)]
    bm = isa.make("MM", engine=Engine.BITMOD, a_dt=DType.FP16, b_dt=DType.BM4,
                  o_dt=DType.FP16, m=2, n=2, k=32, b_lines=4)
    t = simulate([bm, mv()], TINY)
    assert [e.start for e in t.events] == [0, 0]


def test_a_shared_engine_is_taken_lead_cycles_before_the_end():
    """``Cost.lead``: the later instruction's held start passes ``lead`` cycles before the
    earlier one's end (the RTL top's arbiter starts it the cycle after ``done``, where its own
    queue would only issue)."""
    from bitflight.sim.perf.instr_cost import Cost

    class Fixed:
        def cost(self, instr):
            return Cost(10 if instr.kind == "MM" else 7, engine="e", lead=1)
    mm = isa.make("MM", **{**mv().args})
    t = simulate([mm, mm, mv()], TINY, Fixed())
    # MM0 [0, 10); MV [9, 16) takes the engine ahead of MM1 (earliest start, then queue order:
    # MM1 could start at 10, MV at 9); MM1 [15, 25)
    assert [(e.kind, e.start, e.end) for e in sorted(t.events, key=lambda e: e.start)] == [
        ("MM", 0, 10), ("MV", 9, 16), ("MM", 15, 25)]


def test_dmas_share_a_channel_but_not_two():
    same = simulate([ld(320, channel=2), st(320, channel=2)], TINY)
    assert same.cycles == 20
    apart = simulate([ld(320, channel=2), st(320, channel=3)], TINY)
    assert apart.cycles == 10


def test_back_to_back_tiles_hide_the_fill_drain_a_consumer_pays_it_once():
    """Three MV tiles in a row: the chain takes each after 8 busy cycles (the RTL accepts the
    next tile's first pass while the last drains), so 3 x 8 + FD, as the calibration's
    `S + fill_drain`; the ST that waits for the last tile starts at 24 + FD."""
    prog = [mv(), mv(), mv(release=["ST"]), st(64, wait=["MV"])]
    t = simulate(prog, TINY)
    assert [e.start for e in t.events] == [0, 8, 16, 24 + FD]
    assert t.busy()["MV"] == 24 and t.cycles == 24 + FD + 2


def test_token_fifo_pairs_kth_release_with_kth_wait():
    # MV0 waits for LD0, MV1 for LD1 (slow); MV1 must not start on LD0's token
    prog = [ld(32, release=["MV"]), ld(3200, release=["MV"]), mv(wait=["LD"]), mv(wait=["LD"])]
    t = simulate(prog, TINY)
    starts = {e.index: e.start for e in t.events}
    assert starts[2] == 1 and starts[3] == 1 + 100


def test_deadlock_names_the_instruction():
    with pytest.raises(ValueError, match=r"deadlocks: instruction 0 \(MV\) waits for a token "
                                         r"from LD"):
        simulate([mv(wait=["LD"]), ld(32)], TINY)


def test_layers_between_markers():
    layer = lambda i: isa.make("SYS", op=SysOp.LAYER, imm=i)
    prog = [layer(0), ld(320, release=["MV"]), mv(wait=["LD"], release=["SYS"]),
            layer(1).replace(wait=isa.mask(["MV"]), release=isa.mask(["LD"])),
            ld(64, wait=["SYS"])]
    t = simulate(prog, TINY)
    assert t.layers[0] == (0, 18 + FD)
    assert t.layers[1] == (18 + FD, 20 + FD)


def test_engine_costs_call_the_analytical_formulas():
    bm = isa.make("MM", engine=Engine.BITMOD, a_dt=DType.FP16, b_dt=DType.BM3, o_dt=DType.FP32,
                  m=5, n=7, k=64, b_lines=8)
    assert cost(bm, TINY).cycles == bitmod_model.array_cycles(TINY, "prefill", 5, 64, 7, 1, 1.0, 2)
    assert cost(bm, TINY).cycles == 16 * 4 * 3 * 2
    sparse = isa.make("MV", engine=Engine.SPARSE, a_dt=DType.INT8, b_dt=DType.INT8,
                      o_dt=DType.INT32, m=1, n=16, k=64, b_lines=30)     # 100 B meta + 253 pairs
    assert cost(sparse, TINY).cycles == csd_model.chain_cycles(TINY, "decode", 1, 64, 16, 1,
                                                               0.25)[0] == 1 * 8
    kv = isa.make("MM", engine=Engine.DENSE, a_dt=DType.FP16, b_dt=DType.FP16, o_dt=DType.FP16,
                  m=2, n=8, k=8, b_lines=8)
    asic = config.load("bitmod-asic")
    assert cost(kv, asic).cycles == bitmod_model.array_cycles(asic, "prefill", 2, 8, 8, 1, 1.0,
                                                              asic.bitmod.kv_cycles)
    no_kv = asic.model_copy(update={"bitmod": asic.bitmod.model_copy(update={"kv_cycles": None})})
    with pytest.raises(ValueError, match="needs bitmod.kv_cycles"):
        cost(kv, no_kv)


def test_rel_dma_streams_at_kv_efficiency():
    u = config.load("u280")
    plain, rel = ld(14375), ld(14375, rel=1, stride1=128)
    per_cycle = u.memory.channel_gbps * 1e9 / u.clock_hz
    assert cost(plain, u).cycles == pytest.approx(14375 / (per_cycle * u.memory.efficiency))
    assert cost(rel, u).cycles == pytest.approx(14375 / (per_cycle * u.memory.kv_efficiency))


def test_energy_when_the_config_gives_it():
    asic = config.load("bitmod-asic")   # 0.56 pJ per PE-cycle x 1.5 P&R, 18.75 pJ per DRAM bit
    bm = isa.make("MM", engine=Engine.BITMOD, a_dt=DType.FP16, b_dt=DType.BM4, o_dt=DType.FP32,
                  m=32, n=32, k=4, b_lines=8)
    prog = [ld(64, release=["MM"]), bm.replace(wait=isa.mask(["LD"]))]
    t = simulate(prog, asic)
    mm_cycles = bitmod_model.array_cycles(asic, "prefill", 32, 4, 32, 1, 1.0, 2)
    assert t.energy_pj == pytest.approx(64 * 8 * 18.75 + 0.56 * 1.5 * 1024 * mm_cycles)
    assert simulate([mv()], TINY).energy_pj is None          # tiny gives no MAC energy


def test_one_queue_overlaps_dmas_on_different_channels_and_retires_in_order():
    """Two LDs on two channels run at once (one queue, one DMA per channel); the short one's
    token still waits for the long one before it (in-order retirement)."""
    prog = [ld(3200, channel=0, release=["MV"]), ld(320, channel=1, release=["MV"]),
            mv(wait=["LD"]), mv(wait=["LD"])]
    t = simulate(prog, TINY)
    spans = {e.index: (e.start, e.end) for e in t.events}
    assert spans[0] == (0, 100) and spans[1] == (0, 10)
    assert spans[2] == (100, 108 + FD) and spans[3] == (108, 116 + FD)
    assert t.busy()["LD"] == 100                  # union of the two transfers

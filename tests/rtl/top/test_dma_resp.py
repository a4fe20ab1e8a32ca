"""A non-OKAY AXI response faults the LD / ST engine with AXI_RESP (code, channel), once, and the
engine still drains and pulses ``done``; the top's bench memory (cocotbext-axi) always answers
OKAY, so the engines are driven here by a Python AXI slave (Amaranth simulator)."""
import pytest

from bitflight.compiler import encoding, isa
from bitflight.rtl.top.dma_load import LoadEngine
from bitflight.rtl.top.dma_store import StoreEngine
from bitflight.rtl.top.faults import Fault
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

P = TopParams(channels=2, buffer_lines=(64,) * 5, max_burst_beats=2)
SLVERR, DECERR = 2, 3


def _instr(kind, **fields):
    words = encoding.encode(isa.make(kind, **fields))
    return sum(w << 32 * (len(words) - 1 - i) for i, w in enumerate(words))


def _run(dut, kind, fields, bad, resp, engine_side):
    """Start the instruction, serve AXI with ``engine_side``; return (faults, done cycle)."""
    faults, done = [], []

    async def bench(ctx):
        ctx.set(dut.unit.instr, _instr(kind, **fields))
        for c in range(P.channels):
            ctx.set(dut.limits[c], 1 << 16)
        await ctx.tick()
        ctx.set(dut.unit.start, 1)
        await ctx.tick()
        ctx.set(dut.unit.start, 0)
        state = {"beats": [], "n": 0}
        drive, sample = engine_side
        for cycle in range(2000):
            drive(ctx, state, bad, resp)
            sample(ctx, state)
            if ctx.get(dut.unit.fault):
                faults.append((ctx.get(dut.unit.code), ctx.get(dut.unit.args.a0),
                               ctx.get(dut.unit.args.a2)))
            if ctx.get(dut.unit.done):
                done.append(cycle)
                return
            await ctx.tick()
        raise AssertionError("the engine never pulsed done")

    amaranth_run.run(dut, bench)
    return faults, done


def _read_slave(dut):
    """AR accepted at once; R beats one per cycle, beat number ``bad`` answered ``resp``."""
    ax = dut.axi

    def drive(ctx, state, bad, resp):
        ctx.set(ax.arready, 1)
        ctx.set(dut.wr.free, 1)
        ctx.set(dut.wr.ready, ctx.get(dut.wr.valid))
        ctx.set(ax.rvalid, bool(state["beats"]))
        ctx.set(ax.rlast, state["beats"][0] if state["beats"] else 0)
        ctx.set(ax.rresp, resp if state["n"] == bad else 0)
        ctx.set(ax.rdata, state["n"] * 0x0101)

    def sample(ctx, state):             # the handshakes of this cycle's clock edge
        if ctx.get(ax.rready) and ctx.get(ax.rvalid):
            state["beats"].pop(0)
            state["n"] += 1
        if ctx.get(ax.arvalid):
            n = ctx.get(ax.arlen) + 1
            state["beats"] += [i == n - 1 for i in range(n)]
    return drive, sample


def _write_slave(dut):
    """AW and W accepted at once; a B response per burst the cycle after its last W beat,
    burst number ``bad`` answered ``resp``; the source buffer answers a read the next cycle."""
    ax, rd = dut.axi, dut.rd

    def drive(ctx, state, bad, resp):
        ctx.set(ax.awready, 1)
        ctx.set(ax.wready, 1)
        ctx.set(rd.rvalid, state.get("asked", 0))
        ctx.set(rd.ready, ctx.get(rd.valid))
        b = state.get("b")
        ctx.set(ax.bvalid, b is not None)
        ctx.set(ax.bresp, resp if b is not None and b == bad else 0)

    def sample(ctx, state):
        state["asked"] = ctx.get(rd.valid)
        state["b"] = None
        if ctx.get(ax.wvalid) and ctx.get(ax.wlast):
            state["b"] = state["n"]
            state["n"] += 1
    return drive, sample


FIELDS = dict(buf=isa.Buf.ACT, channel=1, hbm_addr=40, length=100)   # 7 beats in 4 bursts
ENGINES = {"LD": (LoadEngine, _read_slave), "ST": (StoreEngine, _write_slave)}


def _faults(kind, bad, resp):
    engine, slave = ENGINES[kind]
    dut = engine(P)
    faults, done = _run(dut, kind, FIELDS, bad, resp, slave(dut))
    assert done
    return faults


@pytest.mark.parametrize("kind, bad", [("LD", 0), ("LD", 3), ("LD", 6), ("ST", 0), ("ST", 3)])
@pytest.mark.parametrize("resp", [SLVERR, DECERR])
def test_the_first_bad_response_faults_once_also_the_last(kind, bad, resp):
    """LD: beat ``bad`` of 7 answers ``resp``; ST: burst ``bad`` of 4 (3 is the last)."""
    assert _faults(kind, bad, resp) == [(Fault.AXI_RESP, resp, 1)]


@pytest.mark.parametrize("kind", ["LD", "ST"])
def test_okay_responses_do_not_fault(kind):
    assert _faults(kind, None, SLVERR) == []


def test_a_store_cut_by_its_channel_limit_drops_its_read_ahead_and_the_next_store_runs():
    """An ST run past its channel's limit faults HBM_RANGE while its line reader holds lines
    read ahead: the engine drops them and reads no more (without the flush the reader would
    fetch the block's 7 lines and the aligner drain them), pulses done, and the next ST on the
    same engine reads its 7 lines and writes all its 7 beats (a flush that never ends starves
    it)."""
    dut = StoreEngine(P)
    drive, sample = _write_slave(dut)
    results = []

    async def bench(ctx):
        for limit in (48, 1 << 16):
            ctx.set(dut.unit.instr, _instr("ST", **FIELDS))
            for c in range(P.channels):
                ctx.set(dut.limits[c], limit)
            await ctx.tick()
            ctx.set(dut.unit.start, 1)
            await ctx.tick()
            ctx.set(dut.unit.start, 0)
            state, faults, beats, lines = {"n": 0}, [], 0, 0
            for _ in range(2000):
                drive(ctx, state, None, SLVERR)
                beats += ctx.get(dut.axi.wvalid) and ctx.get(dut.axi.wready)
                lines += ctx.get(dut.rd.valid) and ctx.get(dut.rd.ready)
                sample(ctx, state)
                if ctx.get(dut.unit.fault):
                    faults.append(ctx.get(dut.unit.code))
                if ctx.get(dut.unit.done):
                    break
                await ctx.tick()
            else:
                raise AssertionError(f"limit {limit}: the engine never pulsed done")
            results.append((faults, beats, lines))
            await ctx.tick()

    amaranth_run.run(dut, bench)
    faults, _, lines = results[0]
    assert faults == [Fault.HBM_RANGE] and lines < 7
    assert results[1] == ([], 7, 7)

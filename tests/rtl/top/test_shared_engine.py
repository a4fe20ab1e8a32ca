"""rtl/top/shared.py: one engine serving the MM and the MV queue. The Arbiter (Amaranth
simulator) between two queues that issue at random and a stand-in engine that runs each
instruction for a random number of cycles, against the rules the top's timing model assumes
(sim/top/perf_timing.py): the engine is never started while it runs; it never idles while a
queue waits (a lone start passes in its own cycle, a held one the cycle after ``done``); the
lower-numbered queue wins a tie; every instruction runs once, with its own words and index, and
its ``done`` and faults reach its own queue only."""
import random

import pytest
from amaranth.hdl import Fragment
from hypothesis import given, settings, strategies as st

from bitflight.compiler import isa
from bitflight.rtl.top.params import TopParams
from bitflight.rtl.top.shared import Arbiter, SharedEngine
from bitflight.sim.hdl import amaranth_run

PARAMS = TopParams(channels=1, buffer_lines=(16,) * 5)


def _run(seed, cycles=400, issue_prob=0.3):
    dut = Arbiter(isa.TYPES["MM"], PARAMS, 2)
    rng = random.Random(seed)
    log = {"runs": [], "done": [[], []], "faults": [[], []], "ties": 0, "held": 0}

    async def bench(ctx):
        queue = [None, None]            # per queue: (instr, index) issued and not done
        serial = 0
        running, left, fault_at = None, 0, None      # the engine: (queue, instr, index)
        for cycle in range(cycles):
            starts = [False, False]
            for q in range(2):
                if queue[q] is None and rng.random() < issue_prob:
                    serial += 1
                    queue[q] = (rng.getrandbits(len(dut.ports[q].instr)), serial % 64)
                    starts[q] = True
                if queue[q] is not None:
                    ctx.set(dut.ports[q].instr, queue[q][0])
                    ctx.set(dut.ports[q].index, queue[q][1])
                ctx.set(dut.ports[q].start, starts[q])
            done = running is not None and left == 1
            fault = running is not None and fault_at == left
            ctx.set(dut.engine.done, done)
            ctx.set(dut.engine.fault, fault)
            ctx.set(dut.engine.code, 7 if fault else 0)
            await ctx.delay(1e-9)
            started = ctx.get(dut.engine.start)
            if running is not None:
                assert not started, f"cycle {cycle}: started while running"
            for q in range(2):
                if ctx.get(dut.ports[q].done):
                    log["done"][q].append(cycle)
                if ctx.get(dut.ports[q].fault):
                    assert ctx.get(dut.ports[q].code) == 7
                    log["faults"][q].append(cycle)
            if done:
                owner = running[0]
                assert ctx.get(dut.ports[owner].done) and not ctx.get(dut.ports[1 - owner].done)
                queue[owner], running = None, None
            elif running is not None:
                assert not ctx.get(dut.ports[0].done) and not ctx.get(dut.ports[1].done)
                left -= 1
            if fault:
                assert ctx.get(dut.ports[running[0] if running else owner].fault)
            # the engine free this cycle (not just freed by done: it restarts the next cycle)
            waiting = [q for q in range(2) if queue[q] is not None
                       and not any(r[0] == q and r[3] is None for r in log["runs"])]
            if running is None and not done:
                assert bool(started) == bool(waiting), f"cycle {cycle}: idle engine, {waiting}"
            if started:
                q = waiting[0]
                log["ties"] += len(waiting) > 1
                log["held"] += not starts[q]
                assert (ctx.get(dut.engine.instr), ctx.get(dut.engine.index)) == queue[q]
                running, left = (q, *queue[q]), rng.choice([1, 2, 3, 7])
                fault_at = rng.choice([None, None, left, 1])
                log["runs"].append([q, cycle, queue[q], None])
            for r in log["runs"]:
                if r[3] is None and done and r[0] == owner:
                    r[3] = cycle
            await ctx.tick()

    amaranth_run.run(dut, bench)
    return log


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), issue_prob=st.sampled_from([0.1, 0.5, 1.0]))
def test_arbiter_keeps_the_engine_busy_and_each_queue_its_own(seed, issue_prob):
    log = _run(seed, issue_prob=issue_prob)
    for q in range(2):                 # one done per run of the queue, at that run's end
        assert log["done"][q] == [r[3] for r in log["runs"] if r[0] == q and r[3] is not None]


def test_schedules_reach_ties_and_held_starts():
    """The schedules the test relies on happen: both queues starting in one cycle (a tie) and
    starts held while the other queue's instruction runs."""
    log = _run(3, cycles=600, issue_prob=0.5)
    assert log["ties"] > 5 and log["held"] > 20 and all(log["faults"])


def test_shared_engine_needs_the_same_fields():
    with pytest.raises(ValueError, match="same fields"):
        SharedEngine(PARAMS, lambda p, q: None, (isa.Queue.MM, isa.Queue.MISC))


def _units(cfg):
    from bitflight.rtl.top.engines import built_engines
    params = TopParams.from_config(cfg)
    made = built_engines(cfg)
    units = [made[q](params) for q in (isa.Queue.MM, isa.Queue.MV)]
    for unit in units:                 # elaborates: the shared engine once, under the MM unit
        Fragment.get(unit, None)
    return [unit.engines for unit in units]


def _owner(engine):
    return getattr(getattr(engine, "shared", None), "engine", engine)


def test_the_top_shares_the_attention_engine_and_the_mpu():
    """tiny: the MM and MV queues reach one attention engine and one CSD MPU (of
    ``vpus_per_mpu`` VPUs), and each has its own BitMoD array (the shapes differ)."""
    from bitflight.base import config
    cfg = config.load("tiny")
    mm, mv = _units(cfg)
    names = [type(_owner(e)).__name__ for e in mm]
    assert names == ["AttentionEngine", "CsdEngine", "BitmodEngine"]
    assert [_owner(a) is _owner(b) for a, b in zip(mm, mv)] == [True, True, False]
    assert _owner(mm[1]).feeder.vpus == cfg.csd.vpus_per_mpu
    assert (_owner(mm[2]).ep.rows, _owner(mv[2]).ep.rows) == (2, 4)


def test_one_bitmod_array_when_both_shapes_are_the_same():
    """A config whose decode array is its prefill array builds that array once, and sim.perf's
    RTL mode holds one BitMoD engine for MM and MV alike."""
    from bitflight.base import config
    from bitflight.sim.top.perf_timing import engine_of
    tiny = config.load("tiny")
    same = tiny.model_copy(update={"bitmod": tiny.bitmod.model_copy(
        update={"decode_array": tiny.bitmod.prefill_array})})
    mm, mv = _units(same)
    assert _owner(mm[2]) is _owner(mv[2]) and _owner(mm[2]).ep.cols == 2
    product = dict(engine=isa.Engine.BITMOD, a_dt=isa.DType.FP16, b_dt=isa.DType.BM4,
                   o_dt=isa.DType.FP16, m=1, n=2, k=32)
    assert {engine_of(isa.make(k, **product), same) for k in ("MM", "MV")} == {"bitmod"}
    assert {engine_of(isa.make(k, **product), tiny) for k in ("MM", "MV")} == {
        "bitmod-MM", "bitmod-MV"}

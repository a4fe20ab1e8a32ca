"""The CSD MM/MV engine on the Verilated top against sim.isa, bit for bit (every buffer and
channel): dense INT4/INT8 and N:M INT4/INT8 tiles with every N, random shapes, extreme codes,
special activation scales; its range fault; and its cycle formula (``rtl/csd/timing.py``)
against the MM queue's BUSY counter."""
import sys
from pathlib import Path

import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.compiler.passes.packing import unpack_tile
from bitflight.rtl.csd.geometry import ChainGeometry
from bitflight.rtl.csd.timing import TileShape, instruction_cycles
from bitflight.sim.isa import scheduler
from bitflight.sim.isa.machine import Machine, SimError
from bitflight.sim.top import runner
from bitflight.sim.top.job import Job, Step

from top_cases import CFG, assert_same_state, words

sys.path.insert(0, str(Path(__file__).parents[1] / "csd"))      # the tile helpers live there
from engine_cases import activations, dense_tile, lines, sparse_tile  # noqa: E402

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
F32 = np.float32
SPECIAL_SCALES = np.array([0.0, -0.0, np.inf, np.nan, 1e-45, 3e38, 2.0 ** -20], F32)


class Layout:
    """Places tiles, A rows, scales and results one after the other in their buffers."""

    def __init__(self):
        self.bufs = {b: bytearray() for b in isa.Buf}

    def put(self, buf: isa.Buf, data: bytes) -> int:
        at = len(self.bufs[buf]) // 16
        self.bufs[buf] += lines(data)
        return at


def make_mm(rng, lay: Layout, kind: str, sparse: bool, bits: int, rows: int, n: int, k: int,
            edge: str | None = None, block_n=None):
    if sparse:
        tile = sparse_tile(rng, n, k, bits, block_n, extreme=edge == "extreme")
    else:
        tile = dense_tile(rng, n, k, bits, edge)
    q8 = activations(rng, rows, k, extreme=edge == "extreme")
    sx = (rng.uniform(0.5, 2, rows) * 2.0 ** rng.integers(-20, 4, rows)).astype(F32)
    if edge == "special":
        sx = rng.choice(SPECIAL_SCALES, rows)
    out_at = lay.put(isa.Buf.OUT, bytes(rows * n * 2))
    return isa.make(kind, engine=isa.Engine.SPARSE if sparse else isa.Engine.DENSE,
                    a_dt=isa.DType.INT8, b_dt=isa.DType.INT4 if bits == 4 else isa.DType.INT8,
                    o_dt=isa.DType.FP16, m=rows, n=n, k=k,
                    a_addr=lay.put(isa.Buf.ACT, q8.tobytes()),
                    b_addr=lay.put(isa.Buf.WGT, tile), b_lines=-(-len(tile) // 16),
                    s_addr=lay.put(isa.Buf.BIAS, sx.tobytes()), o_addr=out_at)


def run_both(top, lay: Layout, mms: list):
    """The program (MMs/MVs, then SYS END) on the top and on sim.isa from the same buffers."""
    prog = mms + [isa.make("SYS", op=isa.SysOp.END)]
    sizes = top[1].buffer_bytes
    init = {b.name: bytes(lay.bufs[b]).ljust(sizes[b], b"\0") for b in isa.Buf}
    image = {0: bytes(4096)}
    job = Job(channels=image, limits={0: 4096}, steps=[Step(words=words(prog))], buffers=init)
    result = runner.run(top, job)
    machine = Machine(CFG, image, {0: 4096})
    for b in isa.Buf:
        machine.bufs[b][:] = init[b.name]
    try:
        scheduler.run(machine, prog, 0, 0)
        error = None
    except SimError as exc:
        error = str(exc)
    return result, machine, error


@pytest.fixture(scope="module")
def top():
    return runner.build(CFG)


def test_random_tiles_match_isa(top):
    """Dense INT4/INT8 and N:M INT4/INT8 (random legal N per block, including 0 and 1), random
    shapes, on both queues (MM and MV run concurrently)."""
    rng = np.random.default_rng(7)
    lay = Layout()
    mms = []
    for i, (sparse, bits) in enumerate([(False, 4), (False, 8), (True, 4), (True, 8)] * 2):
        rows = int(rng.integers(1, 4))
        n = 16 * int(rng.integers(1, 4)) if sparse else int(rng.integers(1, 40))
        k = 16 * int(rng.integers(1, 6))
        mms.append(make_mm(rng, lay, "MV" if i % 2 else "MM", sparse, bits, rows, n, k))
    result, machine, error = run_both(top, lay, mms)
    assert error is None and result.error is None, (error, result.error)
    assert_same_state(result, machine)


def test_edge_cases_match_isa(top):
    """Extreme codes with -128/127 activations, all-zero weight rows, row blocks whose every
    N is 0, special activation scales (zeros, inf, NaN, subnormal, huge), every legal N
    (0, 1, 2, 4, 8, 16) in one tile."""
    rng = np.random.default_rng(3)
    lay = Layout()
    mms = [make_mm(rng, lay, "MM", False, 4, 2, 24, 32, "extreme"),
           make_mm(rng, lay, "MV", False, 8, 2, 17, 48, "extreme"),
           make_mm(rng, lay, "MM", True, 8, 2, 32, 64, "extreme", block_n=16),
           make_mm(rng, lay, "MV", True, 4, 1, 32, 32, None, block_n=[[0, 0], [1, 0]]),
           make_mm(rng, lay, "MM", False, 4, 3, 16, 16, "zero"),
           make_mm(rng, lay, "MV", False, 8, 7, 8, 16, "special"),
           make_mm(rng, lay, "MM", True, 4, 7, 16, 32, "special"),
           make_mm(rng, lay, "MV", True, 8, 2, 32, 96, block_n=[[0, 1, 2, 4, 8, 16],
                                                               [16, 8, 4, 2, 1, 0]])]
    result, machine, error = run_both(top, lay, mms)
    assert error is None and result.error is None, (error, result.error)
    assert_same_state(result, machine)


def test_range_fault_matches_isa(top):
    rng = np.random.default_rng(4)
    lay = Layout()
    mm = make_mm(rng, lay, "MM", False, 4, 2, 16, 16)
    bad = isa.make("MM", **{**mm.args, "o_addr": top[1].buffer_lines[isa.Buf.OUT] - 1})
    result, _, error = run_both(top, lay, [bad])
    assert error is not None and result.error == error


def test_cycle_formula_matches_busy_counter(top):
    """One MM queue alone (no port contention): BUSY[MM] equals the formula, summed."""
    rng = np.random.default_rng(5)
    geo = ChainGeometry.from_config(CFG)
    lay = Layout()
    mms = [make_mm(rng, lay, "MM", False, 4, 2, 20, 32),
           make_mm(rng, lay, "MM", True, 8, 1, 32, 64),
           make_mm(rng, lay, "MM", True, 4, 2, 16, 96, block_n=[[1, 2, 4, 8, 16, 0]])]
    result, machine, error = run_both(top, lay, mms)
    assert error is None and result.error is None
    assert_same_state(result, machine)
    want = 0
    for mm in mms:
        block_n = None
        if mm["engine"] == isa.Engine.SPARSE:
            raw = bytes(lay.bufs[isa.Buf.WGT][16 * mm["b_addr"]:16 * (mm["b_addr"] + mm["b_lines"])])
            block_n = unpack_tile(raw, mm["engine"], mm["b_dt"], mm["n"], mm["k"]).block_n
        want += instruction_cycles(geo, CFG.csd.vpus_per_mpu,
                                   TileShape(mm["m"], mm["n"], mm["k"], block_n))
    assert result.steps[0].active["MM"] == want



def test_mm_and_mv_share_one_mpu(top):
    """The MM and the MV queue share one MPU (rtl/top/shared.py): an MV issued while an MM runs
    waits for it and starts the cycle after the MM's ``done``. So the MM's BUSY is its formula
    alone, and the step with the MV lasts exactly the MV's own formula longer than the step
    without it (the MV's issue overlaps the MM), as sim.perf's RTL-timing mode predicts; with
    two engines the two would overlap instead."""
    from bitflight.sim.perf.events import simulate
    from bitflight.sim.top.perf_timing import RtlTiming
    rng = np.random.default_rng(9)
    geo = ChainGeometry.from_config(CFG)
    lay = Layout()
    mm = make_mm(rng, lay, "MM", False, 4, 2, 32, 64)
    mv = make_mm(rng, lay, "MV", False, 8, 1, 24, 48)
    alone, _, _ = run_both(top, lay, [mm])
    both, machine, error = run_both(top, lay, [mm, mv])
    assert error is None and both.error is None
    assert_same_state(both, machine)
    own = [instruction_cycles(geo, CFG.csd.vpus_per_mpu, TileShape(i["m"], i["n"], i["k"], None))
           for i in (mm, mv)]
    assert alone.steps[0].active["MM"] == both.steps[0].active["MM"] == own[0]
    assert both.steps[0].cycles - alone.steps[0].cycles == own[1]
    end = isa.make("SYS", op=isa.SysOp.END)
    model = [simulate(prog + [end], CFG, RtlTiming(CFG)).cycles for prog in ([mm], [mm, mv])]
    assert model[1] - model[0] == own[1]

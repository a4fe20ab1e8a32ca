"""VPU (chain + row accumulator) in amaranth.sim: final INT32 rows with bias, bit-exact, timed."""
import numpy as np
import pytest

from bitflight.rtl.csd.vpu import Vpu
from bitflight.sim.hdl import amaranth_run

from csd_cases import expected, geometry, make_case
from vpu_bench import vpu_outputs, vpu_vectors


def run_vpu(geo, bias_beats, pass_beats, n_blocks, ready_prob=1.0, seed=0):
    dut = Vpu(geo)
    rng = np.random.default_rng(seed)
    outs, last_pass_at, emitted_at = [], [], []

    async def bench(ctx):
        bi = pi = cycle = 0
        while len(outs) < n_blocks:
            ctx.set(dut.bias.valid, int(bi < len(bias_beats)))
            if bi < len(bias_beats):
                ctx.set(dut.bias.payload.as_value(), bias_beats[bi])
            ctx.set(dut.i.valid, int(pi < len(pass_beats)))
            if pi < len(pass_beats):
                ctx.set(dut.i.payload.as_value(), pass_beats[pi])
            ctx.set(dut.o.ready, int(rng.random() < ready_prob))
            _, _, bv, br, iv, ir, ov, orr, op, last = await ctx.tick().sample(
                dut.bias.valid, dut.bias.ready, dut.i.valid, dut.i.ready, dut.o.valid,
                dut.o.ready, dut.o.payload.as_value(), dut.i.payload.lane.last)
            bi += bool(bv and br)
            if iv and ir:
                pi += 1
                if last:
                    last_pass_at.append(cycle)
            if ov and orr:
                outs.append(op)
                emitted_at.append(cycle)
            cycle += 1
            assert cycle < 50_000, "VPU made no progress"

    amaranth_run.run(dut, bench)
    return dut, outs, last_pass_at, emitted_at


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
@pytest.mark.parametrize("case", [dict(n="mixed", tokens=3), dict(n="mixed", bits=4, tokens=2),
                                  dict(n=16, edge="min", tokens=2, k=256),
                                  dict(n="mixed", edge="zero", tokens=2)],
                         ids=["mixed", "int4", "min-k256", "zero"])
def test_vpu_rows_match_golden_with_bias(packed, case):
    geo = geometry("tiny", packed=packed)
    sp, x, bias = make_case(40, **case)
    blocks, bias_beats, pass_beats = vpu_vectors(geo, sp, x, bias)
    dut, outs, last_at, emitted_at = run_vpu(geo, bias_beats, pass_beats, len(blocks))
    np.testing.assert_array_equal(vpu_outputs(geo, blocks, outs, (x.shape[0], sp.shape[0])),
                                  expected(sp, x, bias))
    assert emitted_at[0] == last_at[0] + dut.latency


def test_vpu_all_skipped_blocks_give_bias_and_survive_backpressure():
    geo = geometry("tiny")
    sp, x, bias = make_case(41, n=np.array([[0, 0], [4, 0]]), tokens=2, k=32)
    blocks, bias_beats, pass_beats = vpu_vectors(geo, sp, x, bias)
    _, outs, _, _ = run_vpu(geo, bias_beats, pass_beats, len(blocks), ready_prob=0.4, seed=2)
    got = vpu_outputs(geo, blocks, outs, (x.shape[0], sp.shape[0]))
    np.testing.assert_array_equal(got, expected(sp, x, bias))
    np.testing.assert_array_equal(got[:, :16], np.broadcast_to(bias[:16], (2, 16)))

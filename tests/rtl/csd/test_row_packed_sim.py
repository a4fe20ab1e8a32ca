"""Row-packed MV on packed chains (amaranth.sim): one token's dense blocks put two rows' weights on
each DSP's packed operand, bit-exact against golden.sparse.matmul, at twice the rows per pass."""
import dataclasses

import numpy as np
import pytest

from bitflight.golden import sparse
from bitflight.rtl.csd import schedule
from bitflight.rtl.csd.chain import CsdChain
from bitflight.rtl.csd.mpu import Mpu

from csd_cases import expected, geometry, make_case
from csd_driver import drive
from test_vpu_sim import run_vpu
from vpu_bench import vpu_outputs, vpu_vectors


def run_chain(geo, passes, sp, x, bias):
    trace = drive(CsdChain(geo), [schedule.chain_payload(geo, p) for p in passes])
    results = [schedule.decode_chain_out(geo, bits) for bits in trace.outputs]
    return schedule.assemble(geo, passes, results, (x.shape[0], sp.shape[0]), bias), trace


@pytest.mark.parametrize("config", ["tiny", "u280"])
@pytest.mark.parametrize("case", [dict(n=16), dict(n="mixed"), dict(n=16, bits=4),
                                  dict(n=16, edge="min"), dict(n=16, edge="neg"),
                                  dict(n="mixed", edge="zero")],
                         ids=["dense", "mixed", "int4", "min", "neg", "zero"])
def test_row_packed_chain_matches_golden(config, case):
    """-128 x -128 everywhere ("min") needs the OAU split exactly as token packing does."""
    # amaranth.sim does not run DSP48E2 instances (u280.yaml): the same chain, inferred slices
    geo = dataclasses.replace(geometry(config, packed=True), primitive="inferred")
    sp, x, bias = make_case(60, tokens=1, k=128, **case)
    passes = schedule.chain_passes(geo, sp, x)
    assert any(p.rows2 for p in passes)
    out, _ = run_chain(geo, passes, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))


def test_one_row_packed_pass_by_hand():
    """The first pass of a dense 16 x 16 INT8 block on 8 slices: lane 0 is row 0's dot product
    over columns 0..7, lane 1 row 1's, both with token 0's activations."""
    geo = geometry("tiny", packed=True)
    assert geo.slices == 8
    sp, x, bias = make_case(61, n=16, tokens=1, k=16, n_out=16)
    passes = schedule.chain_passes(geo, sp, x)
    first = passes[0]
    assert first.rows2 and first.rows == [0, 1] and first.idx == list(range(8))
    trace = drive(CsdChain(geo), [schedule.chain_payload(geo, first)])
    res = schedule.decode_chain_out(geo, trace.outputs[0])
    w = sparse_dense(sp)
    assert res[0][0] == int(np.dot(w[0, :8], x[0, :8]))
    assert res[1][0] == int(np.dot(w[1, :8], x[0, :8]))


def sparse_dense(sp) -> np.ndarray:
    """The pruned integer weights as a dense [N_out, K] matrix (zeros where pruned)."""
    eye = np.eye(sp.shape[1], dtype=np.int64)
    return sparse.matmul(sp, eye).T.astype(np.int64)


def test_row_packing_halves_the_dense_passes_and_keeps_the_rate():
    """Dense blocks, one token: half the passes of the idle-lane form, one pass per cycle, so
    rows finish twice as fast (2 rows per 2 passes on 8 slices, 16 MACs per cycle)."""
    geo = geometry("tiny", packed=True)
    sp, x, bias = make_case(62, n=16, tokens=1, k=64)
    packed = schedule.chain_passes(geo, sp, x)
    idle_lane = schedule.chain_passes(geo, sp, x, row_pack=False)
    assert len(idle_lane) == 2 * len(packed) == 32 * 4 * 2
    out, trace = run_chain(geo, packed, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))
    assert trace.accepted_at == list(range(len(packed)))
    assert trace.emitted_at == [c + geo.latency for c in trace.accepted_at]
    out_idle, _ = run_chain(geo, idle_lane, sp, x, bias)
    np.testing.assert_array_equal(out_idle, out)


def test_row_packed_mpu_and_vpu_match_golden():
    geo = geometry("tiny", packed=True)
    sp, x, bias = make_case(63, n="mixed", tokens=1, k=128)
    vpus = 2
    beats = schedule.mpu_beats(geo, vpus, schedule.chain_passes(geo, sp, x))
    trace = drive(Mpu(geo, vpus), [schedule.mpu_payload(geo, beat) for beat in beats])
    flat = [p for beat in beats for p in beat]
    results = [r for bits in trace.outputs for r in schedule.decode_mpu_out(geo, vpus, bits)]
    out = schedule.assemble(geo, flat, results, (1, sp.shape[0]), bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))

    blocks, bias_beats, pass_beats = vpu_vectors(geo, sp, x, bias)
    assert any(p.rows2 for _, _, ps in blocks for p in ps)
    _, outs, _, _ = run_vpu(geo, bias_beats, pass_beats, len(blocks), ready_prob=0.5, seed=4)
    np.testing.assert_array_equal(vpu_outputs(geo, blocks, outs, (1, sp.shape[0])),
                                  expected(sp, x, bias))

"""CSD chain and MPU in amaranth.sim: bit-exact against golden.sparse.matmul, and cycle timing."""
import numpy as np
import pytest

from bitflight.rtl.csd import schedule
from bitflight.rtl.csd.chain import CsdChain
from bitflight.rtl.csd.mpu import Mpu

from csd_driver import drive
from csd_cases import expected, geometry, make_case


def run_chain(geo, sp, x, bias, **drive_kw):
    passes = schedule.chain_passes(geo, sp, x)
    trace = drive(CsdChain(geo), [schedule.chain_payload(geo, p) for p in passes], **drive_kw)
    results = [schedule.decode_chain_out(geo, bits) for bits in trace.outputs]
    out = schedule.assemble(geo, passes, results, (x.shape[0], sp.shape[0]), bias)
    return out, passes, trace


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
@pytest.mark.parametrize("n", [2, 4, 8, 16, "mixed"])
def test_chain_matches_golden_int8(packed, n):
    geo = geometry("tiny", packed=packed)
    sp, x, bias = make_case(10 + (n if n != "mixed" else 0), n=n, tokens=3)
    out, _, _ = run_chain(geo, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_chain_matches_golden_int4_ignores_high_nibble(packed):
    geo = geometry("tiny", packed=packed)
    sp, x, bias = make_case(3, n="mixed", bits=4, tokens=2)
    passes = schedule.chain_passes(geo, sp, x)
    assert any(w & 0xF0 not in (0, 0xF0) for p in passes for w in p.w), "no junk nibble driven"
    out, _, _ = run_chain(geo, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
@pytest.mark.parametrize("edge,n", [("min", 16), ("min", 8), ("neg", 16), ("zero", "mixed")])
def test_chain_edge_cases(packed, edge, n):
    """-128 x -128 chains: in packed mode 8 such products overflow the 18-bit lane without the OAU."""
    geo = geometry("tiny", packed=packed)
    sp, x, bias = make_case(5, n=n, edge=edge, tokens=2, k=128)
    out, _, _ = run_chain(geo, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))


def test_chain_survives_backpressure_and_bubbles():
    geo = geometry("tiny")
    sp, x, bias = make_case(7, n="mixed", tokens=2)
    out, passes, trace = run_chain(geo, sp, x, bias, ready_prob=0.6, valid_prob=0.7, seed=3)
    np.testing.assert_array_equal(out, expected(sp, x, bias))
    assert trace.cycles > len(passes) + geo.latency  # the stalls really happened


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_measured_throughput_matches_timing(packed, n):
    """One pass per cycle, first result after ``latency`` cycles, results/cycle as documented."""
    geo = geometry("tiny", packed=packed)
    sp, x, bias = make_case(1, n=n, tokens=2 * geo.tokens, k=32)
    out, passes, trace = run_chain(geo, sp, x, bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))
    assert trace.accepted_at == list(range(len(passes)))
    assert trace.emitted_at == [c + geo.latency for c in trace.accepted_at]
    results = sum(len(p.rows) * geo.tokens for p in passes) / geo.passes_per_row(n)
    measured = results / (trace.emitted_at[-1] - trace.emitted_at[0] + 1)
    assert measured == geo.results_per_cycle(n)
    # Hand-derived (docs/rtl/csd.md): 16 slices x 1 token or 8 slices x 2 tokens -> 16/N per cycle.
    assert measured == {2: 8, 4: 4, 8: 2, 16: 1}[n]


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_mpu_matches_golden_and_shares_activations(packed):
    geo = geometry("tiny", packed=packed)
    vpus = 2
    sp, x, bias = make_case(9, n="mixed", tokens=2)
    beats = schedule.mpu_beats(geo, vpus, schedule.chain_passes(geo, sp, x))
    assert all(len({id(p.act) for p in beat}) == 1 for beat in beats)
    trace = drive(Mpu(geo, vpus), [schedule.mpu_payload(geo, beat) for beat in beats])
    flat_passes = [p for beat in beats for p in beat]
    flat_results = [r for bits in trace.outputs for r in schedule.decode_mpu_out(geo, vpus, bits)]
    out = schedule.assemble(geo, flat_passes, flat_results, (x.shape[0], sp.shape[0]), bias)
    np.testing.assert_array_equal(out, expected(sp, x, bias))
    assert trace.emitted_at == [c + geo.latency for c in trace.accepted_at]

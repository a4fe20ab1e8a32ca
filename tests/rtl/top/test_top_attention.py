"""The attention dot engine (MM/MV with skip_pad) on the Verilated top against sim.isa, bit for
bit: fp16 and INT8 scores and values, random shapes, pos0/ntok padding, edge values; its faults
in sim.isa's words; its cycle counts against ``rtl.top.attention.timing``."""
import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType
from bitflight.sim.top import runner

from attention_cases import MODES, Placer, empty_buffers, faults_then_recovery, product, reference
from top_cases import CFG, assert_same_state, run_on_buffers as _run

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
END = isa.make("SYS", op=isa.SysOp.END)


@pytest.fixture(scope="module")
def top():
    return runner.build(CFG)


def _random_step(rng, place, count, modes=MODES, edge=0.1):
    """``count`` products of random modes, MM and MV (independent queues: disjoint outputs)."""
    prog = []
    for _ in range(count):
        mode = modes[int(rng.integers(len(modes)))]
        kind = "MM" if rng.random() < 0.5 else "MV"
        rows, tokens = int(rng.integers(1, 5)), int(rng.integers(1, 20))
        d = int(rng.choice([1, 2, 3, 8, 13, 16, 24, 64]))
        prog.append(product(rng, place, kind, mode, rows, tokens, d, edge))
    return prog + [END]


def _launch(rng, tokens_max=20):
    """pos0 + ntok anywhere from 0 (everything padding) past the longest tile."""
    pos0 = int(rng.integers(0, tokens_max))
    return dict(pos0=pos0, ntok=int(rng.integers(0, tokens_max + 2 - pos0)))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_products_match_isa(top, seed):
    """Four steps (different pos0/ntok) of random fp16 and INT8 scores and values."""
    rng = np.random.default_rng(seed)
    buffers = empty_buffers(rng)
    programs, launches = [], []
    place = Placer(rng, buffers)                 # one placement: no step overwrites another's
    for _ in range(4):
        programs.append(_random_step(rng, place, 5))
        launches.append(_launch(rng))
    result = _run(top, buffers, programs, launches)
    machine, errors = reference(buffers, programs, launches)
    assert errors == [None] * len(programs)
    assert result.error is None, result.error
    assert_same_state(result, machine)
    assert result.buffers["OUT"] != bytes(buffers[Buf.OUT])        # the products were written


def _mm(kind="MM", **kw):
    base = dict(engine=isa.Engine.DENSE, a_dt=DType.FP16, b_dt=DType.FP16, o_dt=DType.FP16, m=2,
                n=8, k=16, qk_dim=16, skip_pad=1)
    base.update(kw)
    return isa.make(kind, **base)


I8S = dict(a_dt=DType.INT8, b_dt=DType.INT8)
I8V = dict(b_dt=DType.INT8, b_trans=1, qk_dim=0)
F16V = dict(b_trans=1, qk_dim=0)
# (name, instruction): sim.isa stops with the same message
SAME_AS_ISA = [
    ("a_dtype", _mm(a_dt=DType.INT4)),
    ("a_range", _mm(a_addr=1021)),
    ("i8s_b_range", _mm(**I8S, b_addr=4095)),
    ("i8s_sk_range", _mm("MV", **I8S, t_addr=255)),
    ("i8s_sq_range", _mm(**I8S, s_addr=256)),
    ("i8s_qk_dim", _mm(**I8S, qk_dim=64)),
    ("i8v_b_range", _mm(**I8V, b_addr=4090, k=100)),
    ("i8v_sv_range", _mm("MV", **I8V, t_addr=254, k=40)),
    ("f16v_qk_dim", _mm(**{**F16V, "qk_dim": 16})),
    ("f16s_qk_dim", _mm("MV", qk_dim=8)),
    ("f16s_b_range", _mm(b_addr=4090, n=50)),
    ("o_dt", _mm(o_dt=DType.FP32)),
    ("acc", _mm("MV", acc=1)),
    ("o_range", _mm(o_addr=1023, n=9)),
]


def test_faults_match_isa_and_the_engine_recovers(top):
    rng = np.random.default_rng(7)
    buffers = empty_buffers(rng)
    ok = [_mm(k=8, qk_dim=8, a_addr=3, b_addr=5, o_addr=7), END]
    extra = faults_then_recovery(top, buffers, SAME_AS_ISA, [[_mm(a_dt=DType.INT8), END]], ok,
                                 dict(pos0=1, ntok=3))
    assert extra == ["#0 MM: the attention engine takes A FP16 (INT8 for INT8 scores), got "
                     "INT8 with B FP16"]


def test_cycles_follow_the_timing_model(top):
    """Each product alone in its step: the queue's busy cycles equal ``timing.cycles``."""
    from bitflight.rtl.top.attention import timing
    rng = np.random.default_rng(11)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    programs, launches = [], []
    for mode in MODES * 2:
        kind = "MM" if rng.random() < 0.5 else "MV"
        rows, tokens, d = int(rng.integers(1, 4)), int(rng.integers(1, 20)), \
            int(rng.choice([3, 8, 16, 64]))
        programs.append([product(rng, place, kind, mode, rows, tokens, d, edge=0.0), END])
        launches.append(_launch(rng))
    result = _run(top, buffers, programs, launches)
    assert result.error is None, result.error
    div, sqrt = timing.fp_latencies()
    for prog, launch, step in zip(programs, launches, result.steps):
        instr = prog[0]
        want = timing.cycles(instr, launch["pos0"], launch["ntok"], div, sqrt)
        assert step.active[instr.kind] == want, (instr, launch)


def test_edge_shapes_match_isa(top):
    """Long sums (300 terms: a 9-level tree), no rows, k = 0 scores (c = 1/sqrt(0) = inf, so
    every score is h(0 * inf) = NaN), one head dimension, and a launch where every KV position is
    padding followed by one where none is."""
    rng = np.random.default_rng(5)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    long = [product(rng, place, "MM", "f16_values", 1, 300, 4),
            product(rng, place, "MV", "f16_scores", 2, 3, 300),
            product(rng, place, "MM", "i8_values", 1, 120, 2),
            product(rng, place, "MV", "i8_scores", 1, 2, 300)]
    odd = [product(rng, place, "MM", "f16_scores", 0, 5, 8),
           product(rng, place, "MM", "f16_scores", 2, 5, 0),
           product(rng, place, "MV", "i8_scores", 3, 4, 0),
           product(rng, place, "MV", "f16_values", 3, 6, 1),
           product(rng, place, "MM", "i8_values", 2, 6, 1)]
    programs = [long + [END], odd + [END], odd + [END]]
    launches = [dict(pos0=299, ntok=1), dict(pos0=0, ntok=0), dict(pos0=3, ntok=9)]
    result = _run(top, buffers, programs, launches)
    machine, errors = reference(buffers, programs, launches)
    assert errors == [None] * 3
    assert result.error is None, result.error
    assert_same_state(result, machine)

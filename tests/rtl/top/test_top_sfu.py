"""The SFU engine (every MISC op but COPY) on the Verilated top against sim.isa, bit for bit:
random ops and shapes (rows/cols of 1, odd, non-powers of two), special values, causal SOFTMAX
rows partly and fully masked under several launches, REQUANT's codes and scales, in-place ops,
empty blocks; its faults in sim.isa's words; its cycle counts against ``rtl.top.sfu.timing``."""
import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, MiscOp
from bitflight.sim.top import runner

from attention_cases import Placer, empty_buffers, faults_then_recovery, reference
from misc_cases import OPS, misc, random_misc, shape
from top_cases import CFG, assert_same_state, run_on_buffers as _run

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
END = isa.make("SYS", op=isa.SysOp.END)


@pytest.fixture(scope="module")
def top():
    return runner.build(CFG)


def _check(top, buffers, programs, launches):
    result = _run(top, buffers, programs, launches)
    machine, errors = reference(buffers, programs, launches)
    assert errors == [None] * len(programs)
    assert result.error is None, result.error
    assert_same_state(result, machine)
    return result


@pytest.mark.parametrize("seed", [1, 2])
def test_random_misc_match_isa(top, seed):
    """Four launches (pos0/ntok from all-padding to past every column) of 12 random ops."""
    rng = np.random.default_rng(seed)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    programs, launches = [], []
    for _ in range(4):
        programs.append([random_misc(rng, place)[0] for _ in range(12)] + [END])
        pos0 = int(rng.integers(0, 40))
        launches.append(dict(pos0=pos0, ntok=int(rng.integers(0, 70 - pos0))))
    result = _check(top, buffers, programs, launches)
    assert result.buffers["OUT"] != bytes(buffers[Buf.OUT])
    assert all(s.active["MISC"] > 0 for s in result.steps)


def test_every_op_and_causal_softmax_match_isa(top):
    """Every op on every shape kind once, then SOFTMAX under launches that mask every column,
    some, a prefix per row (decode and prefill periods), none."""
    rng = np.random.default_rng(3)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    every = [misc(rng, place, op, *shape(rng, op), edge=0.3)[0] for op in OPS for _ in range(2)]

    def softmaxes():                    # fresh operands and outputs: every launch's stay
        out = []
        for rows, cols, pos, imm in [(4, 9, 0, 0), (6, 17, 2, 3), (3, 1, 0, 1), (5, 33, 1, 2),
                                     (2, 64, 7, 0)]:
            instr, _ = misc(rng, place, MiscOp.SOFTMAX, rows, cols, edge=0.05)
            out.append(isa.make("MISC", **{**instr.args, "pos": pos, "imm": imm}))
        return out + [END]
    programs = [every + [END]] + [softmaxes() for _ in range(4)]
    launches = [dict(pos0=3, ntok=4), dict(pos0=0, ntok=0), dict(pos0=0, ntok=5),
                dict(pos0=9, ntok=1), dict(pos0=20, ntok=60)]
    _check(top, buffers, programs, launches)


def test_in_place_and_empty_blocks_match_isa(top):
    """O = A (ROPE excepted: sfu_engine.py), no rows, no columns (REQUANT still writes its row
    scales of 1.0)."""
    rng = np.random.default_rng(4)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    prog = []
    for op, rows, cols, imm in [(MiscOp.ADD, 3, 21, 0), (MiscOp.REQUANT, 4, 18, 0),
                                (MiscOp.RMSNORM, 2, 40, 0), (MiscOp.SOFTMAX, 3, 11, 0)]:
        instr, _ = misc(rng, place, op, rows, cols, imm, a_buf=Buf.OUT)
        prog.append(isa.make("MISC", **{**instr.args, "o_addr": instr["a_addr"]}))
    for op, rows, cols in [(MiscOp.REQUANT, 3, 0), (MiscOp.ADD, 0, 5), (MiscOp.SILU, 2, 0),
                           (MiscOp.SWIGLU, 0, 0)]:
        prog.append(misc(rng, place, op, rows, cols)[0])
    _check(top, buffers, [prog + [END]], [dict(pos0=2, ntok=3)])


def _misc(**kw):
    base = dict(op=MiscOp.ADD, dt_in=DType.FP16, dt_out=DType.FP16, a_buf=Buf.ACT, a_addr=0,
                b_buf=Buf.WGT, b_addr=0, o_buf=Buf.OUT, o_addr=0, rows=2, cols=8)
    base.update(kw)
    return isa.make("MISC", **base)


# (name, instruction): sim.isa stops with the same message
SAME_AS_ISA = [
    ("a_dtype", _misc(dt_in=DType.INT4)),
    ("a_range", _misc(a_addr=1023)),
    ("a_range_fp32", _misc(dt_in=DType.FP32, a_addr=1021)),
    ("add_types", _misc(dt_out=DType.INT8)),
    ("softmax_types", _misc(op=MiscOp.SOFTMAX, dt_in=DType.FP32)),
    ("requant_types", _misc(op=MiscOp.REQUANT)),
    ("requant_scale_range", _misc(op=MiscOp.REQUANT, dt_out=DType.INT8, b_buf=Buf.BIAS,
                                  b_addr=255, rows=5)),
    ("requant_o_range", _misc(op=MiscOp.REQUANT, dt_out=DType.INT8, b_buf=Buf.BIAS,
                              o_addr=1023, cols=9)),
    ("add_b_range", _misc(b_buf=Buf.META, b_addr=255)),
    ("swiglu_b_range", _misc(op=MiscOp.SWIGLU, b_buf=Buf.ACT, b_addr=1023)),
    ("rmsnorm_gain_range", _misc(op=MiscOp.RMSNORM, b_buf=Buf.META, b_addr=255, cols=7)),
    ("rope_head_zero", _misc(op=MiscOp.ROPE, imm=0)),
    ("rope_head_divides", _misc(op=MiscOp.ROPE, imm=6)),
    ("rope_table_range", _misc(op=MiscOp.ROPE, imm=4, b_addr=4095, rows=3)),
    ("o_range", _misc(op=MiscOp.SILU, o_addr=1023)),
]


def test_faults_match_isa_and_the_engine_recovers(top):
    rng = np.random.default_rng(7)
    buffers = empty_buffers(rng)
    ok = [_misc(op=MiscOp.SCALE, imm=0x3C00, a_addr=3, o_addr=7), END]
    odd = [_misc(op=MiscOp.ROPE, imm=3, cols=6), END]
    extra = faults_then_recovery(top, buffers, SAME_AS_ISA, [odd], ok, dict(pos0=1, ntok=3))
    assert extra == ["#0 MISC: ROPE head size imm=3 is odd (cos and sin take half a head each)"]


def test_cycles_follow_the_timing_model(top):
    """Each instruction alone in its step: the MISC queue's busy cycles equal ``timing.cycles``
    (every op twice, with line-straddling operands, REQUANT rows of zeros, empty blocks)."""
    from bitflight.rtl.top.sfu import timing
    rng = np.random.default_rng(11)
    buffers = empty_buffers(rng)
    place = Placer(rng, buffers)
    cases = [misc(rng, place, op, *shape(rng, op), edge=0.0) for op in OPS for _ in range(2)]
    cases += [misc(rng, place, MiscOp.REQUANT, 3, 0), misc(rng, place, MiscOp.ADD, 0, 4)]
    zero, zero_rows = misc(rng, place, MiscOp.REQUANT, 3, 12)
    place.bufs[zero["a_buf"]][zero["a_addr"] * 16:zero["a_addr"] * 16 + 24] = bytes(24)
    cases.append((zero, zero_rows | {0}))
    programs = [[instr, END] for instr, _ in cases]
    launches = [dict(pos0=2, ntok=5)] * len(programs)
    result = _check(top, buffers, programs, launches)
    t = timing.SfuTiming.of()
    for (instr, zero_rows), step in zip(cases, result.steps):
        assert step.active["MISC"] == timing.cycles(instr, zero_rows, t), instr

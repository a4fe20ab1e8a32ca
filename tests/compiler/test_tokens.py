"""Token scheduling and the token checker (compiler/passes/tokens.py)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, Engine
from bitflight.compiler.passes import tokens


def _ld(buf_addr, hbm_addr=0, length=64, buf=Buf.ACT, **kw):
    return isa.make("LD", buf=buf, buf_addr=buf_addr, hbm_addr=hbm_addr, length=length, **kw)


def _mm(a, b, o, **kw):
    return isa.make("MM", engine=Engine.DENSE, a_dt=DType.INT8, b_dt=DType.INT8,
                    o_dt=DType.INT32, m=4, n=4, k=16, a_addr=a, b_addr=b, b_lines=4, o_addr=o,
                    **kw)


def _st(buf_addr, hbm_addr, length=64, **kw):
    return isa.make("ST", buf=Buf.OUT, buf_addr=buf_addr, hbm_addr=hbm_addr, length=length, **kw)


def _pipeline():
    # load A and B, multiply, store; then reuse the A buffer for the next tile (WAR on ACT)
    return [_ld(0), _ld(0, 4096, buf=Buf.WGT), _mm(0, 0, 0), _st(0, 8192), _ld(0, 64),
            _mm(0, 0, 4), _st(4, 8256), isa.make("SYS", op=isa.SysOp.END)]


def test_schedule_inserts_the_expected_tokens():
    prog = tokens.schedule(_pipeline())
    m = isa.mask
    # hand-derived: MM waits for both loads (RAW on ACT and WGT); ST waits for MM (RAW on OUT);
    # the second LD into ACT waits for the first MM to have read it (WAR); SYS needs one token,
    # from the last ST, which already follows every other instruction transitively.
    assert [(i.wait, i.release) for i in prog] == [
        (0, 0), (0, m(["MM"])), (m(["LD"]), m(["ST", "LD"])), (m(["MM"]), 0),
        (m(["MM"]), m(["MM"])), (m(["LD"]), m(["ST"])), (m(["MM"]), m(["SYS"])),
        (m(["ST"]), 0)]
    tokens.check(prog)


def test_checker_catches_a_missing_token():
    prog = tokens.schedule(_pipeline())
    broken = list(prog)
    broken[3] = broken[3].replace(wait=0)       # ST no longer waits for the MM result
    broken[2] = broken[2].replace(release=isa.mask(["LD"]))
    with pytest.raises(tokens.TokenError, match=r"RAW hazard: instruction #3 \(ST\) is not "
                       r"ordered after #2 \(MM\) on buffer OUT bytes \[0, 64\)"):
        tokens.check(broken)


def test_checker_catches_deadlock_and_unconsumed_tokens():
    with pytest.raises(tokens.TokenError, match="waits for a token from LD.*deadlock"):
        tokens.check([_mm(0, 0, 0, wait=["LD"]), _ld(0, release=["MM"])])
    with pytest.raises(tokens.TokenError, match=r"#0 \(LD\) releases a token to MM that is never"):
        tokens.check([_ld(0, release=["MM"])])


def test_barrier_orders_everything_around_it():
    prog = tokens.schedule([_ld(0), _mm(0, 0, 0), isa.make("SYS"), _ld(9, buf=Buf.BIAS)])
    assert prog[2].wait == isa.mask(["MM"]) and prog[3].wait == isa.mask(["SYS"])
    broken = prog[:3] + [prog[3].replace(wait=0)]
    broken[2] = broken[2].replace(release=0)
    with pytest.raises(tokens.TokenError, match=r"#3 \(LD\) is not ordered after #2 \(SYS\) "
                       "on every resource"):
        tokens.check(broken)


def test_unscheduled_program_is_rejected():
    with pytest.raises(tokens.TokenError, match="RAW hazard"):
        tokens.check(_pipeline())


def test_rel_dma_is_conservative_over_positions():
    # a rel ST of KV rows at pos0 and a later LD of row 100: conflict for some pos0 < max_pos
    st_ = isa.make("ST", buf=Buf.OUT, hbm_addr=0, length=32, stride1=32, rel=1)
    ld = isa.make("LD", buf=Buf.WGT, hbm_addr=3200, length=32)
    prog = tokens.schedule([st_, ld], max_pos=2048)
    assert prog[1].wait == isa.mask(["ST"])
    assert tokens.schedule([st_, ld], max_pos=100)[1].wait == 0


@st.composite
def _small_program(draw):
    out = []
    for _ in range(draw(st.integers(2, 14))):
        kind = draw(st.sampled_from(["LD", "ST", "MM", "MV", "MISC", "SYS"]))
        a = draw(st.integers(0, 7))
        if kind == "SYS":
            out.append(isa.make("SYS", op=isa.SysOp.SYNC))
        elif kind == "LD":
            out.append(_ld(a, 64 * draw(st.integers(0, 3)), buf=draw(st.sampled_from(list(Buf)))))
        elif kind == "ST":
            out.append(_st(a, 64 * draw(st.integers(0, 3))))
        elif kind in ("MM", "MV"):
            out.append(isa.make(kind, engine=Engine.DENSE, a_dt=DType.INT8, b_dt=DType.INT8,
                                o_dt=DType.INT32, m=2, n=2, k=16, a_addr=a,
                                b_addr=draw(st.integers(0, 7)), b_lines=2,
                                o_addr=draw(st.integers(0, 7)),
                                acc=draw(st.integers(0, 1))))
        else:
            out.append(isa.make("MISC", op=isa.MiscOp.ADD, dt_in=DType.FP16, dt_out=DType.FP16,
                                a_buf=Buf.OUT, a_addr=a, b_buf=Buf.ACT, b_addr=a,
                                o_buf=draw(st.sampled_from([Buf.ACT, Buf.OUT])),
                                o_addr=draw(st.integers(0, 7)), rows=1, cols=8))
    return out


@settings(max_examples=60)
@given(_small_program(), st.data())
def test_scheduled_programs_pass_and_every_token_is_needed(prog, data):
    scheduled = tokens.schedule(prog)
    tokens.check(scheduled)
    waiting = [i for i, ins in enumerate(scheduled) if ins.wait]
    if waiting:
        i = data.draw(st.sampled_from(waiting))
        bit = data.draw(st.sampled_from(isa.queues_of(scheduled[i].wait)))
        broken = list(scheduled)
        broken[i] = broken[i].replace(wait=broken[i].wait & ~(1 << bit))
        with pytest.raises(tokens.TokenError):
            tokens.check(broken)


def test_token_scheduling_pass_object_before_after():
    before = _pipeline()
    assert all(i.wait == 0 and i.release == 0 for i in before)
    after = tokens.TokenScheduling(verify=True).run(before)
    assert [i.kind for i in after] == [i.kind for i in before]
    assert after == tokens.schedule(before) and any(i.wait for i in after)

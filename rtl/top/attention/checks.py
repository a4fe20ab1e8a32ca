"""What the attention engine checks before it computes, in sim.isa's order (``_matmul``,
``_attention_fp16``, ``_attention_int8`` of ``sim/isa/execute.py``), and the words of its own
fault (code ``Fault.ATTENTION``: ``a0`` a :class:`Why`, ``a1``/``a2`` the values)."""
from __future__ import annotations

from enum import IntEnum

from amaranth.hdl import Module, Signal

from ....compiler import isa
from ..copy_engine import ELEMENT_BYTES
from ..faults import Fault
from ..params import TopParams

LANES = isa.LINE_BYTES


class Why(IntEnum):
    """The field checks of an attention product (the first five are sim.isa's own errors)."""
    VALUE_QK_DIM = 0       # a1: qk_dim
    SCORE_QK_DIM = 1       # a1: k, a2: qk_dim
    INT8_QK_DIM = 2        # a1: k, a2: qk_dim
    RESULT_TYPE = 3        # a1: o_dt
    ACCUMULATE = 4
    A_TYPE = 5             # a1: a_dt, a2: b_dt (a combination sim.isa converts; the RTL does not)


def _name(dt: int) -> str:
    return isa.DType(dt).name if dt in isa.DType._value2member_map_ else str(dt)


def why(code: int, a1: int, a2: int) -> str:
    """The message of an ATTENTION fault (after ``#index MM: ``), sim.isa's where it has one."""
    if code == Why.VALUE_QK_DIM:
        return "a value product (b_trans 1) takes no qk_dim"
    if code == Why.SCORE_QK_DIM:
        return f"scores need qk_dim = k = {a1}, got {a2}"
    if code == Why.INT8_QK_DIM:
        return f"INT8 scores need qk_dim = k = {a1}, got {a2}"
    if code == Why.RESULT_TYPE:
        return f"result type {_name(a1)} is not supported"
    if code == Why.ACCUMULATE:
        return "accumulating MMs are not emitted by the compiler"
    if code == Why.A_TYPE:
        return (f"the attention engine takes A FP16 (INT8 for INT8 scores), got {_name(a1)} "
                f"with B {_name(a2)}")
    return f"attention check {code}"


def a_supported(v):
    """A types the engine computes with: fp16 A for fp16 K/V and for INT8 values (probabilities),
    INT8 A (REQUANTized queries) for INT8 scores."""
    int8_scores = (v.b_dt == isa.DType.INT8) & ~v.b_trans
    return ((v.a_dt == isa.DType.FP16) & ~int8_scores) | ((v.a_dt == isa.DType.INT8)
                                                          & int8_scores)


def fault_list(m: Module, v, p: TopParams) -> list[tuple]:
    """[(condition, code, a0, a1, a2)] in sim.isa's order; the first true one is the fault."""
    def wide(name, value):
        s = Signal(40, name=f"chk_{name}")
        m.d.comb += s.eq(value)
        return s

    a_size = Signal(3)
    for dt, nb in ELEMENT_BYTES.items():
        with m.If(v.a_dt == dt):
            m.d.comb += a_size.eq(nb)
    rows_k, n_k = wide("rows_k", v.m * v.k), wide("n_k", v.n * v.k)
    lo = {b: wide(f"{b.name}_lo", addr * LANES) for b, addr in (
        (isa.Buf.ACT, v.a_addr), (isa.Buf.WGT, v.b_addr), (isa.Buf.META, v.t_addr),
        (isa.Buf.BIAS, v.s_addr), (isa.Buf.OUT, v.o_addr))}

    def over(buf, nbytes, name):
        hi = wide(f"{name}_hi", lo[buf] + nbytes)
        return (hi > p.buffer_bytes[buf], Fault.BUFFER_RANGE, lo[buf], hi, buf)

    int8, trans = v.b_dt == isa.DType.INT8, v.b_trans
    i8s, i8v = int8 & ~trans, int8 & trans
    f16s, f16v = ~int8 & ~trans, ~int8 & trans

    def only(when, check):
        return (when & check[0],) + check[1:]

    att = Fault.ATTENTION
    return [
        (a_size == 0, Fault.DTYPE, v.a_dt, 0, 0),
        over(isa.Buf.ACT, rows_k * a_size, "a"),
        only(int8, over(isa.Buf.WGT, n_k, "b8")),
        only(i8s, over(isa.Buf.META, v.n * 4, "sk")),
        only(i8s, over(isa.Buf.BIAS, v.m * 4, "sq")),
        (i8s & (v.qk_dim != v.k), att, Why.INT8_QK_DIM, v.k, v.qk_dim),
        only(i8v, over(isa.Buf.META, v.k * 4, "sv")),
        (f16v & (v.qk_dim != 0), att, Why.VALUE_QK_DIM, v.qk_dim, 0),
        (f16s & (v.qk_dim != v.k), att, Why.SCORE_QK_DIM, v.k, v.qk_dim),
        only(~int8, over(isa.Buf.WGT, n_k * 2, "b16")),
        (v.o_dt != isa.DType.FP16, att, Why.RESULT_TYPE, v.o_dt, 0),
        (v.acc, att, Why.ACCUMULATE, 0, 0),
        over(isa.Buf.OUT, v.m * v.n * 2, "o"),
        (~a_supported(v), att, Why.A_TYPE, v.a_dt, v.b_dt),
    ]

"""What the attention engine checks before it computes, in sim.isa's order (``_matmul``,
``_attention_fp16``, ``_attention_int8`` of ``sim/isa/execute.py``). The engine's own fault is
``Fault.ATTENTION`` (``a0`` a ``faults.AttentionCheck``, ``a1``/``a2`` the values), worded by
``faults.attention_message``."""
from __future__ import annotations

from amaranth.hdl import Module, Signal

from ....compiler import isa
from ..copy_engine import ELEMENT_BYTES
from ..faults import Fault, AttentionCheck
from ..params import TopParams

LANES = isa.LINE_BYTES


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
        (i8s & (v.qk_dim != v.k), att, AttentionCheck.INT8_QK_DIM, v.k, v.qk_dim),
        only(i8v, over(isa.Buf.META, v.k * 4, "sv")),
        (f16v & (v.qk_dim != 0), att, AttentionCheck.VALUE_QK_DIM, v.qk_dim, 0),
        (f16s & (v.qk_dim != v.k), att, AttentionCheck.SCORE_QK_DIM, v.k, v.qk_dim),
        only(~int8, over(isa.Buf.WGT, n_k * 2, "b16")),
        (v.o_dt != isa.DType.FP16, att, AttentionCheck.RESULT_TYPE, v.o_dt, 0),
        (v.acc, att, AttentionCheck.ACCUMULATE, 0, 0),
        over(isa.Buf.OUT, v.m * v.n * 2, "o"),
        (~a_supported(v), att, AttentionCheck.A_TYPE, v.a_dt, v.b_dt),
    ]

"""What the SFU engine checks before it reads or writes anything, in sim.isa's order
(``sim/isa/misc.py``: A readable and in range, the op's types, B, ROPE's head size, O)."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal

from ....compiler import isa
from ....compiler.isa import DType, MiscOp
from ..copy_engine import ELEMENT_BYTES
from ..faults import Fault, SfuCheck
from ..params import TopParams

LANES = isa.LINE_BYTES
BINARY = (MiscOp.ADD, MiscOp.MUL, MiscOp.SWIGLU)


def fault_list(m: Module, v, p: TopParams) -> list[tuple]:
    """[(condition, code, a0, a1, a2)] in sim.isa's order; the first true one is the fault."""
    def wide(name, value):
        s = Signal(40, name=f"sfu_chk_{name}")
        m.d.comb += s.eq(value)
        return s

    def size_of(buf):
        out = Signal(range(max(p.buffer_bytes) + 1), name="sfu_chk_size")
        with m.Switch(buf):
            for b in isa.Buf:
                with m.Case(b):
                    m.d.comb += out.eq(p.buffer_bytes[b])
        return out

    def over(buf, addr, nbytes, name):
        lo = wide(f"{name}_lo", addr * LANES)
        hi = wide(f"{name}_hi", lo + nbytes)
        return (hi > size_of(buf), Fault.BUFFER_RANGE, lo, hi, buf)

    def only(when, check):
        return (when & check[0],) + check[1:]

    def op_is(*ops):
        out = 0
        for o in ops:
            out = out | (v.op == o)
        return out

    size = Signal(3, name="sfu_chk_a_size")
    for dt, nb in ELEMENT_BYTES.items():
        with m.If(v.dt_in == dt):
            m.d.comb += size.eq(nb)
    n = wide("elements", v.rows * v.cols)
    requant, rope = v.op == MiscOp.REQUANT, v.op == MiscOp.ROPE
    types_ok = (v.dt_in == DType.FP16) & (v.dt_out == Mux(requant, DType.INT8, DType.FP16))
    head = Signal(16, name="sfu_chk_head_rem")
    m.d.comb += head.eq(Mux(v.imm == 0, 1, v.cols % Mux(v.imm == 0, 1, v.imm)))
    return [
        (size == 0, Fault.DTYPE, v.dt_in, 0, 0),
        over(v.a_buf, v.a_addr, n * size, "a"),
        (~types_ok, Fault.SFU, SfuCheck.TYPES, v.op, Cat(v.dt_out, v.dt_in)),
        only(requant, over(v.b_buf, v.b_addr, v.rows * 4, "scale")),
        only(op_is(*BINARY), over(v.b_buf, v.b_addr, n * 2, "b")),
        only(v.op == MiscOp.RMSNORM, over(v.b_buf, v.b_addr, v.cols * 2 + 4, "gain")),
        (rope & (head != 0), Fault.SFU, SfuCheck.ROPE_HEAD, v.imm, v.cols),
        only(rope, over(v.b_buf, v.b_addr, v.rows * v.imm * 2, "table")),
        (rope & v.imm[0], Fault.SFU, SfuCheck.ROPE_ODD, v.imm, 0),
        over(v.o_buf, v.o_addr, n * Mux(requant, 1, 2), "o"),
    ]

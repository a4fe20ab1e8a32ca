"""Stream payloads of the SFU (rtl/sfu/sfu.py) and the op decode shared by SFU and engine."""
from __future__ import annotations

from amaranth.hdl import Mux, Value
from amaranth.lib import data

from ...compiler.isa import MiscOp
from .params import DIVIDING, PASSES

# One element of a pass over a row. a: x (gate for SWIGLU); b: the second operand (ADD/MUL b,
# SWIGLU up, RMSNORM gain, ROPE rot_i = -x_{i+d/2} or x_{i-d/2}, already negated); c, d: ROPE
# cos_i and sin_i. vis: SOFTMAX column visible. last: the element ends the pass over its row.
ELEMENT = data.StructLayout({"a": 16, "b": 16, "c": 16, "d": 16, "vis": 1, "last": 1})
# One result of the final pass. data: fp16 result, or REQUANT's int8 code (sign-extended);
# scale: REQUANT's binary32 row scale (on every element of the row); last: the row's last.
RESULT = data.StructLayout({"data": 16, "scale": 32, "last": 1})


def is_op(op: Value, *ops: MiscOp) -> Value:
    out = 0
    for o in ops:
        out = out | (op == o)
    return Value.cast(out)


def final_pass(op: Value, pass_: Value) -> Value:
    """True in the op's last pass over a row (the pass that writes results)."""
    out = pass_ == 0
    for o, n in PASSES.items():
        out = Mux(op == o, pass_ == n - 1, out)
    return out


def dividing(op: Value) -> Value:
    return is_op(op, *DIVIDING)

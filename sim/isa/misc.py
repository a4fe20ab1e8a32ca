"""MISC (SFU) instructions: every op is a row function of ``golden.ops.sfu`` on the raw operand
arrays (docs/numerics.md), with the causal SOFTMAX's visibility from ``golden.ops.causal``.

Operands: A is ``rows x cols`` of ``dt_in``; B and the result as docs/isa.md and
``compiler.footprint.misc_b_bytes`` define them. Element types other than the op's are rejected
with the instruction's index, never converted silently.
"""
from __future__ import annotations

import numpy as np

from ...compiler.footprint import misc_b_bytes, nbytes
from ...compiler import isa
from ...compiler.isa import DType, MiscOp
from ...golden.ops import causal, sfu
from .machine import Machine, SimError

NP = {dt: np.dtype(info.numpy).type for dt, info in isa.DTYPES.items() if info.numpy is not None}

_BINARY = {MiscOp.ADD: sfu.add_rows, MiscOp.MUL: sfu.mul_rows, MiscOp.SWIGLU: sfu.swiglu_rows}


def read(m: Machine, buf: int, line: int, dt: int, shape: tuple[int, ...],
         what: str) -> np.ndarray:
    """A copy of ``shape`` elements of type ``dt`` at ``line`` of buffer ``buf``."""
    if DType(dt) not in NP:
        raise SimError(f"{what}: element type {DType(dt).name} cannot be read as a tensor")
    count = int(np.prod(shape))
    raw = m.buf_slice(buf, line, nbytes(dt, count), what)
    return np.frombuffer(raw, dtype=NP[DType(dt)], count=count).reshape(shape).copy()


def write(m: Machine, buf: int, line: int, a: np.ndarray, what: str) -> None:
    data = np.ascontiguousarray(a).tobytes()
    m.buf_slice(buf, line, len(data), what)[:] = data


def _types(instr, what: str, dt_in: DType, dt_out: DType) -> None:
    if (instr["dt_in"], instr["dt_out"]) != (dt_in, dt_out):
        raise SimError(f"{what}: MISC {MiscOp(instr['op']).name} takes {dt_in.name} -> "
                       f"{dt_out.name}, got {DType(instr['dt_in']).name} -> "
                       f"{DType(instr['dt_out']).name}")


def execute_misc(m: Machine, instr, index: int) -> None:
    what = f"#{index} MISC"
    op, rows, cols = MiscOp(instr["op"]), instr["rows"], instr["cols"]
    a = read(m, instr["a_buf"], instr["a_addr"], instr["dt_in"], (rows, cols), what)

    def b_array(dt, shape):
        return read(m, instr["b_buf"], instr["b_addr"], dt, shape, what)
    if op == MiscOp.COPY:
        if instr["dt_in"] != instr["dt_out"]:
            raise SimError(f"{what}: COPY moves bits and cannot convert "
                           f"{DType(instr['dt_in']).name} to {DType(instr['dt_out']).name}")
        out = sfu.copy_rows(a)
    elif op == MiscOp.REQUANT:
        _types(instr, what, DType.FP16, DType.INT8)
        out, scale = sfu.requant_rows(a)
        write(m, instr["b_buf"], instr["b_addr"], scale, what)
    else:
        _types(instr, what, DType.FP16, DType.FP16)
        if op in _BINARY:
            out = _BINARY[op](a, b_array(DType.FP16, (rows, cols)))
        elif op == MiscOp.SILU:
            out = sfu.silu_rows(a)
        elif op == MiscOp.SCALE:
            out = sfu.scale_rows(a, instr["imm"])
        elif op == MiscOp.RMSNORM:
            raw = bytes(m.buf_slice(instr["b_buf"], instr["b_addr"], misc_b_bytes(instr), what))
            gain = np.frombuffer(raw, np.float16, cols)
            eps = np.frombuffer(raw, np.float32, 1, 2 * cols)[0]
            out = sfu.rmsnorm_rows(a, gain, eps)
        elif op == MiscOp.ROPE:
            d = instr["imm"]
            if d == 0 or cols % d:
                raise SimError(f"{what}: ROPE head size imm={d} does not divide cols={cols}")
            out = sfu.rope_rows(a, b_array(DType.FP16, (rows, d)), d)
        elif op == MiscOp.SOFTMAX:
            vis = causal.visible(rows, cols, m.pos0, m.ntok, instr["pos"], instr["imm"])
            out = sfu.softmax_rows(a, vis)
        else:
            raise SimError(f"{what}: MISC {op.name} is not supported by the simulator")
    write(m, instr["o_buf"], instr["o_addr"], out, what)
    m.counters.sfu_elements[op.name] += rows * cols

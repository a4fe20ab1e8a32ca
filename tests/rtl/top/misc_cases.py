"""Random MISC (SFU) instructions for the top bench: operands placed in random buffer lines with
the special values of docs/numerics.md, B operands per op as ``compiler.footprint.misc_b_bytes``
lays them out, and the REQUANT rows whose scale needs no division (for the timing model)."""
from __future__ import annotations

import numpy as np

from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, MiscOp

from attention_cases import EDGE16, Placer, fp16_block

OPS = tuple(op for op in MiscOp if op != MiscOp.COPY)
COLS = (1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64)
HEADS = (2, 4, 6, 8, 10, 16)
EPS = np.array([1e-5, 1e-6, 0.0, 1e-30, 3.0, np.inf, np.nan], np.float32)


def shape(rng, op: MiscOp) -> tuple[int, int, int]:
    """(rows, cols, imm): ROPE's cols a multiple of its even head size imm."""
    rows = int(rng.choice([1, 2, 3, 4, 5, 7]))
    if op == MiscOp.ROPE:
        d = int(rng.choice(HEADS))
        return rows, d * int(rng.integers(1, 4)), d
    return rows, int(rng.choice(COLS)), 0


def values(rng, rows: int, cols: int, edge: float) -> np.ndarray:
    """fp16 [rows, cols], some rows all +-0 (REQUANT's scale 1), some with large spreads."""
    x = fp16_block(rng, (rows, cols), edge)
    for r in range(rows):
        pick = rng.random()
        if pick < 0.1:
            x[r] = np.where(rng.random(cols) < 0.5, np.float16(0.0), np.float16(-0.0))
        elif pick < 0.2:
            x[r] *= np.float16(rng.choice([100.0, 0.01]))
    return x


def misc(rng, place: Placer, op: MiscOp, rows: int, cols: int, imm: int = 0, edge: float = 0.1,
         a_buf: Buf | None = None) -> tuple[isa.Instr, set[int]]:
    """One instruction of ``op`` with operands placed, and its REQUANT rows of max|x| = 0."""
    a_buf = a_buf if a_buf is not None else Buf(int(rng.choice([Buf.ACT, Buf.WGT])))
    a = values(rng, rows, cols, edge)
    fields = dict(op=op, dt_in=DType.FP16, dt_out=DType.FP16, a_buf=a_buf,
                  a_addr=place.put(a_buf, a.tobytes()), rows=rows, cols=cols, imm=imm,
                  o_buf=Buf.OUT, b_buf=Buf.WGT)
    if op in (MiscOp.ADD, MiscOp.MUL, MiscOp.SWIGLU):
        b_buf = Buf(int(rng.choice([Buf.ACT, Buf.WGT])))
        fields.update(b_buf=b_buf, b_addr=place.put(b_buf, fp16_block(rng, (rows, cols),
                                                                        edge).tobytes()))
    elif op == MiscOp.RMSNORM:
        gain = fp16_block(rng, cols, edge / 2)
        eps = EPS[:2] if rng.random() > edge else EPS
        fields.update(b_buf=Buf.META, b_addr=place.put(
            Buf.META, gain.tobytes() + np.float32(rng.choice(eps)).tobytes()))
    elif op == MiscOp.ROPE:
        ang = rng.uniform(-40, 40, (rows, imm // 2))
        table = np.concatenate([np.cos(ang), np.sin(ang)], axis=1).astype(np.float16)
        pick = rng.random(table.shape) < edge / 2
        table[pick] = rng.choice(EDGE16, size=int(pick.sum()))
        fields.update(b_addr=place.put(Buf.WGT, table.tobytes()))
    elif op == MiscOp.SCALE:
        s = rng.choice(EDGE16) if rng.random() < edge * 3 else np.float16(rng.normal(0, 2))
        fields.update(imm=int(np.array([s], np.float16).view(np.uint16)[0]))
    elif op == MiscOp.SOFTMAX:
        fields.update(pos=int(rng.integers(0, 6)), imm=int(rng.choice([0, 0, 1, 2, 3])))
    elif op == MiscOp.REQUANT:
        fields.update(dt_out=DType.INT8, b_buf=Buf.BIAS, b_addr=place.room(Buf.BIAS, 4 * rows))
    out_bytes = rows * cols * (1 if op == MiscOp.REQUANT else 2)
    fields.update(o_addr=place.room(Buf.OUT, out_bytes))
    zero = {r for r in range(rows) if np.all(a[r] == 0)} if op == MiscOp.REQUANT else set()
    return isa.make("MISC", **fields), zero


def random_misc(rng, place: Placer, edge: float = 0.1) -> tuple[isa.Instr, set[int]]:
    op = MiscOp(int(rng.choice(OPS)))
    return misc(rng, place, op, *shape(rng, op), edge=edge)

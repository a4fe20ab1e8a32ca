"""What each instruction reads and writes: the ISA's memory semantics in one place.

The token scheduler and checker (``passes/tokens.py``), the memory planner and the ISA simulator
all use these definitions, so a byte an instruction touches is computed one way only.

A region is ``(space, lo, hi)`` with byte addresses ``[lo, hi)``; spaces are ``("buf", Buf)`` for
on-chip buffers and ``("hbm", channel)`` for HBM channels. SYS instructions touch every space
(:data:`EVERYTHING`): they are full barriers.

Operand sizes (bytes):

* element types: :data:`DTYPE_BITS`; a block of ``count`` elements takes
  ``ceil(count * bits / 8)`` bytes (sub-byte types are packed densely along rows);
* LD/ST: the HBM runs of :func:`dma_runs`; a ``gather`` LD also reads ``4*count1`` bytes of
  uint32 row ids at ``idx_addr`` in META, and its HBM rows are known only at run time (the hull
  of every row an id can name);
* MM/MV: A = ``m*k`` of ``a_dt`` in ACT (plus ``4*m`` bytes of float32 row scales in BIAS at ``s_addr``
  when A is INT8); B = ``b_lines`` lines in WGT (a packed weight tile carries its own metadata;
  INT8 K/V rows of attention, ``skip_pad`` set, come with float32 row scales at ``t_addr`` in META);
  O = ``m*n`` of ``o_dt`` in OUT (read as well when ``acc``);
* MISC: A = ``rows*cols`` of ``dt_in``; B: see :func:`misc_b_bytes`; O = ``rows*cols`` of
  ``dt_out`` (softmax/norm/rope/add... keep the shape).
"""
from __future__ import annotations

from typing import NamedTuple

from . import isa
from .isa import Buf, DType, MiscOp

DTYPE_BITS: dict[DType, int] = {dt: info.bits for dt, info in isa.DTYPES.items()}
EVERYTHING = ("all", 0)


class Region(NamedTuple):
    space: tuple[str, int]
    lo: int
    hi: int


def nbytes(dtype: int, count: int) -> int:
    return -(-count * DTYPE_BITS[DType(dtype)] // 8)


def misc_b_bytes(instr: isa.Instr) -> int:
    """Bytes of a MISC instruction's B operand (0 when it has none)."""
    op, rows, cols = MiscOp(instr["op"]), instr["rows"], instr["cols"]
    if op in (MiscOp.ADD, MiscOp.MUL, MiscOp.SWIGLU):
        return nbytes(instr["dt_in"], rows * cols)
    if op == MiscOp.RMSNORM:
        return 2 * cols + 4                       # fp16 gain, then epsilon as float32
    if op == MiscOp.ROPE:
        return 2 * rows * instr["imm"]            # fp16 cos and sin, head_dim / 2 each per row
    if op == MiscOp.REQUANT:
        return 4 * rows                           # float32 scale per row (written)
    return 0


def _buf(buf: int, lo_line: int, size: int) -> Region:
    lo = lo_line * isa.LINE_BYTES
    return Region(("buf", int(buf)), lo, lo + size)


DEFAULT_MAX_POS = 4096
MAX_RUNS = 16        # DMAs with more runs are tracked by their hull (hazard analysis only)


def dma_runs(instr: isa.Instr, pos0: int = 0, ids=None) -> list[tuple[int, int]]:
    """HBM byte ranges of an LD/ST in transfer order (count 0 means 1) for launch ``pos0``; a
    ``gather`` LD takes its dimension-1 row indices from ``ids`` (the uint32 list at idx_addr)."""
    c1, c2 = max(instr["count1"], 1), max(instr["count2"], 1)
    base = instr["hbm_addr"] + (pos0 * instr["stride1"] if instr["rel"] else 0)
    length = instr["length"]
    rows = list(range(c1)) if not is_gather(instr) else [int(i) for i in ids[:c1]]
    return [(base + j * instr["stride2"] + i * instr["stride1"],
             base + j * instr["stride2"] + i * instr["stride1"] + length)
            for j in range(c2) for i in rows]


def is_gather(instr: isa.Instr) -> bool:
    return instr.kind == "LD" and bool(instr["gather"])


GATHER_IDS = 1 << 32       # row ids are uint32


def dma_bytes(instr: isa.Instr) -> int:
    return instr["length"] * max(instr["count1"], 1) * max(instr["count2"], 1)


def accesses(instr: isa.Instr, pos0: int | None = None,
             max_pos: int = DEFAULT_MAX_POS) -> tuple[list[Region], list[Region]]:
    """(reads, writes) of one instruction.

    For a ``rel`` DMA the HBM rows depend on the launch argument ``pos0``: with ``pos0`` given
    the exact runs are returned, otherwise one region covering every ``pos0 < max_pos``. A DMA
    of more than :data:`MAX_RUNS` strided runs (K/V rows of one head) is one region, the hull of
    its runs: hazard analysis may then order more than needed, never less.
    """
    kind = instr.kind
    if kind == "SYS":
        everything = [Region(EVERYTHING, 0, 1)]
        return everything, everything
    if kind in ("LD", "ST"):
        ch = ("hbm", instr["channel"])
        if is_gather(instr):
            # rows named by data: the hull of every row a uint32 id (plus pos0) can name
            lo = instr["hbm_addr"]
            hi = lo + (GATHER_IDS + max_pos) * instr["stride1"] + (
                max(instr["count2"], 1) - 1) * instr["stride2"] + instr["length"]
            hbm = [Region(ch, lo, hi), _buf(Buf.META, instr["idx_addr"], 4 * max(
                instr["count1"], 1))]
        elif instr["rel"] and pos0 is None:
            runs = dma_runs(instr)
            hbm = [Region(ch, min(lo for lo, _ in runs),
                          max(hi for _, hi in runs) + (max_pos - 1) * instr["stride1"])]
        elif max(instr["count1"], 1) * max(instr["count2"], 1) > MAX_RUNS:
            # many strided runs: their hull (sound, may over-order); strides are unsigned
            lo = instr["hbm_addr"] + (pos0 * instr["stride1"] if instr["rel"] else 0)
            hi = lo + (max(instr["count2"], 1) - 1) * instr["stride2"] + (
                max(instr["count1"], 1) - 1) * instr["stride1"] + instr["length"]
            hbm = [Region(ch, lo, hi)]
        else:
            hbm = [Region(ch, lo, hi) for lo, hi in dma_runs(instr, pos0 or 0)]
        local = [_buf(instr["buf"], instr["buf_addr"], dma_bytes(instr))]
        if kind == "LD":
            return ([] if instr["zero_fill"] else hbm), local
        return local, hbm
    if kind in ("MM", "MV"):
        m, n, k = instr["m"], instr["n"], instr["k"]
        out = _buf(Buf.OUT, instr["o_addr"], nbytes(instr["o_dt"], m * n))
        reads = [_buf(Buf.ACT, instr["a_addr"], nbytes(instr["a_dt"], m * k)),
                 _buf(Buf.WGT, instr["b_addr"], instr["b_lines"] * isa.LINE_BYTES)]
        if instr["acc"]:
            reads.append(out)
        if instr["a_dt"] == DType.INT8:
            reads.append(_buf(Buf.BIAS, instr["s_addr"], 4 * m))
        if instr["b_dt"] == DType.INT8 and instr["skip_pad"]:       # int8 K/V rows
            reads.append(_buf(Buf.META, instr["t_addr"], 4 * (k if instr["b_trans"] else n)))
        return reads, [out]
    rows, cols = instr["rows"], instr["cols"]
    reads = [_buf(instr["a_buf"], instr["a_addr"], nbytes(instr["dt_in"], rows * cols))]
    b = misc_b_bytes(instr)
    writes = [_buf(instr["o_buf"], instr["o_addr"], nbytes(instr["dt_out"], rows * cols))]
    if b and MiscOp(instr["op"]) == MiscOp.REQUANT:
        writes.append(_buf(instr["b_buf"], instr["b_addr"], b))
    elif b:
        reads.append(_buf(instr["b_buf"], instr["b_addr"], b))
    return reads, writes

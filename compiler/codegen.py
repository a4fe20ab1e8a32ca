"""Code generation: one step (prefill of T tokens, or one decode token over S cached positions)
of the IR lowered to LD/ST/MM/MV/MISC/SYS instructions, in segments.

Where values live:

* **decode** (MV): every activation stays on chip between ops and layers
(docs/references.md#flightllm-4,
  always-on-chip decode); only weights, K/V rows and the RoPE row are loaded, only the new K/V
  rows and the logits are stored. MM/MV results land in OUT, SFU results in ACT (the engines
  read A from ACT), and a COPY moves a value when its consumer needs the other buffer.
* **prefill** (MM): activations are ``[T, cols]`` tensors in HBM scratch; each op streams row
  tiles through the buffers (LD, compute, ST), like the FlightLLM artifact's prefill programs.
  K rows after RoPE and V rows are written straight into the layer's KV cache (``rel`` ST).

This module holds the bookkeeping: value homes, on-chip arenas, loads/stores of row tiles and
segment boundaries. The op lowerings (the rules) live in :mod:`.lower_ops` and
:mod:`.lower_attention`, and the driver that walks the graph through them in :mod:`.lower`. Segments
start at each
layer, at each attention core and after it, and at the head; each is wrapped in SYS barriers and
scheduled on its own, so a segment whose bytes do not depend on the length is shared by every
bucket program (length-adaptive compilation).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import isa
from .footprint import nbytes
from .ir import CompileError, Graph, Op
from .isa import Buf, DType, LINE_BYTES
from .passes.memory import Arena, HbmScratch


@dataclass
class Home:
    """Where a value of ``cols`` elements per row lives."""
    cols: int
    dt: DType = DType.FP16
    buf: Buf | None = None         # on chip: buffer and line
    line: int = 0
    channel: int = 0               # HBM: row-major with a row pitch in bytes
    addr: int = 0
    pitch: int = 0
    rel: bool = False              # HBM rows start at pos0 (KV cache rows of this step)
    owner: str = "fixed"           # "arena" / "scratch": freed after the last use
    scale_channel: int = 0         # int8 KV cache: float32 scales [rows, cols / head_dim]
    scale_addr: int = 0

    @property
    def on_chip(self) -> bool:
        return self.buf is not None

    def row_bytes(self) -> int:
        return nbytes(self.dt, self.cols)


class Step:
    """Lowers one step; ``segments`` is the result: [(label, [Instr])]."""

    def __init__(self, graph: Graph, model, mode: str, tokens: int, keys: int,
                 row0: int = 0, attn_rows: int | None = None) -> None:
        if mode not in ("prefill", "decode"):
            raise CompileError(f"unknown step mode '{mode}'")
        self.graph, self.model, self.mode = graph, model, mode
        self.T, self.S, self.row0 = tokens, keys, row0
        self.attn_rows = attn_rows     # prefill attention row tile (None: from the buffers)
        cfg = model.cfg
        b = cfg.buffers
        self.arenas = {Buf.ACT: Arena(Buf.ACT, b.act_kb * 1024),
                       Buf.WGT: Arena(Buf.WGT, b.weight_kb * 1024),
                       Buf.OUT: Arena(Buf.OUT, b.output_kb * 1024),
                       Buf.META: Arena(Buf.META, b.meta_kb * 1024),
                       Buf.BIAS: Arena(Buf.BIAS, b.bias_kb * 1024)}
        self.scratch = HbmScratch(model.layout.scratch) if mode == "prefill" else None
        self.mm = "MM" if mode == "prefill" else "MV"
        self.homes: dict[str, Home] = {}
        self.segments: list[tuple[str, list[isa.Instr]]] = []
        self.current: list[isa.Instr] | None = None
        self.last_use = self._last_use()
        self.deferred: dict[str, Op] = {}

    # -- bookkeeping --------------------------------------------------------------------------
    def _last_use(self) -> dict[str, int]:
        """Index of the op after which each value is dead. Inputs of ops that are lowered later
        (attention score/softmax, a SiLU fused into the following mul) stay alive until the op
        that realizes them."""
        ops = self.graph.ops
        users: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            for name in op.inputs:
                users.setdefault(name, []).append(i)
        deferred = set()
        for i, op in enumerate(ops):
            u = users.get(op.output, [])
            if op.kind in ("attn_score", "softmax") or (
                    op.kind == "silu" and len(u) == 1 and ops[u[0]].kind == "mul"):
                deferred.add(i)

        def realized(i: int) -> int:
            while i in deferred:
                i = max(users.get(ops[i].output, [i]))
            return i
        last: dict[str, int] = {}
        for i, op in enumerate(ops):
            for name in op.inputs:
                last[name] = max(last.get(name, -1), realized(i))
        last[self.graph.output] = len(ops)
        self.dying: dict[int, list[str]] = {}
        for name, i in last.items():
            self.dying.setdefault(i, []).append(name)
        return last

    def begin(self, label: str) -> None:
        self.end()
        self.current = [isa.make("SYS", op=isa.SysOp.SYNC)]
        self.segments.append((label, self.current))

    def end(self) -> None:
        if self.current is not None:
            self.current.append(isa.make("SYS", op=isa.SysOp.SYNC))
            self.current = None

    def emit(self, kind: str, **fields) -> isa.Instr:
        instr = isa.make(kind, **fields)
        self.current.append(instr)
        return instr

    def alloc(self, buf: Buf, nbytes_: int, what: str,
              align: tuple[int, int] = (1, 0)) -> int:
        return self.arenas[buf].alloc(nbytes_, what, align)

    def free(self, buf: Buf, line: int) -> None:
        self.arenas[buf].release(line)

    def chip_home(self, name: str, buf: Buf, cols: int, dt: DType = DType.FP16,
                  rows: int | None = None) -> Home:
        rows = self.T if rows is None else rows
        home = Home(cols, dt, buf, self.alloc(buf, rows * nbytes(dt, cols), f"value '{name}'"),
                    owner="arena")
        self.homes[name] = home
        return home

    def hbm_home(self, name: str, cols: int, dt: DType = DType.FP16) -> Home:
        pitch = nbytes(dt, cols)
        channel, addr = self.scratch.alloc(self.T * pitch, f"value '{name}'")
        home = Home(cols, dt, channel=channel, addr=addr, pitch=pitch, owner="scratch")
        self.homes[name] = home
        return home

    def release_dead(self, index: int) -> None:
        for name in sorted(self.dying.get(index, ())):
            home = self.homes.pop(name, None)
            if home is None:
                continue
            if home.owner == "arena":
                self.free(home.buf, home.line)
            elif home.owner == "scratch":
                self.scratch.release(home.channel, home.addr)

    # -- moving row tiles ---------------------------------------------------------------------
    def load(self, home: Home, r0: int, rows: int, buf: Buf, c0: int = 0,
             cols: int | None = None) -> tuple[int, bool]:
        """(line, is_temp) of rows [r0, r0+rows) x cols [c0, c0+cols) of ``home`` in ``buf``."""
        cols = home.cols if cols is None else cols
        eb = nbytes(home.dt, 1) if home.dt != DType.INT4 else None
        if home.on_chip:
            if r0 == 0 and rows == 1 or (c0 == 0 and cols == home.cols):
                offset = r0 * home.row_bytes() + c0 * eb
                if offset % LINE_BYTES:
                    raise CompileError(f"on-chip slice at byte {offset} is not line aligned")
                line = home.line + offset // LINE_BYTES
                if home.buf == buf:
                    return line, False
                tmp = self.alloc(buf, rows * cols * eb, "copy")
                self.emit("MISC", op=isa.MiscOp.COPY, dt_in=home.dt, dt_out=home.dt,
                          a_buf=home.buf, a_addr=line, o_buf=buf, o_addr=tmp, rows=rows,
                          cols=cols)
                return tmp, True
            raise CompileError("strided on-chip slices are not supported")
        tmp = self.alloc(buf, rows * cols * eb, "load")
        self.emit("LD", buf=buf, buf_addr=tmp, channel=home.channel,
                  hbm_addr=home.addr + r0 * home.pitch + c0 * eb, length=cols * eb,
                  count1=rows, stride1=home.pitch, rel=int(home.rel))
        return tmp, True

    def source(self, home: Home, r0: int, rows: int) -> tuple[Buf, int, bool]:
        """(buffer, line, is_temp) of whole rows for a reader that accepts any buffer (SFU,
        DMA): on-chip values are read in place, HBM rows are loaded into ACT."""
        if home.on_chip:
            offset = r0 * home.row_bytes()
            return home.buf, home.line + offset // LINE_BYTES, False
        line, _ = self.load(home, r0, rows, Buf.ACT)
        return Buf.ACT, line, True

    def store(self, home: Home, r0: int, rows: int, buf: Buf, line: int, c0: int = 0,
              cols: int | None = None) -> None:
        """Write a contiguous [rows, cols] block from ``buf``/``line`` into ``home``."""
        if home.on_chip:
            return
        cols = home.cols if cols is None else cols
        eb = nbytes(home.dt, 1)
        self.emit("ST", buf=buf, buf_addr=line, channel=home.channel,
                  hbm_addr=home.addr + r0 * home.pitch + c0 * eb, length=cols * eb,
                  count1=rows, stride1=home.pitch, rel=int(home.rel))

    def row_tiles(self, rows_per_tile: int):
        for r0 in range(0, self.T, rows_per_tile):
            yield r0, min(rows_per_tile, self.T - r0)

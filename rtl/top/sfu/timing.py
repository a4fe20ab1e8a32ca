"""Cycle count of the SFU engine for one instruction, as its state machine and the SFU spend
them (``sfu_engine.SfuEngine``, ``rtl.sfu.Sfu``), for ``sim.perf`` calibration.

The count runs from the cycle the engine sees ``start`` to its ``done`` pulse, both included
(the top's ``BUSY[MISC]`` for an instruction alone in its queue), with every buffer read and
write granted at once. It follows the element walk because a line miss costs cycles where it
falls: each of the four operand slots caches one line, an element is offered the cycle after the
previous one was accepted and waits ``1 + misses`` cycles when any of its lines is missing.

* start, ``CHECK`` (2); RMSNORM reads eps: 4 cycles, 2 more when its halves straddle lines;
* per element ``accept = max(operands, SFU ready)``; the SFU takes SILU/SWIGLU/REQUANT's final
  pass one element per ``div_interval`` cycles, and after a non-final pass waits
  ``barrier(op, pass)`` = pipeline drain + tree settle + the row constant's units;
* the last result is written ``latency`` cycles after its element was accepted (REQUANT: its row
  scale one cycle later), ``done`` 4 cycles after that write (the writer's and the SFU's idle
  flags, then ``DONE``). REQUANT with ``cols`` 0 writes one
  scale per row and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

from ....compiler import isa
from ....compiler.isa import MiscOp
from ...sfu.params import DIVIDING, SfuParams, passes

L = isa.LINE_BYTES
B_OPERAND = (MiscOp.ADD, MiscOp.MUL, MiscOp.SWIGLU, MiscOp.RMSNORM, MiscOp.ROPE)


@dataclass(frozen=True)
class SfuTiming:
    """The SFU's numbers the count needs: ``latency`` (element to result), ``div_interval``,
    ``step`` (cycles per tree level: its adder's latency + 1), ``div`` / ``sqrt`` / ``add``
    (latencies of rowconst's units)."""
    latency: int
    div_interval: int
    div: int
    sqrt: int
    add: int

    @property
    def step(self) -> int:
        return self.add + 1

    @classmethod
    def of(cls, params: SfuParams = SfuParams()) -> "SfuTiming":
        from ...sfu.sfu import Sfu
        sfu, div, sqrt, add = Sfu(params), params.div(), params.sqrt(), params.add()
        path = sfu._path
        for unit in (sfu, path, path._exp, *path._divs, div, sqrt, add):
            unit._MustUse__silence = True            # measured, never elaborated
        return cls(sfu.latency, sfu.div_interval, div.latency, sqrt.latency, add.latency)

    def barrier(self, op: MiscOp, pass_: int, zero: bool, cols: int) -> int:
        """Cycles from the accept of a non-final pass's last element to the next accept; a row
        of ``cols`` terms reaches ``cols.bit_length()`` tree levels (settle and fold)."""
        levels = self.step * cols.bit_length()
        start = self.latency + levels                # pipeline empty, then the tree settles
        if op == MiscOp.SOFTMAX and pass_ == 0 or op == MiscOp.REQUANT and zero:
            return start + 2                         # the maximum: nothing to compute
        if op == MiscOp.REQUANT:
            return start + 3 + self.div              # a / 127
        fold = start + levels + 2                    # finish, fold the levels reached
        if op == MiscOp.SOFTMAX:
            return fold + 2 + self.div               # 1 / tree
        return fold + 5 + self.add + 2 * self.div + self.sqrt   # tree / n, + eps, sqrt, 1 / sqrt


def _elements(f: dict):
    """(row, pass, col, slot lines) of every element in the order the walker offers them."""
    op, rows, cols, d = MiscOp(f["op"]), f["rows"], f["cols"], f["imm"]
    a, b, half = f["a_addr"] * L, f["b_addr"] * L, d // 2
    for i in range(rows):
        for p in range(passes(op)):
            for j in range(cols):
                e = i * cols + j
                lines = [("a", (a + 2 * e) // L)]
                if op in B_OPERAND:
                    k = j % d if op == MiscOp.ROPE else 0
                    low = k < half
                    cos = i * d + (k if low else k - half)
                    at = {MiscOp.ROPE: cos, MiscOp.RMSNORM: j}.get(op, e)
                    lines.append(("b", (b + 2 * at) // L))
                    if op == MiscOp.ROPE:
                        lines += [("a", (a + 2 * (e + half if low else e - half)) // L),
                                  ("b", (b + 2 * (cos + half)) // L)]
                yield i, p, j, lines


def cycles(f: dict, zero_rows=(), t: SfuTiming | None = None) -> int:
    """Cycles of instruction fields ``f`` (an ``isa.Instr``'s values) that passes its checks;
    ``zero_rows``: the REQUANT rows whose ``max|x|`` is 0 (no division for their scale)."""
    t = t or SfuTiming.of()
    op, rows, cols = MiscOp(f["op"]), f["rows"], f["cols"]
    tags: list = [None] * 4
    now = 2                                           # IDLE, CHECK
    if op == MiscOp.RMSNORM:                          # EPS: low half (a miss), then high half
        eps = f["b_addr"] * L + 2 * cols
        tags[1] = ("b", (eps + 2) // L)               # slot 1 keeps the high half's line
        now += 4 if (eps + 2) // L == eps // L else 6
    if rows == 0 or cols == 0:
        return now + (rows if op == MiscOp.REQUANT else 0) + 3
    final = passes(op) - 1
    sfu_ready, last_div, accept = now, None, now
    for i, p, j, lines in _elements(f):
        misses = 0
        for s, line in enumerate(lines):
            if tags[s] != line:
                tags[s], misses = line, misses + 1
        ready = now + 1 + misses if misses else now
        if op in DIVIDING and p == final and last_div is not None:
            sfu_ready = max(sfu_ready, last_div + t.div_interval)
        accept = max(ready, sfu_ready)
        if op in DIVIDING and p == final:
            last_div = accept
        if j == cols - 1 and p != final:
            sfu_ready = accept + t.barrier(op, p, i in zero_rows, cols)
        now = accept + 1
    write = accept + t.latency + (1 if op == MiscOp.REQUANT else 0)
    return write + 4 + 1

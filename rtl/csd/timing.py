"""Cycle count of one MM/MV instruction on the CSD engine (``rtl/top/csd_engine.py``), from
the instruction and its tile, when the engine has the buffer ports to itself (each read is
granted at once: 2 cycles per line). ``sim.perf`` can be calibrated with it; the top bench
checks it against the RTL's BUSY counter.

It walks the feeder's loops (``rtl/top/csd_feeder.py``) arithmetically, with the N:M pair window's loads
replayed exactly (which beats are already held depends on the stream offsets).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import ChainGeometry
from .lanes import effective_n
from .tile_fields import HEADER_LINES

READ = 2                 # request granted, data the next cycle
ENGINE_OVERHEAD = 4      # engine: start, range check, last RUN cycle, done


@dataclass(frozen=True)
class TileShape:
    rows: int                      # rows of A (m)
    n: int
    k: int
    block_n: np.ndarray | None     # [n/16, k/16] for an N:M tile, None for dense


def _dense_passes(p: int, vpus: int) -> int:
    """PASS + CODES + DENSE per pass, a PUSH per beat, the closing PASS visits."""
    pushes = -(-p // vpus)
    return 4 * p + pushes + 1 + (1 if p % vpus else 0)


class _Window:
    """The feeder's two-beat pair window: which beats are held, and the cycles spent."""

    def __init__(self) -> None:
        self.slots = [None, None]

    def pass_cycles(self, pair: int, count: int) -> int:
        b0, b1 = pair >> 4, (pair + count - 1) >> 4
        cycles = 0
        while True:
            cycles += 1                                     # a PASS visit
            if self.slots[0] == b0:
                if b1 == b0 or self.slots[1] == b1:
                    return cycles + 1                       # BUILD
                self.slots[1] = b1
                cycles += 2 * READ
            elif self.slots[1] == b0:
                self.slots = [b0, None]
            else:
                self.slots[0] = b0
                cycles += 2 * READ


def feeder_cycles(geo: ChainGeometry, vpus: int, shape: TileShape, latency: int) -> int:
    sparse = shape.block_n is not None
    kbs = shape.k // geo.m
    cycles = HEADER_LINES * (READ + 1) + 1                  # header lines, CHECK
    window = _Window()
    for _ in range(shape.rows):
        cycles += 1 + READ                                  # TOKEN, SX
        pair = 0
        for br in range(-(-shape.n // geo.m)):
            rows_blk = min(geo.m, shape.n - geo.m * br)
            cycles += 1                                     # BLOCK
            for kb in range(kbs):
                cycles += 1 + READ + 1                      # KBLOCK, ACT, DESC
                if not sparse:
                    cycles += _dense_passes(rows_blk, vpus)
                    continue
                cycles += READ + 1                          # DESC_READ, DESC_N
                n = int(shape.block_n[br, kb])
                if n == 0:
                    continue
                neff = effective_n(geo, n)
                per, passes = geo.slices // neff, neff
                for p in range(passes):
                    cycles += window.pass_cycles(pair, per * n)
                    pair += per * n
                    if p % vpus == vpus - 1:
                        cycles += 1                         # PUSH
                cycles += 1 + (2 if passes % vpus else 0)   # closing PASS (+ PASS, PUSH)
            cycles += 1 + latency + 2                       # KBLOCK, DRAIN
            cycles += rows_blk * (1 + READ + 1) + 1         # ROW, SCALE, EMIT; ROW
        cycles += 1                                         # BLOCK -> next token
    return cycles + 1                                       # TOKEN -> IDLE


def instruction_cycles(geo: ChainGeometry, vpus: int, shape: TileShape) -> int:
    """Cycles the MM/MV queue's unit holds the instruction (start to ``done``)."""
    return ENGINE_OVERHEAD + feeder_cycles(geo, vpus, shape, geo.latency)

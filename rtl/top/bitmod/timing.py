"""Cycle bounds of one BITMOD MM/MV on the engine (rtl/top/bitmod/engine.py), for ``sim.perf``'s
calibration: ``lower <= cycles <= upper`` for an instruction running alone (no other unit on
the WGT/ACT read ports or the OUT write port), ``cycles`` being the unit's busy count (BUSY[q]).

Where the cycles go (one reader alone: a field in its two-line window costs nothing, sliding the
window one line 3 cycles, a refill 5; readers of one buffer share its read port):

* fixed: CHECK, the 12 header words (one refill and two slides: 23 cycles), TILE_CHECK;
* per array tile (``ceil(n / rows) x ceil(m / cols)``): one TILE cycle, then per group one
  GROUP cycle (the prefetched metadata becomes current) and the group's ``G / lanes`` beats, one
  per ``slots`` cycles at best; the metadata of the next group (``2 x rows`` fields in fp16
  mode, ``3 x rows`` in int mode, each a hit or a refill of the metadata reader) is fetched
  meanwhile, so a group takes at least as long as that fetch; the first beat of a tile refills
  every code and activation reader, later beats at most slide them;
* the results: the array's latency to the last column and one or two line writes per column;
  in the worst case a tile waits for the previous tile's results.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...bitmod.params import EngineParams

HEADER = 23                  # 12 words: refill (5) + 12 hits + 2 slides (3 each)
FIXED = 1 + HEADER + 1       # CHECK, HEADER, TILE_CHECK
REFILL, SLIDE = 5, 3


@dataclass(frozen=True)
class Product:
    """What the cycle count depends on: the instruction's m, n, k, the tile's group size and the
    term slots per weight of its datatypes (2 for 3/4-bit codes, 3 int6, 4 int8)."""
    m: int
    n: int
    k: int
    group: int
    slots: int

    def tiles(self, ep: EngineParams) -> int:
        return -(-self.n // ep.rows) * -(-self.m // ep.cols)

    def groups(self) -> int:
        return -(-self.k // self.group)


def lower(ep: EngineParams, p: Product) -> int:
    """Every field a hit, every beat at the array's rate, no wait for results."""
    beats = p.group // ep.lanes
    per_group = max(2 * ep.rows + 1, (beats - 1) * p.slots + 2)
    return FIXED + p.tiles(ep) * (1 + p.groups() * per_group) + ep.latency


def upper(ep: EngineParams, p: Product) -> int:
    """Every metadata field a refill and not overlapped with the stream (which also covers the
    metadata reader's grants taken from the code readers' port), every first beat of a tile a
    refill of all readers of one port one after another, every other beat a slide of all of
    them, every tile waiting for the previous tile's results, two line writes per column."""
    beats = p.group // ep.lanes
    readers = max(ep.rows, ep.cols)
    refill_beat = 1 + 2 * readers + 2                 # base, 2 grants per reader, data, hit
    slide_beat = max(p.slots, 1 + readers + 2)
    per_group = 1 + 3 * ep.rows * (REFILL + 1) + beats * slide_beat
    per_tile = 1 + p.groups() * per_group + refill_beat + ep.latency + 2 * ep.cols
    return FIXED + p.tiles(ep) * per_tile + ep.latency + 2 * ep.cols + 4

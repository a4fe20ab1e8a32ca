"""Cycle bounds of one BITMOD MM/MV on the engine (rtl/top/bitmod/engine.py), for ``sim.perf``'s
calibration: ``lower <= cycles <= upper`` for an instruction running alone (no other unit on
the WGT/ACT read ports or the OUT write port), ``cycles`` being the unit's busy count (BUSY[q]).

Where the cycles go (one reader alone, rtl/top/bitmod/reader.py: a held field costs nothing, the
next line is read ahead, a refill takes up to 5 cycles; readers of one buffer share its read
port):

* fixed: CHECK, the 16 header words as four line fields (12 cycles) or, where the metadata
  reader's field and a WGT row hold 512 bits, one field (3), TILE_CHECK;
* per array tile (``ceil(n / rows) x ceil(m / cols)``): one TILE and one GROUP cycle (the
  prefetched metadata becomes current; a later group starts on the beat after the last one when
  its metadata is there), then the group's ``G / lanes`` beats, one per ``slots`` cycles at
  best; the next group's metadata (:func:`meta_fetch_cycles`) is fetched meanwhile, so a group
  takes at least as long as that fetch; the first beat of a tile refills the beat reader
  (rtl/top/bitmod/beat.py) and every activation reader; a later beat moves the beat reader by
  the tile's stride ``B x lanes x b`` bits (golden.quant's version 2 layout, full blocks): a
  slide when it stays inside the window, else a refill of the rows it touches;
* the results: the array's latency to the last column and up to ``writer.line_writes(2 x rows)``
  line writes per column (one or two for at most 8 rows);
  in the worst case a tile waits for the previous tile's results.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...bitmod.params import CODE_BITS, EngineParams
from .writer import line_writes

# the header as 4 lines of 4 words, one a cycle at best: line 0 a refill (move, grant, data) and
# its hit; line 1 read ahead (grant, data) and its hit; line 2 a refill again (the field outran
# the read-ahead) and line 3 read ahead; as one 512-bit field: a refill (move, grant, data)
HEADER = {4: 12, 1: 3}
HEADER_BITS = 512            # the 16 header words
FIELD_BITS = 128             # a line: the widest field of a reader of one line (reader.py)
META_ROWS = 8                # rows per metadata field and WGT line (rtl/top/bitmod/meta.py)
# widest metadata field, in lines: 256 rows, so a 1024-row group's ids, scales and row scales
# are 12 fields (24 cycles, behind the group's 64), and the reader's shifter is a quarter as
# wide as a whole 128-line WGT row's would be
META_LINES = 32
REFILL = 5                   # move the window, grant and data of each line


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


def beat_slices(ep: EngineParams, lines: int = 1) -> dict[int, tuple[int, int]]:
    """Per code width ``b`` the beat reader takes (rtl/top/bitmod/beat.py): (beat bits
    ``rows x lanes x b``, the grain its starting points inside a WGT row of ``lines`` lines are
    multiples of, in a tile of full blocks whose codes start a row)."""
    from .tile import code_bits
    row = lines * FIELD_BITS
    return {b: (ep.rows * ep.lanes * b, math.gcd(ep.rows * ep.lanes * b, row))
            for b in code_bits()}


def window_rows(ep: EngineParams, lines: int = 1) -> int:
    """WGT rows the beat reader holds: the most a beat touches from its last starting point,
    at least 2."""
    row = lines * FIELD_BITS
    return max(2, *(-(-(row - grain + beat) // row)
                    for beat, grain in beat_slices(ep, lines).values()))


def meta_rows(lines: int = 1) -> int:
    """Rows per metadata field: 16-bit entries filling a WGT row of ``lines`` lines, at most
    :data:`META_LINES` lines."""
    return META_ROWS * min(lines, META_LINES)


def meta_width(ep: EngineParams, lines: int = 1) -> int:
    """Bits of the metadata reader's field: a piece of 16-bit entries, at least a line."""
    return max(FIELD_BITS, 16 * min(ep.rows, meta_rows(lines)))


def header_bits(ep: EngineParams, lines: int = 1) -> int:
    """Bits of the header read at a time: all 16 words when the metadata reader's field and a
    WGT row hold them, else a line."""
    fits = meta_width(ep, lines) >= HEADER_BITS and lines * FIELD_BITS >= HEADER_BITS
    return HEADER_BITS if fits else FIELD_BITS


def meta_grain(ep: EngineParams, lines: int = 1) -> int:
    """log2 of the bits every metadata reader address is a multiple of, with the tile's
    sections at WGT rows: entries step by ``gcd(rows, meta_rows)`` (a tile's offset in its
    block, a piece) of at least 2 bits (ids), header fields by :func:`header_bits`."""
    step = 2 * math.gcd(ep.rows, meta_rows(lines))
    return min((step & -step).bit_length() - 1, header_bits(ep, lines).bit_length() - 1)


def meta_single_row(ep: EngineParams, lines: int = 1) -> bool:
    """Whether no metadata field crosses a WGT row (sections at rows): a piece of
    ``min(rows, meta_rows)`` entries starts at a multiple of that many entries when one of the
    two divides the other, and its 16-bit entries then fill a power-of-two share of a row; the
    header's fields are aligned to their size. The metadata reader then holds one row."""
    small, large = sorted((ep.rows, meta_rows(lines)))
    bits = 16 * small
    return large % small == 0 and (lines * FIELD_BITS) % bits == 0 and bits & (bits - 1) == 0


def fixed(ep: EngineParams, lines: int = 1) -> int:
    """CHECK, the header's fields, TILE_CHECK; a metadata reader of one row refills for the
    header's second row where the two-row one had read it ahead (3 cycles)."""
    fields = HEADER_BITS // header_bits(ep, lines)
    again = 3 if meta_single_row(ep, lines) and fields * FIELD_BITS > lines * FIELD_BITS else 0
    return 1 + HEADER[fields] + again + 1


def meta_pieces(ep: EngineParams, lines: int = 1) -> int:
    """Fields per metadata item (ids, scales, row scales) of a group."""
    return -(-ep.rows // meta_rows(lines))


def meta_fetch_cycles(ep: EngineParams, lines: int = 1) -> int:
    """Fewest cycles of a group's metadata fetch: fp16 mode's 2 items of :func:`meta_pieces`
    fields, each a registered address and a hit (rtl/top/bitmod/meta.py), and the hand-over."""
    return 2 * 2 * meta_pieces(ep, lines) + 1


def lower(ep: EngineParams, p: Product, lines: int = 1) -> int:
    """Every field a hit, every beat at the array's rate, no wait for results; ``lines`` the
    top's WGT row."""
    beats = p.group // ep.lanes
    per_group = max(meta_fetch_cycles(ep, lines), (beats - 1) * p.slots + 2)
    return fixed(ep, lines) + p.tiles(ep) * (1 + p.groups() * per_group) + ep.latency


def upper(ep: EngineParams, p: Product, lines: int = 1) -> int:
    """Every metadata field a refill and not overlapped with the stream (which also covers the
    metadata reader's grants taken from the beat reader's port), every beat a refill of the
    beat reader's window and every activation reader one after another, every tile waiting for
    the previous tile's results, the most line writes per column."""
    beats = p.group // ep.lanes
    readers = window_rows(ep, lines) + ep.cols
    refill_beat = 1 + 2 * readers + 2                 # base, 2 grants per reader, data, hit
    per_group = 1 + 3 * meta_pieces(ep, lines) * (REFILL + 2) + beats * max(p.slots, refill_beat)
    writes = line_writes(2 * ep.rows) * ep.cols
    per_tile = 1 + p.groups() * per_group + refill_beat + ep.latency + writes
    return fixed(ep, lines) + p.tiles(ep) * per_tile + ep.latency + writes + 4

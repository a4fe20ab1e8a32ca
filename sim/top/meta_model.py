"""When the BITMOD engine's metadata prefetch (rtl/top/bitmod/meta.py) has a group's metadata,
for sim.perf's RTL-calibration mode (:func:`.perf_timing.bitmod_cycles`).

The prefetch reads, per group, the fields of its items (datatype ids, group scales and, for an
int-scale tile's first group of an array tile, the row scales), each in pieces of
``timing.meta_rows`` rows, from a field reader over WGT rows (rtl/top/bitmod/reader.py) that
holds one row, or two (``single`` False). A field costs a cycle to register its address, then:

* a hit in the cycle it is asked for, when the rows it touches are held;
* in a two-row reader, a field starting in the row after the window's slides the window once
  that row is held, and hits then (the row after it is fetched in the same cycle, held 2
  cycles later, and a field crossing into it waits for it);
* any other field refills: a cycle to move the window, the row's grant and data, held the cycle
  after (3 cycles from the ask); a two-row reader then fetches the next row, asked for or not
  (held 2 cycles after the first), and a field crossing into it waits for it; a refill asked
  for while that read is in flight (the cycle before it is held) moves a cycle later.

The registers are handed over (``valid``) the cycle after the last hit. The engine reads the
tile's header through the same reader first, a field the cycle after the last one's hit.
``port`` records the cycles this reader reads a row, for the beat reader's model to share
WGT's port with (:class:`.beat_model.BeatStream`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...compiler.passes.packing import array_layout
from ...golden.quant import packing
from ...golden.quant.schemes import SCHEMES

MOVE, ROW, NEXT_ROW = 1, 2, 2     # cycles: a refill's move; grant and data; the next row


@dataclass(frozen=True)
class MetaLayout:
    """Bit addresses of a tile's metadata sections (golden.quant.packing version 2 with full
    blocks, sections at WGT rows) and the fetch's geometry: the array's ``rows``, ``piece``
    rows per field, ``block`` rows per stored block."""
    ids: int
    scales: int
    row_scales: int
    id_bits: int
    scale_bits: int
    int_scales: bool
    rows: int
    piece: int
    block: int
    ng: int

    @classmethod
    def of(cls, cfg, scheme: tuple[str, int], scale_mode: str, n: int, k: int, group: int,
           rows: int, piece: int) -> "MetaLayout":
        name, bits = scheme
        id_bits = SCHEMES[name].id_bits(bits)
        block, _, full, align = array_layout(cfg)
        ng = -(-k // group)
        offsets, _ = packing.layout(n, ng, group, bits, id_bits, scale_mode,
                                    name == "int_asym", blocked=True,
                                    stored=packing.stored_rows(n, block, full), align=align)
        return cls(8 * offsets[1], 8 * offsets[2], 8 * offsets[3], id_bits,
                   packing.scale_bits(scale_mode), scale_mode == "int", rows, piece, block,
                   ng)

    def fields(self, g: int, r0: int, first_row: int, offset: int) -> list[tuple[int, int]]:
        """(bit address, span) of each field the prefetch reads for group ``g`` of the array
        tile whose first row is ``r0``, ``offset`` rows into the block starting at
        ``first_row`` (meta.py's entry arithmetic, in its order)."""
        pieces = -(-self.rows // self.piece)
        width = min(self.rows, self.piece)
        entry = first_row * self.ng + g * self.block + offset
        out = []
        for p in range(pieces):
            e = entry + p * self.piece
            out.append((self.ids + (2 * e if self.id_bits >= 2 else e), width * self.id_bits))
        for p in range(pieces):
            e = entry + p * self.piece
            out.append((self.scales + e * self.scale_bits, width * self.scale_bits))
        if self.int_scales and g == 0:
            out += [(self.row_scales + 16 * (r0 + p * self.piece), 16 * width)
                    for p in range(pieces)]
        return out

    def tiles(self, n: int) -> list[tuple[int, int, int]]:
        """(r0, first row of its block, offset in the block) of each row tile, in order."""
        out, first, offset = [], 0, 0
        for r0 in range(0, n, self.rows):
            out.append((r0, first, offset))
            if offset + self.rows == self.block:
                first, offset = first + self.block, 0
            else:
                offset += self.rows
        return out


class MetaStream:
    """The metadata reader's window over rows of ``row`` bits, across the fetches of one
    instruction (it starts empty: the reader is flushed)."""

    def __init__(self, row: int, single: bool) -> None:
        self.row, self.single = row, single
        self.base: int | None = None
        self.lower = 0            # cycle the window's first row is held
        self.upper = 0            # cycle the row after it is held (two-row reader)
        self.port: list[int] = []  # cycles this reader was granted WGT's port (rows read)

    def _refill(self, line: int, ask: int) -> None:
        if not self.single and ask == self.upper - 1:
            ask += 1                # the window moves once the upper row's read has arrived
        self.base = line
        self.lower = ask + MOVE + ROW
        self.upper = self.lower + NEXT_ROW
        self.port.append(ask + MOVE)
        if not self.single:
            self.port.append(self.lower)            # the next row, read ahead

    def _hit(self, addr: int, span: int, ask: int) -> int:
        """Hit cycle of a field asked for from ``ask`` on."""
        line, last = addr // self.row, (addr + max(span, 1) - 1) // self.row
        if self.single:
            if line != self.base:
                self._refill(line, ask)
            return max(ask, self.lower)
        if line == self.base:
            return max(ask, self.lower, self.upper if last > line else 0)
        if self.base is not None and line == self.base + 1:
            slide = max(ask, self.upper)         # the next row is fetched at once
            self.base, self.lower, self.upper = line, slide, slide + NEXT_ROW
            self.port.append(slide)
            return self.upper if last > line else slide
        self._refill(line, ask)
        return max(self.lower, self.upper if last > line else 0)

    def hits(self, fields: list[tuple[int, int]], ask: int, gap: int) -> list[int]:
        """Hit cycle of each of ``fields`` [(bit address, span)], the first asked for from
        ``ask`` on, each later one ``gap`` cycles after the hit before."""
        out = []
        for addr, span in fields:
            out.append(self._hit(addr, span, ask))
            ask = out[-1] + 1 + gap
        return out

    def read(self, fields: list[tuple[int, int]], ask: int) -> int:
        """Hit cycle of the last of ``fields``, asked for back to back from ``ask`` on (the
        engine's HEADER state asks for the next field the cycle after a hit)."""
        return self.hits(fields, ask, 0)[-1]

    def fetch(self, fields: list[tuple[int, int]], take: int) -> int:
        """The cycle the prefetch's registers are valid, for a fetch started by the ``take`` in
        cycle ``take``: each field's address registered the cycle after the take or the last
        hit, the field asked for the cycle after that."""
        return self.hits(fields, take + 2, 1)[-1] + 1

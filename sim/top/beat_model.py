"""When the BITMOD engine's beat reader (rtl/top/bitmod/beat.py) holds a beat's codes, for
sim.perf's RTL-calibration mode (:func:`.perf_timing.bitmod_cycles`).

The reader keeps a window of ``W`` WGT rows from ``base``. It fetches one row at a time (grant,
then data: held 2 cycles after the fetch starts), the lowest missing row of the window first,
as soon as the row is inside the window. A beat that starts inside the window slides it (in
the cycle the previous beat is taken, when the engine names the next one, or when the fetch of
its first row lands); any other beat refills it (a cycle to move, then the rows from the
beat's first on). A beat hits when every row it touches is held, at the earliest the cycle
after a slide. A fetch that asks for WGT's port in a cycle another reader asks for it
(``blocked``) waits a cycle if this reader was granted the port more recently (the buffers'
round robin); otherwise the other reader waits, which ``lost`` counts.
"""
from __future__ import annotations


class BeatStream:
    """The beats of one array tile: beat ``j`` starts ``j x stride`` bits into the tile's codes
    (a WGT row start) and touches ``beat`` bits of rows of ``row`` bits."""

    def __init__(self, stride: int, beat: int, row: int, window: int) -> None:
        self.stride, self.beat, self.row, self.window = stride, beat, row, window
        self.base = -1
        self.next_row = 0                   # lowest row not yet fetched
        self.free = 0                       # the cycle the fetch engine is free again
        self.held: dict[int, int] = {}      # row -> cycle it is held
        self.allowed: dict[int, int] = {}   # row -> cycle it entered the window
        self.blocked: set[int] = set()      # cycles another reader asks for WGT's port
        self.granted = -1                   # the last cycle this reader was granted the port
        self.lost = 0                       # ties the other reader lost to this one

    def rows(self, j: int) -> tuple[int, int]:
        start = j * self.stride
        return start // self.row, (start + self.beat - 1) // self.row

    def _enter(self, base: int, cycle: int) -> None:
        self.base = base
        for r in range(base, base + self.window):
            self.allowed.setdefault(r, cycle)

    def _fetch(self) -> None:
        r = self.next_row
        start = max(self.free, self.allowed[r])
        while start in self.blocked:        # round robin: the last winner gives way
            if any(self.granted < c < start for c in self.blocked):   # granted it since
                self.lost += 1              # the other reader asks again the cycle after
                break
            start += 1
        self.granted = start
        self.held[r] = self.free = start + 2
        self.next_row += 1

    def _held(self, last: int) -> int:
        """Cycle row ``last`` (inside the window) is held, fetching in order up to it."""
        while self.next_row <= last:
            self._fetch()
        return self.held[last]

    def _catch_up(self, cycle: int) -> None:
        """The read-ahead's fetches that start before ``cycle``."""
        while (self.next_row < self.base + self.window
               and max(self.free, self.allowed[self.next_row]) < cycle):
            self._fetch()

    def first(self, j: int, cycle: int) -> int:
        """Hit cycle of beat ``j`` asked for at ``cycle`` with nothing held: the window moves
        (once no fetch is in flight), then its rows are fetched."""
        first, last = self.rows(j)
        move = max(cycle, self.free)
        self.held, self.allowed = {}, {}
        self.next_row, self.free = first, move + 1
        self._enter(first, move + 1)
        return self._held(last)

    def after(self, j: int, hit: int) -> int:
        """Earliest hit cycle of beat ``j`` when beat ``j - 1`` was taken at ``hit`` (the reader
        decides on beat ``j`` in that cycle: the engine names it as the next one)."""
        first, last = self.rows(j)
        ask = hit
        self._catch_up(ask)
        if first == self.base:
            return max(ask, self._held(last))
        if first - self.base < self.window and first < self.next_row:
            slide = max(ask, self.held[first], self.free)     # no fetch in flight
            self._enter(first, slide)
            return max(slide + 1, self._held(last))
        return self.first(j, ask)

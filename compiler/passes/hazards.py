"""Data hazards between instructions and happens-before through queues and tokens.

:class:`AccessMap` remembers, per byte range of every memory space, the last writer and the latest
reader of each queue since that write. Asking it about a new access returns the instructions the
new one must be ordered after (RAW, WAR, WAW). Keeping only the latest reader per queue is exact
for ordering: queues are in order, so following the latest one follows all earlier ones.

:class:`Clocks` gives happens-before as vector clocks over the six queues: ``vc[i][p]`` is the
number of queue-``p`` instructions that have completed whenever instruction ``i`` starts.
"""
from __future__ import annotations

from bisect import bisect_right

from .. import isa
from ..footprint import EVERYTHING, Region

NQ = len(isa.Queue)


class _Segment:
    __slots__ = ("lo", "hi", "writer", "readers")

    def __init__(self, lo: int, hi: int, writer: int, readers: dict[int, int]) -> None:
        self.lo, self.hi, self.writer, self.readers = lo, hi, writer, readers


class _Space:
    """Disjoint segments sorted by start."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.segs: list[_Segment] = []

    def _split(self, at: int) -> None:
        i = bisect_right(self.starts, at) - 1
        if i >= 0:
            seg = self.segs[i]
            if seg.lo < at < seg.hi:
                new = _Segment(at, seg.hi, seg.writer, dict(seg.readers))
                seg.hi = at
                self.starts.insert(i + 1, at)
                self.segs.insert(i + 1, new)

    def covering(self, lo: int, hi: int) -> tuple[int, int]:
        """Split at lo/hi and fill gaps; return the index range of segments covering [lo, hi)."""
        self._split(lo)
        self._split(hi)
        i = bisect_right(self.starts, lo) - 1
        if i < 0 or self.segs[i].hi <= lo:
            i += 1
        pos, j = lo, i
        while pos < hi:
            if j < len(self.segs) and self.segs[j].lo == pos:
                pos = self.segs[j].hi
            else:
                end = self.segs[j].lo if j < len(self.segs) and self.segs[j].lo < hi else hi
                self.starts.insert(j, pos)
                self.segs.insert(j, _Segment(pos, end, -1, {}))
                pos = end
            j += 1
        return i, j


class AccessMap:
    """Tracks accesses in program order and reports what each new access depends on."""

    def __init__(self) -> None:
        self.spaces: dict[tuple[str, int], _Space] = {}
        self.barrier = -1                 # last SYS instruction (touches everything)
        self.last = [-1] * NQ             # last instruction of each queue

    def _space(self, key) -> _Space:
        space = self.spaces.get(key)
        if space is None:
            space = self.spaces[key] = _Space()
        return space

    def record(self, index: int, queue: int, reads: list[Region],
               writes: list[Region]) -> list[tuple[int, str, Region]]:
        """Record instruction ``index``; return (earlier instruction, hazard kind, region)."""
        deps: list[tuple[int, str, Region]] = []
        if any(r.space == EVERYTHING for r in reads + writes):
            deps = [(j, "barrier", reads[0]) for j in self.last if j >= 0]
            self.barrier = self.last[queue] = index
            return deps
        if self.barrier >= 0:
            deps.append((self.barrier, "barrier", Region(EVERYTHING, 0, 1)))
        self.last[queue] = index
        for region in reads:
            space = self._space(region.space)
            if region.hi <= region.lo:
                continue
            i, j = space.covering(region.lo, region.hi)
            for seg in space.segs[i:j]:
                if seg.writer >= 0:
                    deps.append((seg.writer, "RAW", region))
                seg.readers[queue] = index
        for region in writes:
            space = self._space(region.space)
            if region.hi <= region.lo:
                continue
            i, j = space.covering(region.lo, region.hi)
            for seg in space.segs[i:j]:
                if seg.writer >= 0 and seg.writer != index:
                    deps.append((seg.writer, "WAW", region))
                deps.extend((r, "WAR", region) for r in seg.readers.values() if r != index)
            merged = _Segment(region.lo, region.hi, index, {})
            del space.starts[i:j], space.segs[i:j]
            space.starts.insert(i, region.lo)
            space.segs.insert(i, merged)
        return deps


class Clocks:
    """Vector clocks: happens-before from in-order queues plus token edges."""

    def __init__(self) -> None:
        self.queue: list[int] = []          # queue of each instruction
        self.seq: list[int] = []            # index within its queue
        self.vc: list[tuple[int, ...]] = []
        self.count = [0] * NQ
        self.last = [-1] * NQ               # last instruction index of each queue

    def merge(self, clock: list[int], src: int) -> None:
        """Fold "``src`` has completed" into ``clock``."""
        other = self.vc[src]
        for p in range(NQ):
            if other[p] > clock[p]:
                clock[p] = other[p]
        if self.seq[src] + 1 > clock[self.queue[src]]:
            clock[self.queue[src]] = self.seq[src] + 1

    def base(self, queue: int) -> list[int]:
        """The clock the next instruction of ``queue`` starts with before any token."""
        clock = [0] * NQ
        if self.last[queue] >= 0:
            self.merge(clock, self.last[queue])
        return clock

    def covers(self, clock: list[int], a: int) -> bool:
        return clock[self.queue[a]] > self.seq[a]

    def add(self, queue: int, producers: list[int]) -> int:
        """Append an instruction of ``queue`` that waited on ``producers``; returns its index."""
        clock = self.base(queue)
        for src in producers:
            self.merge(clock, src)
        index = len(self.queue)
        self.queue.append(queue)
        self.seq.append(self.count[queue])
        self.vc.append(tuple(clock))
        self.count[queue] += 1
        self.last[queue] = index
        return index

    def before(self, a: int, b: int) -> bool:
        """Does instruction ``a`` complete before ``b`` starts (``a`` earlier in the program)?"""
        if self.queue[a] == self.queue[b]:
            return a < b
        return self.vc[b][self.queue[a]] > self.seq[a]

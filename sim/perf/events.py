"""Event-level timing of a compiled program: six in-order queues synchronized by tokens.

Semantics (compiler/isa.py): each queue (LD, ST, MM, MV, MISC, SYS) executes its instructions in
program order, one at a time. An instruction with ``wait`` bit ``p`` starts only after consuming
the next token of the FIFO ``p -> q``; after completing it pushes one token into ``q -> r`` for
every ``release`` bit ``r``. Token FIFOs pair the k-th release with the k-th wait, so the schedule
is unique; it is computed as a discrete-event simulation that always starts the ready queue head
with the earliest possible start (ties: lower queue index). LD and ST also hold their HBM
channel, so two DMAs on one channel serialize while DMAs on different channels overlap: a DMA
queue issues in order but holds only the channel, not the queue (one DMA in flight per channel),
and retires in order, so its tokens leave in program order. An MM and an MV on the same compute
engine (``Cost.engine``: the MM and MV queues share it) serialize the same way: the later one
starts when the engine is free, ``Cost.lead`` cycles (its issue) before the earlier one's end.
Instruction costs are :mod:`.instr_cost`; an MM/MV frees its engine after its busy cycles and
writes its last result ``fill_drain`` cycles later (the calibrated RTL pipeline latency), so
back-to-back tiles hide the fill/drain and a consumer pays it once.

Results: total cycles and seconds, busy cycles and utilization per queue, HBM bytes per channel,
per-layer spans between ``SYS LAYER`` markers, and energy when the config gives the energies.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

from ...base.errors import ProgramError
from ...compiler import isa
from ...compiler.isa import Queue, SysOp
from ...base.config import Config
from .instr_cost import cost


@dataclass(frozen=True)
class Event:
    index: int          # position in the program
    kind: str
    start: float
    end: float
    hbm_bytes: int = 0
    channel: int | None = None
    energy_pj: float | None = None
    drain: float = 0.0  # end - drain: the unit is free; end: the results are written


@dataclass
class ProgramTiming:
    clock_hz: float
    events: list[Event] = field(default_factory=list)
    layers: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def cycles(self) -> float:
        return max((e.end for e in self.events), default=0.0)

    @property
    def seconds(self) -> float:
        return self.cycles / self.clock_hz

    def busy(self) -> dict[str, float]:
        """Cycles each queue has work in flight (DMAs on different channels overlap, so the LD
        and ST queues count the union of their intervals)."""
        spans: dict[str, list[tuple[float, float]]] = {q.name: [] for q in Queue}
        for e in self.events:
            spans[isa.TYPES[e.kind].queue.name].append((e.start, e.end - e.drain))
        out = {}
        for q, iv in spans.items():
            total, reach = 0.0, float("-inf")
            for a, b in sorted(iv):
                total += max(0.0, b - max(a, reach))
                reach = max(reach, b)
            out[q] = total
        return out

    def utilization(self) -> dict[str, float]:
        total = self.cycles or 1.0
        return {q: b / total for q, b in self.busy().items()}

    def bytes_per_channel(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for e in self.events:
            if e.channel is not None:
                out[e.channel] = out.get(e.channel, 0) + e.hbm_bytes
        return dict(sorted(out.items()))

    @property
    def energy_pj(self) -> float | None:
        """Total energy, or None when the config lacks an energy some instruction needs."""
        parts = [e.energy_pj for e in self.events]
        return None if any(p is None for p in parts) else sum(parts)

    def to_dict(self) -> dict:
        return {"cycles": self.cycles, "seconds": self.seconds, "instructions": len(self.events),
                "energy_pj": self.energy_pj,
                "busy": self.busy(), "utilization": self.utilization(),
                "hbm_bytes_per_channel": self.bytes_per_channel(),
                "layers": {k: {"start": a, "end": b, "cycles": b - a}
                           for k, (a, b) in self.layers.items()}}


def _describe(instrs: Sequence[isa.Instr], i: int) -> str:
    return f"instruction {i} ({instrs[i].kind})"


def simulate(instrs: Sequence[isa.Instr], cfg: Config, timing=None) -> ProgramTiming:
    """Time ``instrs`` (one program, in program order) on ``cfg``; ``timing``: an object whose
    ``cost(instr)`` replaces :func:`.instr_cost.cost` (``sim.top.perf_timing.RtlTiming``: the
    RTL top as built rather than the config's intended hardware)."""
    queues: dict[Queue, deque[int]] = {q: deque() for q in Queue}
    for i, instr in enumerate(instrs):
        queues[instr.queue].append(i)
    fifo: dict[tuple[Queue, Queue], deque[float]] = {}
    free = {q: 0.0 for q in Queue}        # earliest start of the queue's next instruction
    retired = {q: 0.0 for q in Queue}     # completion of the queue's latest instruction
    channel_free: dict[int, float] = {}
    engine_free: dict[str, float] = {}
    costs = {}
    result = ProgramTiming(cfg.clock_hz)
    while any(queues.values()):
        best = None
        for q in Queue:
            if not queues[q]:
                continue
            i = queues[q][0]
            instr = instrs[i]
            waits = isa.queues_of(instr.wait)
            if any(not fifo.get((p, q)) for p in waits):
                continue
            if i not in costs:
                costs[i] = cost(instr, cfg) if timing is None else timing.cost(instr)
            start = max([free[q]] + [fifo[(p, q)][0] for p in waits])
            if costs[i].channel is not None:
                start = max(start, channel_free.get(costs[i].channel, 0.0))
            if costs[i].engine is not None:
                start = max(start, engine_free.get(costs[i].engine, 0.0))
            if best is None or start < best[0]:
                best = (start, q, i)
        if best is None:
            raise ProgramError("program deadlocks: " + "; ".join(
                f"{_describe(instrs, qs[0])} waits for a token from "
                + ", ".join(p.name for p in isa.queues_of(instrs[qs[0]].wait)
                            if not fifo.get((p, q)))
                for q, qs in queues.items() if qs))
        start, q, i = best
        instr, c = instrs[i], costs.pop(i)
        for p in isa.queues_of(instr.wait):
            fifo[(p, q)].popleft()
        end = start + c.cycles
        # A DMA holds its channel, not its queue: the next DMA of the queue may start at once
        # on another channel. An engine takes its next tile after c.cycles, but the results
        # land c.drain later (pipeline fill/drain). Completions retire in program order, so
        # tokens leave in order.
        free[q] = start if c.channel is not None else end
        retired[q] = max(retired[q], end + c.drain)
        if c.channel is not None:
            channel_free[c.channel] = end
        if c.engine is not None:
            engine_free[c.engine] = end - c.lead
        for r in isa.queues_of(instr.release):
            fifo.setdefault((q, r), deque()).append(retired[q])
        queues[q].popleft()
        result.events.append(Event(i, instr.kind, start, end + c.drain, c.hbm_bytes, c.channel,
                                   c.energy_pj, c.drain))
    result.events.sort(key=lambda e: e.index)
    result.layers = _layers(instrs, result.events)
    return result


def _layers(instrs: Sequence[isa.Instr], events: list[Event]) -> dict[int, tuple[float, float]]:
    """Span of each layer: from its ``SYS LAYER`` marker to the next marker (or the end)."""
    marks = [(e.end, instrs[e.index]["imm"]) for e in events
             if e.kind == "SYS" and instrs[e.index]["op"] == SysOp.LAYER]
    end = max((e.end for e in events), default=0.0)
    out = {}
    for n, (t, layer) in enumerate(marks):
        out[layer] = (t, marks[n + 1][0] if n + 1 < len(marks) else end)
    return out


def simulate_segments(segments: Sequence[tuple[str, Sequence[isa.Instr]]],
                      cfg: Config) -> tuple[ProgramTiming, list[tuple[str, float, float]]]:
    """Time a program given as the compiler's labelled segments; also return each segment's
    (label, first start, last end) -- the per-layer breakdown of a compiled step."""
    instrs = [i for _, seg in segments for i in seg]
    timing = simulate(instrs, cfg)
    spans, at = [], 0
    for label, seg in segments:
        evs = timing.events[at:at + len(seg)]
        if evs:
            spans.append((label, min(e.start for e in evs), max(e.end for e in evs)))
        at += len(seg)
    return timing, spans

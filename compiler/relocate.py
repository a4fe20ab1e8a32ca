"""Layer replay: decoder layers 2..L-1 reuse layer 1's lowering with their HBM addresses moved.

Every decoder layer lowers to the same instructions except for the HBM addresses of its own
regions (weight tiles, norm gains, KV cache), provided the on-chip arenas and the prefill scratch
are in the same state when the layer starts and its regions have layer 1's sizes (split N:M
tiles pack to data-dependent sizes, and LD lengths and MM ``b_lines`` are copied, not moved). Layer 1 (not 0: the embedding leaves layer 0 with a
different state) is lowered normally and recorded with that state; a later layer whose starting
state is identical is produced by relocating the recorded segments, and its tokens are copied from
layer 1's schedule (same instructions, same hazards: the relocated regions are disjoint exactly
where the originals were). This is what keeps a 32-layer compile close to the cost of two layers.
"""
from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass

from . import isa


@dataclass
class LayerTemplate:
    layer: int
    start: int                       # op index of the layer's first op
    end: int                         # op index after its last op
    state: tuple
    first_segment: int = 0
    segments: list | None = None     # [(label, instrs)] of the layer
    after: tuple | None = None       # (arenas, scratch) after the layer
    out_homes: dict | None = None    # relative op index -> home of outputs alive after the layer


def state_of(step) -> tuple:
    """Everything that decides the next layer's instructions: arena and scratch occupancy and
    where the live values are."""
    arenas = tuple((int(b), tuple(a.free), tuple(sorted(a.live.items())))
                   for b, a in step.arenas.items())
    scratch = None if step.scratch is None else step.scratch.state()
    homes = tuple(sorted((int(h.buf) if h.buf is not None else -1, h.line, h.channel, h.addr,
                          h.pitch, h.cols, int(h.dt), h.owner, h.rel)
                         for h in step.homes.values()))
    return arenas, scratch, homes, tuple(sorted(step.deferred))


def snapshot(step) -> tuple:
    return copy.deepcopy(step.arenas), copy.deepcopy(step.scratch)


class RegionMap:
    """Moves HBM addresses of layer ``src``'s regions to the same offsets in layer ``dst``."""

    def __init__(self, regions: dict, src: int) -> None:
        self.regions = regions
        # regions of every layer by (layer, role): a role names the same data in every layer
        self.twins = {(r.layer, r.role): r for r in regions.values() if r.layer is not None}
        self.by_channel: dict[int, list[tuple[int, int, str]]] = {}
        for r in regions.values():
            if r.layer == src:
                self.by_channel.setdefault(r.channel, []).append((r.addr, r.addr + r.size, r.role))
        for spans in self.by_channel.values():
            spans.sort()
        self.starts = {ch: [s[0] for s in spans] for ch, spans in self.by_channel.items()}
        self.src = src
        self._moved: dict[tuple[str, int], tuple[int, int]] = {}


    def same_sizes(self, dst: int) -> bool:
        """Whether every region of layer ``src`` has a layer ``dst`` twin of the same size. A
        replay copies LD lengths and MM ``b_lines`` verbatim, and the packed size of an N:M
        weight tile depends on its data (the per-block N of a density-pruned matrix is allocated
        over the whole matrix, so its row tiles differ from layer to layer)."""
        for spans in self.by_channel.values():
            for start, end, role in spans:
                twin = self.twins.get((dst, role))
                if twin is None or twin.size != end - start:
                    return False
        return True

    def move(self, channel: int, addr: int, dst: int) -> tuple[int, int]:
        spans = self.by_channel.get(channel)
        if spans:
            i = bisect_right(self.starts[channel], addr) - 1
            if i >= 0 and spans[i][0] <= addr < spans[i][1]:
                key = (spans[i][2], dst)
                moved = self._moved.get(key)
                if moved is None:
                    target = self.twins[(dst, spans[i][2])]
                    moved = self._moved[key] = (target.channel, target.addr - spans[i][0])
                return moved[0], addr + moved[1]
        return channel, addr

    def relocate(self, instr: isa.Instr, dst: int) -> isa.Instr:
        if instr.kind not in ("LD", "ST"):
            return instr
        channel, addr = self.move(instr["channel"], instr["hbm_addr"], dst)
        if (channel, addr) == (instr["channel"], instr["hbm_addr"]):
            return instr
        args = dict(instr.args)
        args["channel"], args["hbm_addr"] = channel, addr
        return isa.Instr(instr.kind, args, instr.wait, instr.release)

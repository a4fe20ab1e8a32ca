"""Wait/release tokens: the scheduling pass that inserts them and the checker that proves them.

Both walk the program in order and ask :class:`~.hazards.AccessMap` which earlier instructions a
new one conflicts with (:func:`footprint.accesses`). For a conflict with an instruction ``P`` of
another queue ``p`` that is not already ordered before the new instruction ``C`` (queue ``q``),

* :func:`schedule` sets ``release`` bit ``q`` on ``P`` and ``wait`` bit ``p`` on ``C``. Tokens are
  only added when consumed at once, so every FIFO ``p -> q`` is empty between uses and the k-th
  wait pairs with the k-th release by construction; only the latest conflicting instruction of each
  queue gets a token (in-order queues cover the earlier ones).
* :func:`check` trusts nothing from the compiler: it pairs waits with releases FIFO by FIFO exactly
  as hardware will, rejects a wait whose token would come from a later instruction (a deadlock for
  an in-order dispatcher) or never comes, rejects tokens left unconsumed, and then proves every
  hazard ordered by the resulting happens-before relation.
"""
from __future__ import annotations

from collections import deque
from typing import Sequence

from .. import isa
from ...base.errors import CompileError
from ..footprint import DEFAULT_MAX_POS, accesses
from .hazards import AccessMap, Clocks


class TokenError(CompileError):
    """A program whose tokens do not order a consumer after its producer (or do not pair)."""


def _describe(instrs: Sequence[isa.Instr], i: int) -> str:
    return f"#{i} ({instrs[i].kind})"


def schedule(instrs: Sequence[isa.Instr], max_pos: int = DEFAULT_MAX_POS) -> list[isa.Instr]:
    """Return the program with wait/release masks that order every hazard (input masks are
    discarded)."""
    amap, clocks = AccessMap(), Clocks()
    waits = [0] * len(instrs)
    releases = [0] * len(instrs)
    for i, instr in enumerate(instrs):
        q = int(instr.queue)
        reads, writes = accesses(instr, None, max_pos)
        deps = amap.record(i, q, reads, writes)
        latest: dict[int, int] = {}
        for j, _, _ in deps:
            p = clocks.queue[j]
            if p != q and j > latest.get(p, -1):
                latest[p] = j
        clock = clocks.base(q)
        producers = []
        for j in sorted(latest.values(), reverse=True):
            if clocks.covers(clock, j):
                continue
            p = clocks.queue[j]
            releases[j] |= 1 << q
            waits[i] |= 1 << p
            producers.append(j)
            clocks.merge(clock, j)
        clocks.add(q, producers)
    return [instr.replace(wait=waits[i], release=releases[i]) for i, instr in enumerate(instrs)]


def check(instrs: Sequence[isa.Instr], max_pos: int = DEFAULT_MAX_POS) -> None:
    """Raise :class:`TokenError` unless every hazard is ordered by the program's own tokens."""
    fifo: dict[tuple[int, int], deque[int]] = {}
    amap, clocks = AccessMap(), Clocks()
    for i, instr in enumerate(instrs):
        q = int(instr.queue)
        producers = []
        for p in isa.queues_of(instr.wait):
            pending = fifo.get((int(p), q))
            if not pending:
                raise TokenError(f"instruction {_describe(instrs, i)} waits for a token from "
                                 f"{p.name} that no earlier {p.name} instruction released "
                                 "(deadlock)")
            producers.append(pending.popleft())
        clocks.add(q, producers)
        for r in isa.queues_of(instr.release):
            fifo.setdefault((q, int(r)), deque()).append(i)
        reads, writes = accesses(instr, None, max_pos)
        for j, kind, region in amap.record(i, q, reads, writes):
            if not clocks.before(j, i):
                space = f"{region.space[0]} {region.space[1]}"
                if region.space[0] == "all":
                    space = "every resource (SYS barrier)"
                elif region.space[0] == "buf":
                    space = f"buffer {isa.Buf(region.space[1]).name}"
                elif region.space[0] == "hbm":
                    space = f"HBM channel {region.space[1]}"
                where = "" if region.space[0] == "all" else f" bytes [{region.lo}, {region.hi})"
                raise TokenError(f"{kind} hazard: instruction {_describe(instrs, i)} is not "
                                 f"ordered after {_describe(instrs, j)} on {space}{where} "
                                 "(missing wait/release token)")
    for (p, q), pending in fifo.items():
        if pending:
            raise TokenError(f"instruction {_describe(instrs, pending[0])} releases a token to "
                             f"{isa.Queue(q).name} that is never consumed")


class TokenScheduling:
    """The pass object: ``TokenScheduling(max_pos).run(segment) -> segment with tokens``; with
    ``verify=True`` every result is also proven by :func:`check`."""

    def __init__(self, max_pos: int = DEFAULT_MAX_POS, verify: bool = False) -> None:
        self.max_pos, self.verify = max_pos, verify

    def run(self, instrs: Sequence[isa.Instr]) -> list[isa.Instr]:
        out = schedule(instrs, self.max_pos)
        if self.verify:
            check(out, self.max_pos)
        return out

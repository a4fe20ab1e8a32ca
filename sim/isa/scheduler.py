"""Running a program on a :class:`.machine.Machine`: the six instruction queues in round-robin,
each head issuing when the tokens it waits for are there (compiler/isa.py's wait/release
semantics), executing through :func:`.execute.execute`. The driver sits above both the state
(machine) and the rules (execute), so neither imports the other back."""
from __future__ import annotations

from collections import Counter, deque

from ...compiler import isa
from .execute import execute
from .machine import Machine, SimError


def run(machine: Machine, program: list[isa.Instr], pos0: int, ntok: int) -> None:
    """Execute one program with launch arguments ``pos0`` and ``ntok``."""
    machine.pos0, machine.ntok = pos0, ntok
    queues = {q: deque() for q in isa.Queue}
    for index, instr in enumerate(program):
        queues[instr.queue].append((index, instr))
    tokens: Counter = Counter()
    order = list(isa.Queue)
    turn = 0
    remaining = len(program)
    while remaining:
        for step in range(len(order)):
            q = order[(turn + step) % len(order)]
            if not queues[q]:
                continue
            index, instr = queues[q][0]
            if all(tokens[(p, q)] > 0 for p in isa.queues_of(instr.wait)):
                break
        else:
            stuck = ", ".join(f"#{queues[q][0][0]} ({q.name})" for q in order if queues[q])
            raise SimError(f"deadlock: every queue waits for a token ({stuck})")
        for p in isa.queues_of(instr.wait):
            tokens[(p, q)] -= 1
        queues[q].popleft()
        execute(machine, instr, index)
        machine.counters.instructions[instr.kind] += 1
        for r in isa.queues_of(instr.release):
            tokens[(q, r)] += 1
        remaining -= 1
        turn += 1
    leftover = {k: v for k, v in tokens.items() if v}
    if leftover:
        (p, q), _ = next(iter(leftover.items()))
        raise SimError(f"program ended with unconsumed tokens {p.name} -> {q.name}")

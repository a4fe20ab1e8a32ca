"""Greedy decoding on the ISA simulator, step for step against the golden accelerator model.

This is the project's end-to-end check (``bitflight run --check`` and the ISA tests): the
simulator's logits after the prefill and after every decode step must equal, bit for bit, the
logits the golden accelerator-numerics model computes for the same tokens. The next token is the
simulator's argmax, so both models always see the same sequence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch


@dataclass
class Lockstep:
    tokens: list[int] = field(default_factory=list)
    first_diff: tuple[int, float] | None = None    # (step, max |diff|); step 0 is the prefill

    @property
    def identical(self) -> bool:
        return self.first_diff is None


def greedy_lockstep(session, golden, ids: torch.Tensor, tokens: int,
                    on_step: Callable[[int], None] | None = None) -> Lockstep:
    """Prefill ``ids`` [T] on ``session`` (sim.isa.runtime.Session), then greedily pick ``tokens``
    tokens (``tokens - 1`` decode steps). With ``golden`` (a golden.llm model, or None to skip the
    comparison) every step's logits are compared; the first difference is recorded.
    ``on_step(i)`` is called before step ``i`` (0: the prefill), e.g. to report progress."""
    result = Lockstep()
    on_step = on_step or (lambda i: None)

    def compare(step: int, got: torch.Tensor, want: torch.Tensor | None) -> None:
        if want is None or result.first_diff is not None:
            return
        ref = want[0].float()
        if not torch.equal(got, ref):
            result.first_diff = (step, float((got - ref).abs().max()))

    on_step(0)
    logits = session.prefill(ids)
    want, cache = golden.prefill(ids[None]) if golden is not None else (None, None)
    compare(0, logits, want)
    for step in range(1, tokens):
        on_step(step)
        token = int(logits[-1].argmax())
        result.tokens.append(token)
        logits = session.decode(token)
        want = golden.decode(torch.tensor([token]), cache) if golden is not None else None
        compare(step, logits, want)
    if tokens:
        result.tokens.append(int(logits[-1].argmax()))
    return result

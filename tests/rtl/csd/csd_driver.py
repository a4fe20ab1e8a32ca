"""Drive a stream-in/stream-out component in amaranth.sim and record what left it, with cycles."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bitflight.sim.hdl import amaranth_run


@dataclass
class Trace:
    outputs: list[int] = field(default_factory=list)      # raw output payload bits per beat
    accepted_at: list[int] = field(default_factory=list)  # cycle of each input handshake
    emitted_at: list[int] = field(default_factory=list)   # cycle of each output handshake
    cycles: int = 0


def drive(dut, payloads: list[int], *, ready_prob: float = 1.0, valid_prob: float = 1.0,
          seed: int = 0, max_cycles: int = 100_000) -> Trace:
    """Offer ``payloads`` in order on ``dut.i``, take beats from ``dut.o`` until all came out."""
    rng = np.random.default_rng(seed)
    trace = Trace()

    async def bench(ctx):
        sent = 0
        while len(trace.outputs) < len(payloads):
            offer = sent < len(payloads) and rng.random() < valid_prob
            ctx.set(dut.i.valid, int(offer))
            if offer:
                ctx.set(dut.i.payload.as_value(), payloads[sent])
            ctx.set(dut.o.ready, int(rng.random() < ready_prob))
            _, _, iv, ir, ov, orr, op = await ctx.tick().sample(
                dut.i.valid, dut.i.ready, dut.o.valid, dut.o.ready, dut.o.payload.as_value())
            if iv and ir:
                trace.accepted_at.append(trace.cycles)
                sent += 1
            if ov and orr:
                trace.outputs.append(op)
                trace.emitted_at.append(trace.cycles)
            trace.cycles += 1
            if trace.cycles > max_cycles:
                raise AssertionError(f"no progress after {max_cycles} cycles "
                                     f"({len(trace.outputs)}/{len(payloads)} beats out)")

    amaranth_run.run(dut, bench)
    return trace

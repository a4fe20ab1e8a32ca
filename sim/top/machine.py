"""sim.isa's Machine interface on the Verilated top, so the host runtime runs on RTL.

Each ``run`` is one cocotb process on the shared build; the HBM channels and the five buffers
are carried from one process to the next (the buffers are written back into the memories
before the reset is released), so a sequence of steps sees exactly the state one long simulation
would. ``RtlSession`` is sim.isa's Session with this machine: ``bitflight run --engine rtl``.
"""
from __future__ import annotations

from ...compiler import encoding
from ..isa.machine import Machine, SimError
from ..isa.runtime import Session
from . import runner
from .job import Job, Step


class RtlMachine:
    """HBM image, buffers and per-step cycle counts; ``run`` executes one program on RTL."""

    hbm_slice = Machine.hbm_slice

    def __init__(self, cfg, image: dict[int, bytes], channel_bytes: dict[int, int],
                 skip_missing: bool = False, policy=None):
        self.cfg, self.skip_missing, self.policy = cfg, skip_missing, policy
        self.built = runner.build(cfg)
        self.hbm = {ch: bytearray(data) for ch, data in image.items()}
        for ch, size in channel_bytes.items():
            mem = self.hbm.setdefault(ch, bytearray())
            mem.extend(bytes(max(0, size - len(mem))))
        self.buffers: dict[str, bytes] | None = None
        self.steps = []                                   # StepResult per run
        self.expected: list[int] = []                     # sim.perf's cycles of each run

    def run(self, program, pos0: int, ntok: int) -> None:
        words = encoding.words_to_bytes(encoding.encode_words(program))
        job = Job(channels={ch: bytes(m) for ch, m in self.hbm.items()},
                  limits={ch: len(m) for ch, m in self.hbm.items()},
                  steps=[Step(words=words, pos0=pos0, ntok=ntok)], buffers=self.buffers,
                  skip_missing=self.skip_missing)
        self.expected.append(self.expected_cycles(program, pos0, ntok))
        job.max_cycles = max(job.max_cycles, 2 * self.expected[-1])
        result = runner.run(self.built, job, quiet=True)
        self.steps.extend(result.steps)
        if result.error:
            raise SimError(result.error)
        self.hbm = {ch: bytearray(data) for ch, data in result.hbm.items()}
        self.buffers = result.buffers

    def expected_cycles(self, program, pos0: int, ntok: int) -> int:
        """sim.perf's RTL-mode cycles of ``program`` (within a fraction of a percent of the top's
        on the compiled programs, docs/results/calibration.md): a step runs until twice that,
        or the Job's default, before it is reported hung; a whole SmolLM2 prefill takes longer
        than the default."""
        from ..perf.events import simulate
        from .perf_timing import RtlTiming
        timing = (RtlTiming.for_policy(self.cfg, pos0, ntok, self.policy) if self.policy
                  else RtlTiming(self.cfg, pos0, ntok))
        return int(simulate(program, self.cfg, timing).cycles)


class RtlSession(Session):
    """Prefill then decode one sequence on the RTL top (buckets and host I/O as in sim.isa)."""

    def __init__(self, target, store, max_len: int, skip_missing: bool = False):
        super().__init__(target, store, max_len)
        hbm = target.layout.hbm
        self.machine = RtlMachine(target.cfg, target.image(),
                                  {ch: hbm.used[ch] for ch in range(hbm.channels)
                                   if hbm.used[ch]}, skip_missing, target.policy)

    def _launch(self, program, pos0: int, ntok: int) -> None:
        self.machine.run(program, pos0, ntok)

"""Shared helpers of the accelerator-top benches: the sim.isa reference and the comparison."""
from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import numpy as np

from bitflight.base import config
from bitflight.compiler import asm, encoding, isa
from bitflight.sim.isa import scheduler
from bitflight.sim.isa.machine import Machine, SimError
from bitflight.sim.top.compare import first_difference
from bitflight.sim.top.compiled import has_engine
from bitflight.sim.top.job import Job, Step

CFG = config.load("tiny")


def random_image(seed: int, sizes: dict[int, int]) -> dict[int, bytes]:
    rng = np.random.default_rng(seed)
    return {ch: rng.integers(0, 256, size, dtype=np.uint8).tobytes() for ch, size in sizes.items()}


def words(program: list[isa.Instr]) -> bytes:
    return encoding.words_to_bytes(encoding.encode_words(program))


def run_on_buffers(top, buffers, programs, launches, stop=True):
    """Run ``programs`` (one step per launch dict of pos0/ntok) on the built top with the given
    start buffers and one empty HBM channel."""
    from bitflight.sim.top import runner
    job = Job(channels={0: bytes(4096)}, limits={0: 4096},
              steps=[Step(words=words(p), **launch) for p, launch in zip(programs, launches)],
              buffers={b.name: bytes(data) for b, data in buffers.items()},
              stop_on_error=stop)
    return runner.run(top, job, quiet=True)


@contextmanager
def token_only_compute():
    """sim.isa with the instructions the top has no engine for completing without touching
    memory (what the top's MODE skip_missing does)."""
    real = scheduler.execute

    def execute(m, instr, index):
        if has_engine(instr):
            real(m, instr, index)
    with mock.patch.object(scheduler, "execute", execute):
        yield


def reference(image: dict[int, bytes], steps: list[Step], programs: list[list[isa.Instr]],
              token_only: bool = False) -> tuple[Machine, str | None]:
    """sim.isa's final state (and its error message, if a step fails) for the same job."""
    machine = Machine(CFG, image, {ch: len(data) for ch, data in image.items()})
    error = None
    with token_only_compute() if token_only else _nothing():
        for step, program in zip(steps, programs):
            for ch, addr, data in step.writes:
                machine.hbm[ch][addr:addr + len(data)] = data
            try:
                scheduler.run(machine, program, step.pos0, step.ntok)
            except SimError as exc:
                error = str(exc)
                break
    return machine, error


@contextmanager
def _nothing():
    yield


def job_for(image: dict[int, bytes], programs: list[list[isa.Instr]], launches=None,
            **kw) -> tuple[Job, list[Step]]:
    launches = launches or [dict() for _ in programs]
    steps = [Step(words=words(p), **launch) for p, launch in zip(programs, launches)]
    return Job(channels=image, limits={ch: len(d) for ch, d in image.items()}, steps=steps,
               **kw), steps


def assert_same_state(result, machine: Machine) -> None:
    """Every HBM channel and every buffer bit for bit."""
    difference = first_difference(result, machine)
    assert difference is None, difference


def program(text: str) -> list[isa.Instr]:
    return asm.parse(text)

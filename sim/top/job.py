"""What the host hands the RTL bench and what it gets back (pickled between the pytest or CLI
process and the cocotb process that runs the simulator)."""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Step:
    """One launch: the program's little-endian words, launch arguments, and the host's writes
    into HBM before the start (``(channel, byte address, bytes)``, e.g. the token ids)."""
    words: bytes
    pos0: int = 0
    ntok: int = 0
    writes: list[tuple[int, int, bytes]] = field(default_factory=list)


@dataclass
class MemoryModel:
    """Per-channel behaviour of the cocotbext-axi RAMs: ``latency`` cycles before the first beat
    of each burst (the RAM serves one burst at a time) and ``bandwidth``, the fraction of cycles
    in which an R or W beat may move (1.0: every cycle, no pause generator at all)."""
    latency: int = 0
    bandwidth: float = 1.0


@dataclass
class Job:
    channels: dict[int, bytes]                   # initial HBM image per channel
    limits: dict[int, int]                       # bytes per channel (range checks)
    steps: list[Step]
    memory: dict[int, MemoryModel] = field(default_factory=dict)   # default: MemoryModel()
    dump_buffers: bool = True
    stop_on_error: bool = True                   # False: later steps still run (error tests)
    max_cycles: int = 50_000_000                 # a step still running then is reported hung
    buffers: dict[str, bytes] | None = None      # initial buffer contents (Buf name -> bytes)
    skip_missing: bool = False                   # MODE bit 0: no-engine instructions complete


@dataclass
class StepResult:
    cycles: int
    stalls: dict[str, int]                       # queue name -> cycles its head waited
    active: dict[str, int]                       # queue name -> cycles its unit was busy
    error: str | None = None


@dataclass
class Result:
    steps: list[StepResult]
    hbm: dict[int, bytes]
    buffers: dict[str, bytes]                    # Buf name -> contents
    wall_seconds: float = 0.0

    @property
    def error(self) -> str | None:
        return next((s.error for s in self.steps if s.error), None)


def save(obj, path: Path) -> None:
    Path(path).write_bytes(pickle.dumps(obj))


def load(path: Path):
    return pickle.loads(Path(path).read_bytes())

"""The ISA simulator's machine: HBM channels, on-chip buffers, six in-order queues with token
FIFOs, and the counters the performance model reads.

Execution honours the queue semantics of ``docs/isa.md``: the program is dispatched in order
into six queues; each step the simulator issues the head of the first queue (in a rotating order)
whose waits are satisfied, executes it to completion and delivers its release tokens. A program
whose tokens leave every queue blocked is reported as a deadlock naming the stuck instructions.
Arithmetic is delegated to :mod:`.execute`, which calls golden/ functions only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ...compiler import isa
from ...compiler.footprint import dma_bytes
from ...base.errors import SimError



@dataclass
class Counters:
    instructions: Counter = field(default_factory=Counter)
    bytes_read: Counter = field(default_factory=Counter)       # per HBM channel
    bytes_written: Counter = field(default_factory=Counter)
    macs: Counter = field(default_factory=Counter)             # per engine mode name
    sfu_elements: Counter = field(default_factory=Counter)     # per MISC op name

    def as_dict(self) -> dict:
        return {"instructions": dict(self.instructions),
                "bytes_read": {int(k): v for k, v in self.bytes_read.items()},
                "bytes_written": {int(k): v for k, v in self.bytes_written.items()},
                "macs": dict(self.macs), "sfu_elements": dict(self.sfu_elements)}


class Machine:
    """Memory state that persists across programs (weights, KV cache) plus counters."""

    def __init__(self, cfg, image: dict[int, bytes], channel_bytes: dict[int, int] | None = None):
        b = cfg.buffers
        self.cfg = cfg
        self.bufs = {isa.Buf.ACT: bytearray(b.act_kb * 1024),
                     isa.Buf.WGT: bytearray(b.weight_kb * 1024),
                     isa.Buf.OUT: bytearray(b.output_kb * 1024),
                     isa.Buf.META: bytearray(b.meta_kb * 1024),
                     isa.Buf.BIAS: bytearray(b.bias_kb * 1024)}
        self.hbm = {ch: bytearray(data) for ch, data in image.items()}
        for ch, size in (channel_bytes or {}).items():
            mem = self.hbm.setdefault(ch, bytearray())
            if len(mem) < size:
                mem.extend(bytes(size - len(mem)))
        self.counters = Counters()
        self.pos0 = 0
        self.ntok = 0
        self.cache: dict[bytes, object] = {}       # unpacked weight tiles by content

    # -- memory access ------------------------------------------------------------------------
    def buf_slice(self, buf: int, line: int, nbytes: int, what: str) -> memoryview:
        mem = self.bufs[isa.Buf(buf)]
        lo = line * isa.LINE_BYTES
        if lo + nbytes > len(mem):
            raise SimError(f"{what}: buffer {isa.Buf(buf).name} bytes [{lo}, {lo + nbytes}) "
                           f"exceed its {len(mem)} bytes")
        return memoryview(mem)[lo:lo + nbytes]

    def hbm_slice(self, channel: int, lo: int, hi: int, what: str) -> memoryview:
        mem = self.hbm.get(channel)
        if mem is None or hi > len(mem):
            raise SimError(f"{what}: HBM channel {channel} bytes [{lo}, {hi}) are outside the "
                           "memory image")
        return memoryview(mem)[lo:hi]

    def count_dma(self, instr: isa.Instr) -> None:
        if instr.kind == "LD" and not instr["zero_fill"]:
            self.counters.bytes_read[instr["channel"]] += dma_bytes(instr)
        elif instr.kind == "ST":
            self.counters.bytes_written[instr["channel"]] += dma_bytes(instr)

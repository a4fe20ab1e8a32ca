"""The RTL top's final state against sim.isa's: every HBM channel and every buffer, bit for bit."""
from __future__ import annotations

from ...compiler import isa


def first_difference(result, machine) -> str | None:
    """None when ``result`` (a top Result) holds exactly ``machine``'s (a sim.isa Machine) HBM
    channels and buffers; otherwise one line naming the first differing byte."""
    for ch, mem in machine.hbm.items():
        got = result.hbm[ch]
        if got != bytes(mem):
            bad = next(i for i in range(len(mem)) if got[i] != mem[i])
            return (f"HBM channel {ch}: first difference at byte {bad}: "
                    f"rtl {got[bad]:#04x}, sim.isa {mem[bad]:#04x}")
    for b in isa.Buf:
        want, got = bytes(machine.bufs[b]), result.buffers[b.name]
        if got != want:
            bad = next(i for i in range(len(want)) if got[i] != want[i])
            return (f"buffer {b.name}: first difference at byte {bad} (line {bad // 16}): "
                    f"rtl {got[bad]:#04x}, sim.isa {want[bad]:#04x}")
    return None

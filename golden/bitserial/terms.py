"""Weight code -> per-cycle term slots, the table the RTL term decoder is elaborated from.

A weight of a format with ``term_slots == S`` occupies its PE lane for S cycles; slot j holds one
signed power-of-two term ``(negative, shift)`` or nothing. fp/flint grids put their (at most two)
terms in slots 0, 1 in the order golden.formats lists them (high term first). INT formats put the
radix-4 Booth digit k in slot k, so a Booth digit of 0 leaves its cycle empty, as a Booth PE would.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import formats

# Hardware datatype index -> format. Index 0..7 = BitMoD grids (3-bit ids 0..3, 4-bit ids 0..3),
# so a BitMoD group's hardware index is base + its 2-bit datatype id.
HW_FORMATS: tuple[str, ...] = (formats.BITMOD_CANDIDATES[3] + formats.BITMOD_CANDIDATES[4]
                               + ("fp3", "fp4_e2m1", "int4", "int6", "int8"))
MAX_SLOTS = 4
MAX_SHIFT = 7          # int8 Booth digit 3 with |d| = 2


def hw_index(name: str) -> int:
    """Hardware datatype index of a format (ValueError for formats the RTL does not support)."""
    if name not in HW_FORMATS:
        raise ValueError(f"format '{name}' is not supported by the BitMoD engine "
                         f"(supported: {', '.join(HW_FORMATS)})")
    return HW_FORMATS.index(name)


def slot_terms(fmt: formats.Format, code: int) -> tuple[tuple[int, int] | None, ...]:
    """The ``term_slots`` slots of one code: ``(negative, shift)`` or None per cycle."""
    if fmt.term_slots is None:
        raise ValueError(f"format '{fmt.name}' is not bit-serial (no power-of-two terms)")
    slots: list[tuple[int, int] | None] = [None] * fmt.term_slots
    for j, (sign, shift) in enumerate(fmt.terms(code)):
        slot = shift // 2 if fmt.kind == "int" else j
        if slots[slot] is not None:
            raise ValueError(f"{fmt.name}: code {code:#x} puts two terms in slot {slot}")
        slots[slot] = (int(sign < 0), int(shift))
    return tuple(slots)


@dataclass(frozen=True, eq=False)
class TermTable:
    """Dense per-code slot table of one format; unused codes have no terms."""
    name: str
    slots: int
    valid: np.ndarray      # bool  [2**bits, slots]
    negative: np.ndarray   # uint8 [2**bits, slots]
    shift: np.ndarray      # uint8 [2**bits, slots]
    used: np.ndarray       # bool  [2**bits]: the code is a level of the format


@lru_cache(maxsize=None)
def term_table(name: str) -> TermTable:
    fmt = formats.get(name)
    if not isinstance(fmt, formats.Format) or fmt.term_slots is None:
        raise ValueError(f"format '{name}' is not bit-serial (no power-of-two terms)")
    n, s = 1 << fmt.bits, fmt.term_slots
    valid, neg, shift = (np.zeros((n, s), bool), np.zeros((n, s), np.uint8),
                         np.zeros((n, s), np.uint8))
    used = np.zeros(n, bool)
    for code in fmt.codes:
        used[code] = True
        for j, term in enumerate(slot_terms(fmt, int(code))):
            if term is not None:
                valid[code, j], (neg[code, j], shift[code, j]) = True, term
    return TermTable(name, s, valid, neg, shift, used)

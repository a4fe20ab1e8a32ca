"""The term decoder's tables, factorized out of golden.bitserial.term_table at elaboration.

The golden table of a format maps (code, slot) to a term. Hardware needs far less than that table:
* fp/BitMoD grids are sign-magnitude, so the term of a magnitude code is shared by every grid of a
  width and only the -0 code (the BitMoD special value) differs per grid;
* INT formats are radix-4 Booth: the term of slot k depends only on the code bits
  (2k+1, 2k, 2k-1), with the shift relative to 2k.
Each factorization is checked against every used code of the golden table, so a change of the
formats that breaks it fails at elaboration instead of silently decoding something else.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ...golden import formats
from ...golden.bitserial import HW_FORMATS, term_table

Entry = tuple[int, int, int]       # (valid, neg, shift)
EMPTY: Entry = (0, 0, 0)


@dataclass(frozen=True)
class DecodeTables:
    kinds: dict[int, str]                          # fmt index -> "fp" | "int"
    bits: dict[int, int]                           # fmt index -> code width
    magnitude: dict[int, dict[tuple[int, int], tuple[int, int]]]  # width -> (m, slot) -> (v, sh)
    special: dict[int, tuple[Entry, ...]]          # fmt index -> per-slot term of the -0 code
    booth: dict[int, Entry]                        # 3-bit window -> (valid, neg, extra shift)


def _check(table: dict, key, value, where: str) -> None:
    if table.setdefault(key, value) != value:
        raise ValueError(f"term table of {where} does not factorize at {key}: "
                         f"{table[key]} != {value}")


@lru_cache(maxsize=None)
def decode_tables() -> DecodeTables:
    kinds, widths, magnitude, special, booth = {}, {}, {}, {}, {}
    for index, name in enumerate(HW_FORMATS):
        fmt, t = formats.get(name), term_table(name)
        kinds[index], widths[index] = fmt.kind, fmt.bits
        if fmt.kind == "int":
            for code in map(int, fmt.codes):
                for k in range(t.slots):
                    window = (code << 1) >> (2 * k) & 0b111
                    entry = (int(t.valid[code, k]), int(t.negative[code, k]),
                             int(t.shift[code, k]) - 2 * k if t.valid[code, k] else 0)
                    _check(booth, window, entry, name)
            continue
        mags = magnitude.setdefault(fmt.bits, {})
        neg_zero = 1 << (fmt.bits - 1)
        special[index] = tuple(
            (int(t.valid[neg_zero, j]), int(t.negative[neg_zero, j]), int(t.shift[neg_zero, j]))
            for j in range(t.slots))
        for code in map(int, fmt.codes):
            if code == neg_zero:
                continue
            sign, m = code >> (fmt.bits - 1), code & (neg_zero - 1)
            for j in range(t.slots):
                valid = int(t.valid[code, j])
                if valid and int(t.negative[code, j]) != sign:
                    raise ValueError(f"{name}: code {code:#x} slot {j} sign is not the code sign")
                _check(mags, (m, j), (valid, int(t.shift[code, j]) if valid else 0), name)
    return DecodeTables(kinds, widths, magnitude, special, booth)

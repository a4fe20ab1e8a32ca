"""What the engine reads of a packed weight tile (golden.quant's layout, version 2, docs/formats.md
§3): the header words, and which (scheme, bits) the array's datatype decoder runs.

The header is read as 32-bit little-endian words at byte ``4 * w`` of the tile, four to a line;
the engine keeps all 16 (the zero-point offset, size and CRC words unused). A group's datatype
id indexes the scheme's format list
(``QuantizedWeight.formats``); the array takes the hardware index of that format
(golden.bitserial.HW_FORMATS), so the table below maps (scheme id, bits, id) to it.
"""
from __future__ import annotations

from enum import IntEnum

from ....golden.bitserial import HW_FORMATS
from ....golden.quant import packing
from ....golden.quant.qweight import SCHEMES

HEADER_WORDS = 16               # magic .. row-scale offset, zero points, size, CRC, block/chunk
MAGIC_WORD = int.from_bytes(packing.MAGIC, "little")
BLOCKED_VERSION = packing.BLOCKED_VERSION
MODE_FP16 = packing.SCALE_MODE_IDS["fp16"]
MODE_INT = packing.SCALE_MODE_IDS["int"]


class Word(IntEnum):
    """Header word index (byte offset / 4)."""
    MAGIC = 0
    VERSION = 1         # u16 version, u8 scheme id, u8 bits
    MODE = 2            # u8 scale mode, u8 id bits, u8 zero-point bits
    N = 3
    K = 4
    G = 5
    NG = 6
    RECORD = 7
    CODES = 8
    IDS = 9
    SCALES = 10
    ROWS = 11
    LAYOUT = 15         # u16 block B, u16 chunk L (version 2)


def hw_formats() -> dict[tuple[int, int], tuple[int, ...]]:
    """(scheme id, bits) -> hardware datatype index per datatype id, for every scheme whose
    formats the array decodes; the id width is implied (``(len - 1).bit_length()``)."""
    table = {}
    for name, sid in packing.SCHEME_IDS.items():
        scheme = SCHEMES.get(name)
        if scheme is None or name == "int_asym":            # zero points: not bit-serial
            continue
        for bits in scheme.bits:
            names = tuple(scheme.formats(bits))
            if all(n in HW_FORMATS for n in names):
                table[(sid, bits)] = tuple(HW_FORMATS.index(n) for n in names)
    return table


def code_bits() -> tuple[int, ...]:
    """Code widths of the tiles the array decodes."""
    return tuple(sorted({b for _, b in hw_formats()}))

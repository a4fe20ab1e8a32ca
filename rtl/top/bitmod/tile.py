"""What the engine reads of a packed weight tile (golden.quant's layout, docs/formats.md): the
header words, and which (scheme, bits) the array's datatype decoder runs.

The header is read as 32-bit little-endian words at byte ``4 * w`` of the tile; the engine keeps
words 0..11 (magic .. row-scale offset). A group's datatype id indexes the scheme's format list
(``QuantizedWeight.formats``); the array takes the hardware index of that format
(golden.bitserial.HW_FORMATS), so the table below maps (scheme id, bits, id) to it.
"""
from __future__ import annotations

from enum import IntEnum

from ....golden.bitserial import HW_FORMATS
from ....golden.quant import packing
from ....golden.quant.qweight import SCHEMES

HEADER_WORDS = 12               # magic, version/scheme/bits, mode/ids/zp, N, K, G, ng, R, 4 offsets
MAGIC_WORD = int.from_bytes(packing.MAGIC, "little")
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

"""Byte offsets of the packed weight-tile header fields the CSD engine parses on chip.

The layouts are golden's (``golden.sparse.packing`` for N:M tiles, ``golden.quant.packing`` for
dense int_sym tiles); the offsets are derived here from their ``struct`` formats, so a change of
either header moves the RTL's field slices with it.
"""
from __future__ import annotations

import struct

from ...golden.quant import packing as dense_packing
from ...golden.sparse import packing as sparse_packing

SPARSE_NAMES = ("magic", "version", "code", "m", "block", "n_out", "k", "n_beats", "index_off",
                "value_off", "scale_off")
DENSE_NAMES = ("magic", "version", "scheme", "bits", "scale_mode", "id_bits", "zp_bits",
               "reserved", "n", "k", "g", "ng", "record", "codes_off", "ids_off", "scales_off",
               "rows_off", "zp_off", "total", "crc", "block", "chunk")


def _offsets(fmt: struct.Struct, names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """``name -> (byte offset, byte width)`` of every field of a little-endian struct."""
    codes = fmt.format.lstrip("<")
    out, pos, i = {}, 0, 0
    for name in names:
        count = ""
        while codes[i].isdigit():
            count += codes[i]
            i += 1
        size = struct.calcsize("<" + count + codes[i])
        out[name] = (pos, size)
        pos, i = pos + size, i + 1
    if pos != fmt.size:
        raise ValueError(f"header field names do not cover the {fmt.size}-byte struct")
    return out


SPARSE = _offsets(sparse_packing.HEADER, SPARSE_NAMES)
DENSE = _offsets(dense_packing.HEADER, DENSE_NAMES)
SPARSE_HEADER_BYTES = sparse_packing.HEADER.size          # descriptors follow at this offset
HEADER_LINES = -(-max(dense_packing.HEADER_SIZE, sparse_packing.HEADER.size) // 16)
INT_SYM = dense_packing.SCHEME_IDS["int_sym"]
FP16_SCALES = dense_packing.SCALE_MODE_IDS["fp16"]
SPARSE_INT_CODES = {bits: code for bits, code in sparse_packing.VALUE_CODE.items() if bits}
BEAT_PAIRS = sparse_packing.BEAT


def field(header, offsets: dict[str, tuple[int, int]], name: str):
    """The little-endian field ``name`` of a header held as one Amaranth value (byte 0 lowest)."""
    pos, size = offsets[name]
    return header[8 * pos:8 * (pos + size)]

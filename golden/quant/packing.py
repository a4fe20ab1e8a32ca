"""The packed binary layout of a quantized weight (the BitMoD PE array and weight image read it).

All multi-byte fields are little-endian. Bit streams are LSB-first: bit ``j`` of a stream is bit
``j % 8`` of byte ``j // 8``. A 64-byte header is followed by five sections, each starting at a
multiple of 8 bytes (zero filled in between); an unused section has length 0.

Header (byte offset: field)::

    0  magic "BFQW"           4  u16 version (1)        6  u8 scheme id     7  u8 bits b
    8  u8 scale mode          9  u8 id bits d          10  u8 zero-point bits (0 or 8)
   11  u8 flags              12  u32 N (rows, outputs) 16  u32 K (inputs)   20  u32 G (group)
   24  u32 groups per row ng = ceil(K / G)             28  u32 R = bytes per group record
   32  u32 offset of codes   36  u32 offset of ids     40  u32 offset of scales
   44  u32 offset of row scales                        48  u32 offset of zero points
   52  u32 total size        56  u32 CRC-32 (zlib) of bytes [64, total)
   60  u16 block B, u16 chunk L (version 2; 0 in version 1)

Scheme ids: 0 bitmod, 1 int_sym, 2 int_asym, 3 fp, 4 ant, 5 mx, 6 nf4.
Scale modes: 0 fp16, 1 int, 2 e8m0.

Sections (group index ``i = n * ng + g``, row-major):

* codes: N * ng records of R = ceil(G * b / 8) bytes; record ``i`` at ``offset + i * R``.
  Element ``j`` of the group (column ``k = g * G + j``) is the b-bit code at bits
  ``[j*b, j*b + b)`` of the record's LSB-first stream. Columns past K (padding) hold the code of
  0 (the zero point for int_asym); bits past ``G * b`` are 0. A group's codes are contiguous, so
  a PE lane streams one record per group.
* ids: ``d`` bits per group (d = 2 for bitmod, 1 for ant, 0 otherwise), group ``i`` at stream bits
  ``[i*d, i*d + d)``. The id indexes ``QuantizedWeight.formats``.
* scales: per group, fp16 mode: u16 IEEE binary16 bits of the scale per integer-scaled unit
  (real scale x unit, unit = 0.5 for fp4 grids: the factor the PE applies to an integer-level
  dot product); int mode: u8 integer scale q; e8m0 mode: u8 biased exponent e + 127.
* row scales (int mode): u16 binary16 bits of the real per-row scale, N entries.
* zero points (int_asym): u8 per group.

Version 2, the array layout (``block`` B rows, ``chunk`` L elements; an engine of R <= B rows and
L lanes reads one beat, its R rows' L codes, as one contiguous field). Rows are cut into blocks
of B (the last block has ``Bq = N - n0`` rows, n0 its first row). Element (n, k), r = n - n0,
g = k // G, c = (k % G) // L, l = k % L:

* codes: one LSB-first stream (no per-record alignment); the code is at bit
  ``n0 * ng * G * b + ((g * (G / L) + c) * Bq + r) * L * b + l * b``: a tile's beats follow one
  another at a stride of ``Bq * L * b`` bits;
* ids, scales, zero points: entry ``n0 * ng + g * Bq + r`` (the block's rows of a group side by
  side); row scales: entry ``n``, as in version 1.

Flags (byte 11; 0 in version 1): bit 0, *full blocks* (version 2 only): the last block is stored
with B rows like the others, so ``Bq = B`` everywhere above; its rows past N are zero bits in
codes, ids, scales and zero points (row scales keep N entries). An engine that reads a beat as
an aligned slice of a wide buffer row needs every beat stride to be ``B * L * b``
(rtl/top/bitmod/beat.py). Bits 4-7, ``a`` (version 2 only): every section starts at a multiple of
``8 << a`` bytes from the tile's start (a WGT row for the engine's readers; 0: 8 bytes). Bits
1-3 are 0.

Version 1 is the same as version 2 with B = 1 and L = G when ``G * b`` is a multiple of 8; a
layout of B = 1 and L = G is always written as version 1.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

MAGIC = b"BFQW"
VERSION = 1
BLOCKED_VERSION = 2
HEADER = struct.Struct("<4sHBBBBBBIIIIIIIIIIIIHH")
HEADER_SIZE = 64
SCHEME_IDS = {"bitmod": 0, "int_sym": 1, "int_asym": 2, "fp": 3, "ant": 4, "mx": 5, "nf4": 6}
SCALE_MODE_IDS = {"fp16": 0, "int": 1, "e8m0": 2}
ALIGN = 8
FULL_BLOCKS = 1              # flags bit 0
ALIGN_SHIFT = 4              # flags bits 4-7: sections at multiples of 8 << a bytes
assert HEADER.size == HEADER_SIZE


def pack_bits(values: np.ndarray, width: int, record_bytes: int | None = None) -> bytes:
    """Rows of ``values`` [M, L] as LSB-first ``width``-bit streams, each padded to
    ``record_bytes`` (default: ceil(L * width / 8)); a 1-D input is one stream."""
    v = np.asarray(values, dtype=np.uint32)
    v2 = v.reshape(1, -1) if v.ndim == 1 else v
    nbits = v2.shape[1] * width
    rec = record_bytes if record_bytes is not None else -(-nbits // 8)
    bits = ((v2[..., None] >> np.arange(width, dtype=np.uint32)) & 1).astype(np.uint8)
    bits = bits.reshape(v2.shape[0], nbits)
    bits = np.pad(bits, ((0, 0), (0, rec * 8 - nbits)))
    return np.packbits(bits, axis=1, bitorder="little").tobytes()


def unpack_bits(data: bytes, width: int, count: int, records: int = 1,
                record_bytes: int | None = None) -> np.ndarray:
    """Inverse of :func:`pack_bits`: [records, count] unsigned values."""
    rec = record_bytes if record_bytes is not None else -(-count * width // 8)
    raw = np.frombuffer(data, dtype=np.uint8).reshape(records, rec)
    bits = np.unpackbits(raw, axis=1, bitorder="little")[:, :count * width]
    bits = bits.reshape(records, count, width).astype(np.uint32)
    return (bits << np.arange(width, dtype=np.uint32)).sum(-1).astype(np.uint32)


def _align(n: int, unit: int = ALIGN) -> int:
    return -(-n // unit) * unit


def align_shift(align: int) -> int:
    """The flags' ``a`` of a section alignment of ``align`` bytes (``8 << a``, a power of two
    from 8 to 256 KiB)."""
    shift = (align // ALIGN).bit_length() - 1
    if align < ALIGN or align != ALIGN << shift or shift > 15:
        raise ValueError(f"layout: section alignment {align} is not a power of two from "
                         f"{ALIGN} to {ALIGN << 15} bytes")
    return shift


def stored_rows(n: int, block: int = 1, full: bool = False) -> int:
    """Rows the sections other than row scales hold: N, or whole blocks of ``block`` rows."""
    return -(-n // block) * block if full else n


def scale_bits(scale_mode: str) -> int:
    """Bits of a stored group scale: binary16 in fp16 mode, a byte otherwise."""
    return 16 if scale_mode == "fp16" else 8


def section_sizes(n: int, ng: int, g: int, bits: int, id_bits: int, scale_mode: str,
                  has_zp: bool, blocked: bool = False, stored: int | None = None) -> list[int]:
    """Byte lengths of codes, ids, scales, row scales and zero points (``blocked``: version 2,
    whose codes are one stream without per-record alignment; ``stored``: the rows of a layout
    of full blocks, :func:`stored_rows`)."""
    groups = (n if stored is None else stored) * ng
    scale_bytes = scale_bits(scale_mode) // 8
    codes = -(-groups * g * bits // 8) if blocked else groups * -(-g * bits // 8)
    return [codes, -(-groups * id_bits // 8), groups * scale_bytes,
            2 * n if scale_mode == "int" else 0, groups if has_zp else 0]


def layout(n: int, ng: int, g: int, bits: int, id_bits: int, scale_mode: str,
           has_zp: bool, blocked: bool = False, stored: int | None = None, align: int = ALIGN
           ) -> tuple[list[int], int]:
    """(section offsets, total size) of the packed layout, each section at a multiple of
    ``align`` bytes from the start."""
    offsets, pos = [], HEADER_SIZE
    for size in section_sizes(n, ng, g, bits, id_bits, scale_mode, has_zp, blocked, stored):
        pos = _align(pos, align)
        offsets.append(pos)
        pos += size
    return offsets, pos


def is_blocked(g: int, block: int = 1, chunk: int | None = None, full: bool = False) -> bool:
    """Whether a layout of ``block`` rows and ``chunk`` columns (None: the group ``g``) is
    version 2 (``full``, blocks stored whole, is a version 2 flag: it changes nothing here)."""
    return block != 1 or (chunk or g) != g


def to_blocked(values: np.ndarray, block: int, chunk: int = 1) -> np.ndarray:
    """Row-major [N, ng * chunk * C] values (codes, or per-group entries with chunk 1) in the
    version 2 storage order: per block of rows, per chunk of ``chunk`` columns, the block's
    rows side by side (blocks of one row keep the row-major order)."""
    n, width = values.shape
    full = n - n % block
    head = values[:full].reshape(full // block, block, width // chunk, chunk)
    tail = values[full:].reshape(n - full, width // chunk, chunk)
    return np.concatenate([head.transpose(0, 2, 1, 3).ravel(), tail.transpose(1, 0, 2).ravel()])


def from_blocked(flat: np.ndarray, n: int, width: int, block: int, chunk: int = 1) -> np.ndarray:
    """Inverse of :func:`to_blocked`: [N, width] row-major values."""
    flat = np.asarray(flat).reshape(-1)
    full = n - n % block
    head = flat[:full * width].reshape(full // block, width // chunk, block, chunk)
    tail = flat[full * width:n * width].reshape(width // chunk, n - full, chunk)
    return np.concatenate([head.transpose(0, 2, 1, 3).reshape(full, width),
                           tail.transpose(1, 0, 2).reshape(n - full, width)])


def assemble(fields: dict, sections: list[bytes]) -> bytes:
    """Header + aligned sections (``fields`` holds the header values by name; its ``block`` and
    ``chunk``, unless 1 and G, make it version 2; ``full``, if true, sets the full-blocks
    flag; ``align``, the sections' alignment in bytes, version 2 only)."""
    blocked = is_blocked(fields["g"], fields["block"], fields["chunk"])
    full = bool(fields.get("full")) and blocked
    align = fields.get("align", ALIGN) if blocked else ALIGN
    shift = align_shift(align)
    offsets, total = layout(fields["n"], fields["ng"], fields["g"], fields["bits"],
                            fields["id_bits"], fields["scale_mode"], fields["zp_bits"] > 0,
                            blocked, stored_rows(fields["n"], fields["block"], full), align)
    body = bytearray(total - HEADER_SIZE)
    for off, sec in zip(offsets, sections):
        body[off - HEADER_SIZE: off - HEADER_SIZE + len(sec)] = sec
    block, chunk = (fields["block"], fields["chunk"]) if blocked else (0, 0)
    header = HEADER.pack(MAGIC, BLOCKED_VERSION if blocked else VERSION,
                         SCHEME_IDS[fields["scheme"]], fields["bits"],
                         SCALE_MODE_IDS[fields["scale_mode"]], fields["id_bits"],
                         fields["zp_bits"], (FULL_BLOCKS if full else 0)
                         | shift << ALIGN_SHIFT, fields["n"],
                         fields["k"], fields["g"],
                         fields["ng"], -(-fields["g"] * fields["bits"] // 8), *offsets, total,
                         zlib.crc32(bytes(body)), block, chunk)
    return header + bytes(body)


def parse(data: bytes) -> tuple[dict, list[bytes]]:
    """Header fields and section bytes of a packed weight (ValueError on any inconsistency)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise ValueError(f"packed weight: {len(data)} bytes is shorter than the 64-byte header")
    (magic, version, scheme_id, bits, mode_id, id_bits, zp_bits, flags, n, k, g, ng, rec,
     *rest) = HEADER.unpack_from(data)
    offsets, total, crc, block, chunk = rest[:5], rest[5], rest[6], rest[7], rest[8]
    if magic != MAGIC:
        raise ValueError(f"packed weight: bad magic {magic!r} (expected {MAGIC!r})")
    if version not in (VERSION, BLOCKED_VERSION):
        raise ValueError(f"packed weight: unsupported version {version}")
    schemes = {v: s for s, v in SCHEME_IDS.items()}
    modes = {v: s for s, v in SCALE_MODE_IDS.items()}
    if scheme_id not in schemes or mode_id not in modes:
        raise ValueError(f"packed weight: unknown scheme id {scheme_id} or scale mode {mode_id}")
    if total != len(data):
        raise ValueError(f"packed weight: header says {total} bytes, got {len(data)}")
    if zlib.crc32(data[HEADER_SIZE:]) != crc:
        raise ValueError("packed weight: CRC-32 mismatch (corrupted data)")
    fields = dict(scheme=schemes[scheme_id], bits=bits, scale_mode=modes[mode_id],
                  id_bits=id_bits, zp_bits=zp_bits, n=n, k=k, g=g, ng=ng)
    if g == 0 or ng != -(-k // g) or rec != -(-g * bits // 8):
        raise ValueError(f"packed weight: inconsistent K={k}, G={g}, groups per row {ng}")
    blocked = version == BLOCKED_VERSION
    if not blocked and (block, chunk) != (0, 0):
        raise ValueError(f"packed weight: version 1 with block {block}, chunk {chunk} (must be 0)")
    if blocked and (block == 0 or chunk == 0 or g % chunk or (block, chunk) == (1, g)):
        raise ValueError(f"packed weight: version 2 block {block}, chunk {chunk} is not a "
                         f"layout of G={g} (B >= 1, L divides G, not B = 1 with L = G)")
    if flags & 0x0E or (flags and not blocked):
        raise ValueError(f"packed weight: flags {flags:#04x} (bit 0 full blocks, bits 4-7 the "
                         "sections' alignment, both only in version 2)")
    full = bool(flags & FULL_BLOCKS)
    align = ALIGN << (flags >> ALIGN_SHIFT)
    fields.update(block=block if blocked else 1, chunk=chunk if blocked else g, full=full,
                  align=align)
    stored = stored_rows(n, fields["block"], full)
    expect, _ = layout(n, ng, g, bits, id_bits, fields["scale_mode"], zp_bits > 0, blocked,
                       stored, align)
    if list(offsets) != expect:
        raise ValueError(f"packed weight: section offsets {list(offsets)} != expected {expect}")
    sizes = section_sizes(n, ng, g, bits, id_bits, fields["scale_mode"], zp_bits > 0, blocked,
                          stored)
    return fields, [data[o:o + s] for o, s in zip(offsets, sizes)]

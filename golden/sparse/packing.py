"""Packed byte layout of an ``NMSparse`` matrix (FlightLLM-style; described in docs/sparsity.md).

All multi-byte fields are little-endian. Four regions follow a 32-byte header, each starting at a
16-byte-aligned offset (gaps are zero bytes):

header (32 bytes)::

    0..3   magic b"BFNM"           16..19 n_beats: 16-pair beats in the pair streams (u32)
    4      version (1)             20..23 index_offset (u32)
    5      value code: 0 float32,  24..27 value_offset (u32)
           4 int4, 8 int8          28..31 scale_offset: per-row float32 scales, 0 = none (u32)
    6      m                       32..   descriptor table
    7      block (rows per block)
    8..11  n_out (u32)
    12..15 k (u32)

descriptor table: one byte per block in block-row-major order ``(br, kb)``: N in bits 4..0,
bits 7..5 zero.

pair streams: block by block in the same order, each block's ``block * N`` pairs row by row (row 0's
N pairs in ascending index order, then row 1's, ...), cut into *beats* of 16 pairs - one beat is
what a 16-MAC CSD chain consumes per cycle (16/N rows of N pairs). A block whose pair count is not a
multiple of 16 (only possible when block != 16) is padded to whole beats with (value 0, index 0).
Beat ``t`` occupies 8 bytes of the index stream at ``index_offset + 8 t`` (pair 2i's index in bits
3..0 of byte i, pair 2i+1's in bits 7..4) and ``value_bytes`` of the value stream at
``value_offset + value_bytes * t``: int8 = 16 bytes (one two's-complement byte per pair), int4 = 8
bytes (nibbles in the same low-first order as indices), float32 = 64 bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .nm_params import INDEX_BITS, check_m, check_n

if TYPE_CHECKING:
    from .nmsparse import NMSparse

MAGIC = b"BFNM"
VERSION = 1
BEAT = 16                                   # pairs per beat (one 16-MAC chain cycle)
HEADER = struct.Struct("<4sBBBBIIIIII")     # 32 bytes
ALIGN = 16
VALUE_CODE = {None: 0, 4: 4, 8: 8}
CODE_BITS = {v: k for k, v in VALUE_CODE.items()}
VALUE_BYTES = {None: 64, 4: 8, 8: 16}       # bytes per beat in the value stream


def _align(x: int) -> int:
    return -(-x // ALIGN) * ALIGN


def _pair_positions(block_n: np.ndarray, block: int, m: int):
    """Slots of the kept pairs in ``[br, kb, block, m]`` order and their positions in the stream."""
    br, kb = block_n.shape
    n = block_n.astype(np.int64)
    beats = -(-(n * block) // BEAT)                      # per block
    start = (np.concatenate([[0], np.cumsum(beats.ravel())[:-1]]) * BEAT).reshape(br, kb)
    mask = np.arange(m)[None, None, None, :] < n[:, :, None, None]
    mask = np.broadcast_to(mask, (br, kb, block, m))
    b_r, b_k, r, j = np.nonzero(mask)
    dest = start[b_r, b_k] + r * n[b_r, b_k] + j
    return mask, dest, int(beats.sum())


@dataclass(frozen=True)
class Beats:
    """The pair stream as the CSD chain consumes it: one row per beat of 16 pairs.

    ``values``/``indices`` ``[n_beats, 16]``; ``rows`` ``[n_beats, 16]`` the output row of each pair
    (-1 for beat padding); ``kblock`` ``[n_beats]`` the k-block whose 16 activations the sparse mux
    selects from; ``block`` ``[n_beats]`` the flat block number ``br * (k // m) + kb``.
    """
    values: np.ndarray
    indices: np.ndarray
    rows: np.ndarray
    kblock: np.ndarray
    block: np.ndarray


def beats(sp: NMSparse) -> Beats:
    """Split ``sp`` into 16-pair beats in packed-stream order (the same order ``pack`` writes)."""
    br, kb = sp.block_n.shape
    mask, dest, n_beats = _pair_positions(sp.block_n, sp.block, sp.m)
    order = (br, sp.block, kb, sp.m)
    vals = np.zeros(n_beats * BEAT, dtype=sp.values.dtype)
    idx = np.zeros(n_beats * BEAT, dtype=np.uint8)
    rows = np.full(n_beats * BEAT, -1, dtype=np.int64)
    vals[dest] = sp.values.reshape(order).transpose(0, 2, 1, 3)[mask]
    idx[dest] = sp.indices.reshape(order).transpose(0, 2, 1, 3)[mask]
    b_r, b_k, r, _ = np.nonzero(mask)
    rows[dest] = b_r * sp.block + r
    per_block = -(-(sp.block_n.astype(np.int64) * sp.block) // BEAT).ravel()
    block_of_beat = np.repeat(np.arange(br * kb), per_block)
    return Beats(values=vals.reshape(n_beats, BEAT), indices=idx.reshape(n_beats, BEAT),
                 rows=rows.reshape(n_beats, BEAT), kblock=block_of_beat % kb, block=block_of_beat)


def _nibbles_to_bytes(nib: np.ndarray) -> bytes:
    nib = nib.astype(np.uint8) & 0xF
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()


def _bytes_to_nibbles(raw: bytes) -> np.ndarray:
    b = np.frombuffer(raw, dtype=np.uint8)
    out = np.empty(b.size * 2, dtype=np.uint8)
    out[0::2], out[1::2] = b & 0xF, b >> 4
    return out


def _layout(n_blocks: int, n_beats: int, bits: int | None, n_out: int, scales: bool):
    index_off = _align(HEADER.size + n_blocks)
    value_off = _align(index_off + n_beats * BEAT // 2)
    value_end = value_off + n_beats * VALUE_BYTES[bits]
    scale_off = _align(value_end) if scales else 0
    end = scale_off + 4 * n_out if scales else value_end
    return index_off, value_off, scale_off, end


def packed_size(n_out: int, k: int, kept: int, bits: int | None, scales: bool = True,
                m: int = 16, block: int = 16) -> int:
    """Bytes ``pack`` writes for an ``[n_out, k]`` matrix keeping ``kept`` weights, exactly when
    every block's pairs fill whole beats (always for 16-row blocks). The compiler sizes N:M tiles
    with it before they are packed."""
    n_blocks = -(-n_out // block) * -(-k // m)
    return _layout(n_blocks, -(-kept // BEAT), bits, n_out, scales)[3]


def metadata_bits(n_out: int, k: int, kept: float, m: int = 16, block: int = 16) -> float:
    """The N:M metadata of an ``[n_out, k]`` matrix keeping ``kept`` weights: an
    ``INDEX_BITS``-bit in-block index per kept weight plus a one-byte descriptor per block (no
    header, alignment or beat padding). The performance model adds it to the values' bits."""
    return kept * INDEX_BITS + 8 * -(-n_out // block) * -(-k // m)


def pack(sp: NMSparse) -> bytes:
    """Serialize ``sp`` to bytes; ``unpack`` inverts it exactly."""
    n_out, k = sp.shape
    br, kb = sp.block_n.shape
    stream = beats(sp)
    n_beats = stream.values.shape[0]
    stream_v, stream_i = stream.values.ravel(), stream.indices.ravel()
    index_off, value_off, scale_off, end = _layout(br * kb, n_beats, sp.bits, n_out,
                                                   sp.scales is not None)
    out = bytearray(end)
    HEADER.pack_into(out, 0, MAGIC, VERSION, VALUE_CODE[sp.bits], sp.m, sp.block, n_out, k,
                     n_beats, index_off, value_off, scale_off)
    out[HEADER.size:HEADER.size + br * kb] = sp.block_n.tobytes()
    out[index_off:index_off + n_beats * BEAT // 2] = _nibbles_to_bytes(stream_i)
    if sp.bits == 4:
        value_raw = _nibbles_to_bytes(stream_v.view(np.uint8))
    else:
        value_raw = stream_v.astype("<f4" if sp.bits is None else np.int8).tobytes()
    out[value_off:value_off + len(value_raw)] = value_raw
    if sp.scales is not None:
        out[scale_off:end] = sp.scales.astype("<f4").tobytes()
    return bytes(out)


def decode(data: bytes) -> dict:
    """The ``NMSparse`` fields of bytes written by ``pack`` (``NMSparse.unpack`` builds the
    container from them); any inconsistency raises a one-line ValueError."""
    data = bytes(data)
    if len(data) < HEADER.size:
        raise ValueError(f"packed N:M data: {len(data)} bytes is shorter than the header")
    (magic, version, code, m, block, n_out, k, n_beats, index_off, value_off,
     scale_off) = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise ValueError(f"packed N:M data: bad magic {magic!r} (expected {MAGIC!r})")
    if version != VERSION:
        raise ValueError(f"packed N:M data: unsupported version {version}")
    if code not in CODE_BITS:
        raise ValueError(f"packed N:M data: unknown value code {code}")
    bits = CODE_BITS[code]
    check_m(m)
    if block < 1 or n_out % block or k % m:
        raise ValueError(f"packed N:M data: shape {n_out}x{k} does not tile into {block}x{m} "
                         "blocks")
    br, kb = n_out // block, k // m
    if HEADER.size + br * kb > len(data):
        raise ValueError("packed N:M data: truncated descriptor table")
    block_n = np.frombuffer(data, dtype=np.uint8, count=br * kb, offset=HEADER.size).reshape(br, kb)
    for n in np.unique(block_n):
        check_n(int(n), m, "packed N:M data: descriptor")
    mask, dest, beats = _pair_positions(block_n, block, m)
    layout = _layout(br * kb, beats, bits, n_out, scale_off != 0)
    if (n_beats, index_off, value_off, scale_off, len(data)) != (beats,) + layout:
        raise ValueError("packed N:M data: header offsets or length disagree with the descriptors "
                         f"({len(data)} bytes)")
    gaps = [(HEADER.size + br * kb, index_off), (index_off + beats * BEAT // 2, value_off)]
    if scale_off:
        gaps.append((value_off + beats * VALUE_BYTES[bits], scale_off))
    if any(any(data[a:b]) for a, b in gaps):
        raise ValueError("packed N:M data: non-zero alignment padding")
    stream_i = _bytes_to_nibbles(data[index_off:index_off + beats * BEAT // 2])
    raw_v = data[value_off:value_off + beats * VALUE_BYTES[bits]]
    if bits == 4:
        nib = _bytes_to_nibbles(raw_v).astype(np.int16)
        stream_v = np.where(nib >= 8, nib - 16, nib).astype(np.int8)    # sign-extend
    elif bits == 8:
        stream_v = np.frombuffer(raw_v, dtype=np.int8)
    else:
        stream_v = np.frombuffer(raw_v, dtype="<f4").astype(np.float32)
    pad = np.ones(beats * BEAT, dtype=bool)
    pad[dest] = False
    if np.any(stream_i[pad] != 0) or np.any(stream_v[pad].view(np.uint8 if bits else np.uint32)):
        raise ValueError("packed N:M data: beat padding pairs must be (value 0, index 0)")
    order = (br, kb, block, m)
    values = np.zeros(order, dtype=stream_v.dtype)
    indices = np.zeros(order, dtype=np.uint8)
    values[mask], indices[mask] = stream_v[dest], stream_i[dest]
    scales = None
    if scale_off:
        scales = np.frombuffer(data, dtype="<f4", count=n_out, offset=scale_off).astype(np.float32)
    return dict(values=values.transpose(0, 2, 1, 3).reshape(n_out, kb, m),
                indices=indices.transpose(0, 2, 1, 3).reshape(n_out, kb, m),
                block_n=block_n.copy(), m=m, block=block, bits=bits, scales=scales)

"""Binary encoding of instructions and program files (layout from :mod:`.isa`).

A program file is a 16-byte header followed by the instruction words, all little-endian:

====== ===== ==============================================================
offset bytes field
====== ===== ==============================================================
0      4     ``magic`` = ``b"BFPG"``
4      2     ``version`` = :data:`isa.ISA_VERSION`
6      2     ``reserved`` = 0
8      4     ``n_words``: number of 32-bit instruction words that follow
12     4     ``crc32`` of the instruction words (zlib.crc32)
====== ===== ==============================================================

Decoding checks structure first (so that an error names the instruction field that is wrong), then
the checksum (so that a flipped bit inside an otherwise legal value is still caught).
"""
from __future__ import annotations

import struct
import zlib
from typing import Iterable, Sequence

from ..base.errors import ProgramError
from . import isa

MAGIC = b"BFPG"
HEADER_BYTES = 16
_HEADER = struct.Struct("<4sHHII")


class ProgramFormatError(ProgramError):
    """A program file is truncated or corrupt; names the byte offset and the field."""

    def __init__(self, offset: int, field: str, message: str) -> None:
        super().__init__(f"byte {offset}: field '{field}': {message}")
        self.offset = offset
        self.field = field


def _total_bits(itype: isa.InstrType) -> int:
    return itype.words * isa.WORD_BITS


def _plan(itype: isa.InstrType) -> tuple:
    total = _total_bits(itype)
    fields = tuple((slot.field.name, total - slot.start - slot.field.width, slot.field.max)
                   for slot in itype.slots if slot.start >= isa.HEADER_BITS)
    header = (itype.opcode << (total - 4), total - 10, total - 16)
    return itype.words, header, fields


_PLANS = {name: _plan(t) for name, t in isa.TYPES.items()}


def encode_int(instr: isa.Instr) -> tuple[int, int]:
    """(the instruction as one big-endian integer of ``32 * words`` bits, words)."""
    words, (op_bits, wait_shift, release_shift), fields = _PLANS[instr.kind]
    value = op_bits | (instr.wait & 0x3F) << wait_shift | (instr.release & 0x3F) << release_shift
    args = instr.args
    for name, shift, mx in fields:
        value |= (args[name] & mx) << shift
    return value, words


def encode(instr: isa.Instr) -> list[int]:
    """The instruction's 32-bit words (word 0 first)."""
    value, words = encode_int(instr)
    return [value >> (isa.WORD_BITS * (words - 1 - w)) & 0xFFFFFFFF for w in range(words)]


def encode_bytes(instrs) -> bytes:
    """Little-endian instruction words of a sequence (the fast path used by the compiler)."""
    import numpy as np
    out = bytearray()
    for instr in instrs:
        value, words = encode_int(instr)
        out += value.to_bytes(4 * words, "big")
    return np.frombuffer(bytes(out), dtype=">u4").astype("<u4").tobytes()


def _used_bits(itype: isa.InstrType) -> int:
    return sum(slot.field.width for slot in itype.slots)


def decode(words: Sequence[int], start: int = 0, base_offset: int = 0) -> tuple[isa.Instr, int]:
    """Decode the instruction at ``words[start]``; returns it and its word count.

    ``base_offset`` is the byte offset of ``words[0]`` in the file, used in error messages.
    """
    def at(word: int) -> int:
        return base_offset + 4 * (start + word)

    w0 = words[start]
    opcode = w0 >> 28
    itype = isa.BY_OPCODE.get(opcode)
    if itype is None:
        raise ProgramFormatError(at(0), "opcode", f"invalid opcode {opcode:#x} "
                                 f"(word {w0:#010x})")
    remain = len(words) - start
    if remain < itype.words:
        first_missing = next(s for s in itype.slots if s.last_word >= remain)
        raise ProgramFormatError(at(remain), first_missing.field.name,
                                 f"{itype.name} instruction truncated (needs {itype.words} "
                                 f"words, {remain} remain)")
    total = _total_bits(itype)
    value = 0
    for w in range(itype.words):
        value = value << isa.WORD_BITS | words[start + w]
    header: dict[str, int] = {}
    args: dict[str, int] = {}
    for slot in itype.slots:
        f = slot.field
        v = value >> (total - slot.start - f.width) & f.max
        why = isa.field_error(itype, f, v, itype.queue)
        if why:
            raise ProgramFormatError(at(slot.word), f.name, f"{itype.name}: {why}")
        (header if slot.start < isa.HEADER_BITS else args)[f.name] = v
    spare = total - _used_bits(itype)
    if value & ((1 << spare) - 1):
        raise ProgramFormatError(at(itype.words - 1), "reserved", f"{itype.name}: the low "
                                 f"{spare} reserved bits of the last word are not zero")
    return isa.Instr(itype.name, args, header["wait"], header["release"]), itype.words


def encode_words(instrs: Iterable[isa.Instr]) -> list[int]:
    out: list[int] = []
    for instr in instrs:
        out.extend(encode(instr))
    return out


def decode_words(words: Sequence[int], base_offset: int = 0) -> list[isa.Instr]:
    out, i = [], 0
    while i < len(words):
        instr, n = decode(words, i, base_offset)
        out.append(instr)
        i += n
    return out


def words_to_bytes(words: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(words)}I", *words)


def encode_program(instrs: Iterable[isa.Instr]) -> bytes:
    """A complete program file (header + words)."""
    return wrap(words_to_bytes(encode_words(instrs)))


def wrap(body: bytes) -> bytes:
    """A program file around already encoded little-endian instruction words."""
    return _HEADER.pack(MAGIC, isa.ISA_VERSION, 0, len(body) // 4, zlib.crc32(body)) + body


def decode_program(data: bytes) -> list[isa.Instr]:
    """Parse a program file; any defect raises :class:`ProgramFormatError`."""
    if len(data) < HEADER_BYTES:
        names = ("magic", "version", "reserved", "n_words", "crc32")
        ends = (4, 6, 8, 12, 16)
        field = next(n for n, e in zip(names, ends) if len(data) < e)
        raise ProgramFormatError(len(data), field, f"file truncated in the header "
                                 f"({len(data)} of {HEADER_BYTES} bytes)")
    magic, version, reserved, n_words, crc = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProgramFormatError(0, "magic", f"expected {MAGIC!r}, got {magic!r} "
                                 "(not a bitflight program)")
    if version != isa.ISA_VERSION:
        raise ProgramFormatError(4, "version", f"ISA version {version}, this tool reads "
                                 f"{isa.ISA_VERSION}")
    if reserved:
        raise ProgramFormatError(6, "reserved", f"expected 0, got {reserved}")
    body = data[HEADER_BYTES:]
    if len(body) % 4:
        raise ProgramFormatError(len(data), "n_words", f"body of {len(body)} bytes is not a "
                                 "whole number of 32-bit words")
    if len(body) // 4 != n_words:
        where = HEADER_BYTES + 4 * min(n_words, len(body) // 4)
        raise ProgramFormatError(where, "n_words", f"header says {n_words} words, file holds "
                                 f"{len(body) // 4} (truncated or extended)")
    words = struct.unpack(f"<{n_words}I", body)
    instrs = decode_words(words, HEADER_BYTES)
    if zlib.crc32(body) != crc:
        raise ProgramFormatError(12, "crc32", f"checksum {zlib.crc32(body):#010x} does not "
                                 f"match the header's {crc:#010x} (corrupt instruction words)")
    return instrs

"""The ISA tables, binary encoding and program files (compiler/isa.py, compiler/encoding.py)."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

from bitflight.compiler import encoding, isa
from isa_strategies import instrs, programs


def test_layout_is_dense_and_header_first():
    for t in isa.TYPES.values():
        starts = [s.start for s in t.slots]
        widths = [s.field.width for s in t.slots]
        assert starts[0] == 0 and [s.field.name for s in t.slots[:3]] == ["opcode", "wait",
                                                                          "release"]
        assert all(a + w == b for a, w, b in zip(starts, widths, starts[1:]))
        assert t.words == -(-sum(widths) // 32)
        assert len(set(t.field_names)) == len(t.fields)


def test_opcodes_are_unique_and_match_flightllm():
    assert {t.name: t.opcode for t in isa.TYPES.values()} == {
        "LD": 1, "ST": 2, "MM": 3, "MV": 4, "MISC": 5, "SYS": 15}
    assert {t.queue for t in isa.TYPES.values()} == set(isa.Queue)


def test_hand_encoded_sys_word():
    # opcode 1111, wait = {MM} (bit 2), release = {LD} (bit 0), op END = 2, imm = 0x0AB
    instr = isa.make("SYS", wait=["MM"], release=["LD"], op=isa.SysOp.END, imm=0xAB)
    expected = 0xF << 28 | 0b000100 << 22 | 0b000001 << 16 | 2 << 12 | 0xAB
    assert encoding.encode(instr) == [expected]


def test_hand_encoded_ld_straddling_field():
    # buf_addr is 20 bits starting at bit 19 of the stream: w0[6:0] + w1[31:19]
    instr = isa.make("LD", buf=isa.Buf.WGT, channel=3, buf_addr=0xFFFFF)
    words = encoding.encode(instr)
    assert words[0] == 0x1 << 28 | 1 << 13 | 3 << 7 | 0x7F
    assert words[1] == 0x1FFF << 19
    assert words[2:] == [0] * 5


@given(instrs())
def test_instruction_round_trip(instr):
    words = encoding.encode(instr)
    assert len(words) == instr.type.words and all(0 <= w < 2**32 for w in words)
    decoded, n = encoding.decode(words)
    assert decoded == instr and n == len(words)


def test_gather_ld_fields_fit_the_seven_ld_words():
    # LD: 16 header + 182 DMA bits + zero_fill = 199, then gather (1) + idx_addr (20) = 220 <= 224
    ld = isa.TYPES["LD"]
    assert ld.words == 7 and ld.field_names[-3:] == ("zero_fill", "gather", "idx_addr")
    words = encoding.encode(isa.make("LD", gather=1, idx_addr=0xFFFFF))
    assert words[:6] == [0x1 << 28] + [0] * 5
    assert words[6] == (1 << 20 | 0xFFFFF) << 4          # bits 220..223 stay reserved


@given(instrs("LD", gather=1))
def test_gather_ld_round_trip(instr):
    decoded, n = encoding.decode(encoding.encode(instr))
    assert decoded == instr and decoded["gather"] == 1 and n == 7


@given(programs)
def test_program_round_trip(instrs_):
    data = encoding.encode_program(instrs_)
    assert encoding.decode_program(data) == instrs_
    n_words = sum(i.type.words for i in instrs_)
    assert len(data) == encoding.HEADER_BYTES + 4 * n_words
    assert struct.unpack_from("<I", data, 8)[0] == n_words


@settings(max_examples=30)
@given(programs, st.data())
def test_truncated_program_names_offset_and_field(instrs_, data):
    blob = encoding.encode_program(instrs_)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(encoding.ProgramFormatError) as err:
        encoding.decode_program(blob[:cut])
    assert err.value.offset <= cut and err.value.field in str(err.value)
    assert str(err.value).startswith(f"byte {err.value.offset}: field '")


def test_truncated_instruction_names_the_missing_field():
    words = encoding.encode_words([isa.make("MM", m=1)])
    with pytest.raises(encoding.ProgramFormatError) as err:
        encoding.decode_words(words[:2], base_offset=16)
    # words 0-1 hold 64 bits: header(16) engine a_dt b_dt o_dt(14) m(16) n(16) = 62 -> k straddles
    assert err.value.field == "k" and err.value.offset == 16 + 8


@settings(max_examples=20)
@given(programs, st.data())
def test_every_single_bit_flip_is_rejected(instrs_, data):
    blob = bytearray(encoding.encode_program(instrs_))
    bit = data.draw(st.integers(0, 8 * len(blob) - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(encoding.ProgramFormatError):
        encoding.decode_program(bytes(blob))


def _patched(instr: isa.Instr, word: int, value: int) -> bytes:
    words = encoding.encode_words([instr])
    words[word] = value
    body = encoding.words_to_bytes(words)
    import zlib
    return struct.pack("<4sHHII", b"BFPG", 1, 0, len(words), zlib.crc32(body)) + body


def test_invalid_opcode_error():
    with pytest.raises(encoding.ProgramFormatError, match=r"^byte 16: field 'opcode'"):
        encoding.decode_program(_patched(isa.make("SYS"), 0, 0x7 << 28))


def test_invalid_enum_value_names_field():
    # SYS op=0xF is not a SysOp
    with pytest.raises(encoding.ProgramFormatError, match=r"^byte 16: field 'op': SYS: value 15"):
        encoding.decode_program(_patched(isa.make("SYS"), 0, 0xF << 28 | 0xF << 12))


def test_self_wait_bit_rejected():
    with pytest.raises(encoding.ProgramFormatError, match="field 'wait'.*own queue SYS"):
        encoding.decode_program(_patched(isa.make("SYS"), 0, 0xF << 28 | 1 << (22 + 5)))
    with pytest.raises(ValueError, match="field 'release'"):
        isa.make("LD", release=["LD"])


def test_reserved_bits_rejected():
    words = encoding.encode_words([isa.make("MM")])
    with pytest.raises(encoding.ProgramFormatError, match="field 'reserved'"):
        encoding.decode_program(_patched(isa.make("MM"), len(words) - 1, 1))


def test_bad_header_fields():
    good = encoding.encode_program([isa.make("SYS")])
    with pytest.raises(encoding.ProgramFormatError, match=r"^byte 0: field 'magic'"):
        encoding.decode_program(b"ELF!" + good[4:])
    with pytest.raises(encoding.ProgramFormatError, match=r"^byte 4: field 'version'"):
        encoding.decode_program(good[:4] + b"\x09\x00" + good[6:])
    with pytest.raises(encoding.ProgramFormatError, match=r"field 'n_words'"):
        encoding.decode_program(good + b"\0\0\0\0")
    with pytest.raises(encoding.ProgramFormatError, match=r"^byte 12: field 'crc32'"):
        other = _patched(isa.make("SYS"), 0, 0xF << 28 | 5)   # legal SYS imm=5, own checksum
        encoding.decode_program(other[:12] + good[12:16] + other[16:])


def test_make_rejects_bad_fields():
    with pytest.raises(ValueError, match="unknown field"):
        isa.make("LD", bogus=1)
    with pytest.raises(ValueError, match="field 'count1': value 65536 does not fit in 16 bits"):
        isa.make("LD", count1=1 << 16)
    with pytest.raises(ValueError, match="unknown instruction type 'JMP'"):
        isa.make("JMP")


@given(programs)
def test_fast_byte_encoder_equals_word_encoder(instrs_):
    assert encoding.encode_bytes(instrs_) == encoding.words_to_bytes(
        encoding.encode_words(instrs_))

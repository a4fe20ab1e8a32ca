"""Version 2 of the packed layout (blocks of B rows, chunks of L columns), checked bit by bit
against the formula in docs/formats.md §3 and round-tripped on random shapes."""
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bitflight.golden import quant
from bitflight.golden.quant import packing

HEADER = "<4sHBBBBBBIIIIIIIIIIIIHH"


def _bits(blob, offset, bit, width):
    """``width`` bits at LSB-first stream bit ``bit`` of the section at byte ``offset``."""
    whole = int.from_bytes(blob[offset:], "little")
    return (whole >> bit) & ((1 << width) - 1)


def _code_bit(n, k, n_rows, ng, g, lanes, block, bits, full=False):
    """docs/formats.md's position of element (n, k), written out without the packer's reshapes."""
    n0 = n - n % block
    bq = block if full else min(block, n_rows - n0)
    grp, c, lane = k // g, (k % g) // lanes, k % lanes
    return n0 * ng * g * bits + ((grp * (g // lanes) + c) * bq + (n - n0)) * lanes * bits \
        + lane * bits


@pytest.mark.parametrize("bits,mode,full", [(3, "fp16", False), (4, "int", False),
                                            (3, "fp16", True), (4, "int", True)])
def test_blocked_layout_bit_by_bit(bits, mode, full):
    """Blocks of 3, 3, 1 rows; with full blocks the last is stored as 3 (2 rows of zeros)."""
    rng = np.random.default_rng(bits)
    n_rows, k_cols, g, lanes, block = 7, 80, 32, 4, 3
    w = torch.tensor(rng.standard_normal((n_rows, k_cols)), dtype=torch.float32)
    qw = quant.quantize(w, "bitmod", bits, group_size=g, pad=True, scale_mode=mode)
    blob = qw.pack(block, lanes, full=full)
    h = struct.unpack_from(HEADER, blob)
    assert h[0] == b"BFQW" and h[1] == 2 and h[-2:] == (block, lanes) and h[7] == int(full)
    assert h[19] == zlib.crc32(blob[64:]) and h[18] == len(blob)
    off_codes, off_ids, off_scales, off_rows = h[13:17]
    ng = 3
    for n in range(n_rows):
        for k in range(ng * g):
            want = int(qw.codes[n, k]) if k < k_cols else 0      # padding: the code of +0
            at = _code_bit(n, k, n_rows, ng, g, lanes, block, bits, full)
            assert _bits(blob, off_codes, at, bits) == want, (n, k)
    stored = 9 if full else 7
    assert off_ids - off_codes >= stored * ng * g * bits // 8
    if full:                                   # rows 7 and 8 of the last block: zero codes
        for n in (7, 8):
            for k in range(ng * g):
                assert _bits(blob, off_codes, _code_bit(n, k, 9, ng, g, lanes, block, bits,
                                                        True), bits) == 0
    for n in range(n_rows):
        n0 = n - n % block
        bq = block if full else min(block, n_rows - n0)
        for grp in range(ng):
            entry = n0 * ng + grp * bq + n % block
            assert _bits(blob, off_ids, 2 * entry, 2) == qw.dtype_ids[n, grp]
            if mode == "int":
                assert blob[off_scales + entry] == qw.int_scales[n, grp]
            else:
                stored = np.float16(qw.scales[n, grp] * qw.unit).view(np.uint16)
                assert _bits(blob, off_scales, 16 * entry, 16) == stored
    if mode == "int":                          # row scales keep the row order
        assert blob[off_rows:off_rows + 2 * n_rows] == qw.row_scales.astype("<f2").tobytes()


def test_a_beat_is_contiguous():
    """An engine of R rows (R divides B) and L lanes reads rows r0 .. r0 + R - 1 of one chunk as
    one field: consecutive beats of a tile sit ``Bq * L * b`` bits apart."""
    w = torch.randn(16, 64)
    qw = quant.quantize(w, "bitmod", 4, group_size=32)
    blob = qw.pack(8, 4)
    off = struct.unpack_from(HEADER, blob)[13]
    rows, r0 = 4, 4
    for beat in range(64 // 4):
        field = _bits(blob, off, (beat * 8 + r0) * 16, rows * 16)
        for r in range(rows):
            for lane in range(4):
                code = (field >> ((r * 4 + lane) * 4)) & 15
                assert code == qw.codes[r0 + r, beat * 4 + lane]


def test_block_one_and_chunk_g_is_version_1():
    qw = quant.quantize(torch.randn(5, 64), "bitmod", 3, group_size=32)
    assert qw.pack(1, 32) == qw.pack() == qw.pack(1)
    assert struct.unpack_from(HEADER, qw.pack())[1] == 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), ng=st.integers(1, 3), block=st.integers(1, 24),
       chunk_log=st.integers(0, 5), scheme=st.sampled_from(
           [("bitmod", 3, "fp16"), ("bitmod", 4, "int"), ("int_asym", 4, "fp16"),
            ("ant", 4, "fp16"), ("int_sym", 8, "fp16")]), seed=st.integers(0, 2**16),
       full=st.booleans())
def test_round_trip(n, ng, block, chunk_log, scheme, seed, full):
    name, bits, mode = scheme
    g = 32
    k = ng * g - (seed % 17)                                  # a partial last group, often
    w = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32))
    qw = quant.quantize(w, name, bits, group_size=g, pad=True, scale_mode=mode)
    full = full and packing.is_blocked(g, block, 1 << chunk_log)
    blob = qw.pack(block, 1 << chunk_log, full=full)
    back = quant.QuantizedWeight.unpack(blob)
    assert back == qw
    assert back.pack(block, 1 << chunk_log, full=full) == blob
    if not full:                              # G * b is a whole number of bytes: same sizes
        assert len(blob) == len(qw.pack())
    else:                                     # the padding rows: the sizes of whole blocks
        stored = -(-n // block) * block
        _, total = packing.layout(n, ng, g, bits, qw.id_bits, mode, name == "int_asym", True,
                                  stored)
        assert len(blob) == total


@pytest.mark.parametrize("block,chunk,why", [(0, 4, "block 0"), (2, 0, "chunk 0"),
                                             (2, 5, "L divides G"), (1, 32, "B = 1 with L = G")])
def test_bad_version_2_header(block, chunk, why):
    blob = bytearray(quant.quantize(torch.randn(4, 32), "bitmod", 4, group_size=32).pack(2, 4))
    struct.pack_into("<HH", blob, 60, block, chunk)
    struct.pack_into("<I", blob, 56, zlib.crc32(bytes(blob[64:])))
    with pytest.raises(ValueError, match="version 2 block"):
        quant.QuantizedWeight.unpack(bytes(blob))


@pytest.mark.parametrize("flags,version", [(2, 2), (1, 1), (0x83, 2), (0x20, 1)])
def test_bad_flags(flags, version):
    blob = bytearray(quant.quantize(torch.randn(4, 32), "bitmod", 4, group_size=32)
                     .pack(*((2, 4) if version == 2 else ())))
    blob[11] = flags
    with pytest.raises(ValueError, match="flags"):
        quant.QuantizedWeight.unpack(bytes(blob))


def test_full_blocks_and_alignment_need_version_2():
    qw = quant.quantize(torch.randn(4, 32), "bitmod", 4, group_size=32)
    for kw in ({"full": True}, {"align": 32}):
        with pytest.raises(ValueError, match="need version 2"):
            qw.pack(**kw)
    with pytest.raises(ValueError, match="section alignment 24 is not a power of two"):
        qw.pack(2, 4, align=24)


@pytest.mark.parametrize("align", [8, 32, 2048])
def test_sections_at_the_alignment(align):
    """Bits 4-7 of the flags: every section at a multiple of ``8 << a`` bytes; the tile unpacks
    to the same weight, and a header whose alignment does not match its offsets is refused."""
    qw = quant.quantize(torch.randn(7, 80), "bitmod", 3, group_size=32, pad=True,
                        scale_mode="int")
    blob = qw.pack(3, 4, True, align)
    h = struct.unpack_from(HEADER, blob)
    assert h[7] == 1 | ((align // 8).bit_length() - 1) << 4
    assert all(o % align == 0 for o in h[13:18]) and h[13] == max(64, align)
    assert quant.QuantizedWeight.unpack(blob) == qw
    bad = bytearray(blob)
    bad[11] ^= 0x10
    with pytest.raises(ValueError, match="section offsets"):
        quant.QuantizedWeight.unpack(bytes(bad))


def test_version_1_with_a_layout_is_refused():
    blob = bytearray(quant.quantize(torch.randn(4, 32), "bitmod", 4, group_size=32).pack())
    struct.pack_into("<HH", blob, 60, 2, 4)
    with pytest.raises(ValueError, match="version 1 with block 2"):
        quant.QuantizedWeight.unpack(bytes(blob))


def test_bad_layout_arguments():
    qw = quant.quantize(torch.randn(4, 32), "bitmod", 4, group_size=32)
    with pytest.raises(ValueError, match="chunk a divisor of the group 32"):
        qw.pack(4, 5)
    with pytest.raises(ValueError, match="block 0"):
        qw.pack(0, 4)


def test_to_blocked_inverse_of_from_blocked():
    a = np.arange(7 * 12).reshape(7, 12)
    flat = packing.to_blocked(a, 3, 4)
    assert np.array_equal(packing.from_blocked(flat, 7, 12, 3, 4), a)
    # block 0 (rows 0-2), chunk 0 holds rows 0, 1, 2's first four columns in turn
    assert list(flat[:12]) == [0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27]

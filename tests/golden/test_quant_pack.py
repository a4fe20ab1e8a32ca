"""The packed layout, checked bit by bit against the description in docs/formats.md."""
import struct
import zlib

import numpy as np
import pytest
import torch

from bitflight.golden import quant


def _stream(values, width):
    """Independent LSB-first packing: one big integer, little-endian bytes."""
    acc = 0
    for i, v in enumerate(values):
        acc |= int(v) << (i * width)
    return acc.to_bytes(-(-len(values) * width // 8), "little")


def _header(blob):
    return struct.unpack_from("<4sHBBBBBBIIIIIIIIIIIII", blob)


@pytest.mark.parametrize("bits", [3, 4])
def test_bitmod_layout_bit_by_bit(bits):
    rng = np.random.default_rng(bits)
    w = torch.tensor(rng.standard_normal((3, 80)) * 0.02, dtype=torch.float32)
    qw = quant.quantize(w, "bitmod", bits, group_size=32, pad=True)    # 3 groups, last half empty
    blob = qw.pack()
    (magic, version, scheme, b, mode, id_bits, zp_bits, _r, n, k, g, ng, rec,
     off_codes, off_ids, off_scales, off_rows, off_zp, total, crc, _r2) = _header(blob)
    assert (magic, version, scheme, b, mode, id_bits, zp_bits) == (b"BFQW", 1, 0, bits, 0, 2, 0)
    assert (n, k, g, ng, rec) == (3, 80, 32, 3, 32 * bits // 8)
    assert off_codes == 64 and total == len(blob) and crc == zlib.crc32(blob[64:])
    for row in range(3):
        for grp in range(3):
            codes = list(qw.codes[row, grp * 32:(grp + 1) * 32])
            codes += [0] * (32 - len(codes))              # padding: the code of +0 is 0
            start = off_codes + (row * 3 + grp) * rec
            assert blob[start:start + rec] == _stream(codes, bits)
    ids = _stream(qw.dtype_ids.reshape(-1), 2)
    assert off_ids == -(-(off_codes + 9 * rec) // 8) * 8
    assert blob[off_ids:off_ids + len(ids)] == ids
    unit16 = (qw.scales.astype(np.float64) * (0.5 if bits == 4 else 1.0)).astype("<f2")
    assert blob[off_scales:off_scales + 18] == unit16.tobytes()
    assert off_rows == off_zp == total == -(-(off_scales + 18) // 8) * 8


def test_int_mode_sections():
    w = torch.randn(2, 256)
    qw = quant.quantize(w, "bitmod", 4, scale_mode="int")
    blob = qw.pack()
    h = _header(blob)
    assert h[4] == 1                                                     # scale mode int
    off_scales, off_rows = h[15], h[16]
    assert blob[off_scales:off_scales + 4] == qw.int_scales.astype(np.uint8).tobytes()
    assert blob[off_rows:off_rows + 4] == qw.row_scales.astype("<f2").tobytes()


def test_int_asym_padding_uses_the_zero_point_and_stores_it():
    w = torch.randn(1, 20) + 1.0
    qw = quant.quantize(w, "int_asym", 4, group_size=16, pad=True)
    blob = qw.pack()
    h = _header(blob)
    zp = qw.zero_points[0]
    record = blob[64 + 8:64 + 16]                                        # second group's record
    assert record == _stream(list(qw.codes[0, 16:]) + [zp[1]] * 12, 4)
    assert blob[h[17]:h[17] + 2] == zp.tobytes()


def test_mx_scales_are_biased_exponents():
    w = torch.zeros(1, 64)
    w[0, 0], w[0, 32] = 6.0, 2.0 ** -20 * 5                  # e = 2 - 2 = 0; e = -18 - 2 = -20
    blob = quant.quantize(w, "mx", 4).pack()
    h = _header(blob)
    assert h[4] == 2 and blob[h[15]:h[15] + 2] == bytes([127, 107])

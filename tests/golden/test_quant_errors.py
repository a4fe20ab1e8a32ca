"""Every rejected argument of quantize / unpack raises a ValueError that names it."""
import numpy as np
import pytest
import torch

from bitflight.golden import quant

W = torch.randn(4, 256)


@pytest.mark.parametrize("kwargs,match", [
    (dict(scheme="bitmod", bits=5), r"^bits: scheme 'bitmod' supports 3, 4 bits, got 5"),
    (dict(scheme="bitmod", bits=True), r"^bits:"),
    (dict(scheme="int_sym", bits=5), r"^bits:"),
    (dict(scheme="fp", bits=8), r"^bits:"),
    (dict(scheme="ant", bits=6), r"^bits:"),
    (dict(scheme="mx", bits=3), r"^bits:"),
    (dict(scheme="nf4", bits=3), r"^bits:"),
    (dict(scheme="int_asym", bits=1), r"^bits:"),
    (dict(scheme="gptq", bits=4), r"^scheme: unknown 'gptq'"),
    (dict(scheme="bitmod", bits=4, group_size=96), r"^group_size: 96 does not divide .* K=256"),
    (dict(scheme="bitmod", bits=4, group_size=0), r"^group_size: expected a positive integer"),
    (dict(scheme="bitmod", bits=4, group_size=2.5), r"^group_size:"),
    (dict(scheme="mx", bits=4, group_size=128), r"^group_size: mx uses OCP blocks of 32"),
    (dict(scheme="bitmod", bits=4, scale_mode="fp8"), r"^scale_mode:"),
    (dict(scheme="mx", bits=4, scale_mode="int"), r"^scale_mode: scheme 'mx'"),
    (dict(scheme="bitmod", bits=4, scale_mode="e8m0"), r"^scale_mode:"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quant.quantize(W, **kwargs)


@pytest.mark.parametrize("weight,match", [
    (torch.randint(0, 5, (4, 128)), r"^weight: dtype torch.int64 is not a floating-point"),
    (np.ones((4, 128), dtype=np.int32), r"^weight: dtype int32 is not a floating-point"),
    (torch.randn(128), r"^weight: expected a 2-D .* got shape \(128,\)"),
    (torch.randn(2, 4, 128), r"^weight: expected a 2-D"),
    (torch.zeros(0, 128), r"^weight: empty tensor"),
    ([[1.0] * 128], r"^weight: expected a torch tensor, got list"),
    (torch.full((2, 128), float("nan")), r"^weight: contains NaN"),
    (torch.full((2, 128), 1e5), r"^weight: max \|w\| = 100000 exceeds the fp16 range"),
])
def test_bad_weights(weight, match):
    with pytest.raises(ValueError, match=match):
        quant.quantize(weight, "bitmod", 4)


def test_pad_flag_allows_partial_group():
    qw = quant.quantize(W[:, :200], "bitmod", 4, pad=True)
    assert qw.codes.shape == (4, 200) and qw.dtype_ids.shape == (4, 2)


def test_numpy_float_input_is_accepted():
    qw = quant.quantize(W.numpy(), "int_sym", 4)
    assert qw == quant.quantize(W, "int_sym", 4)


@pytest.fixture
def blob():
    return quant.quantize(W, "bitmod", 4).pack()


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:40], r"shorter than the 64-byte header"),
    (lambda b: b"XXXX" + b[4:], r"bad magic"),
    (lambda b: b[:4] + b"\x09\x00" + b[6:], r"unsupported version 9"),
    (lambda b: b[:-1], r"header says \d+ bytes, got"),
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], r"CRC-32 mismatch"),
    (lambda b: b[:6] + b"\x63" + b[7:], r"unknown scheme id 99"),
])
def test_unpack_rejects_malformed(blob, mutate, match):
    with pytest.raises(ValueError, match=match):
        quant.QuantizedWeight.unpack(mutate(blob))


def test_unpack_rejects_bad_scale_and_code():
    import zlib
    blob = bytearray(quant.quantize(W, "int_sym", 4).pack())
    off_scales = int.from_bytes(blob[40:44], "little")
    blob[off_scales:off_scales + 2] = bytes([0x00, 0x7C])            # fp16 +inf
    blob[56:60] = zlib.crc32(bytes(blob[64:])).to_bytes(4, "little")
    with pytest.raises(ValueError, match="scale is negative, infinite or NaN"):
        quant.QuantizedWeight.unpack(bytes(blob))
    blob = bytearray(quant.quantize(W, "int_sym", 4).pack())
    blob[64] = 0x08                                                   # int4 code -8 is unused
    blob[56:60] = zlib.crc32(bytes(blob[64:])).to_bytes(4, "little")
    with pytest.raises(ValueError, match=r"code 0x8 at \(0, 0\) is unused in int4"):
        quant.QuantizedWeight.unpack(bytes(blob))


def test_unpack_rejects_non_bytes():
    with pytest.raises(ValueError, match=r"^data: expected bytes"):
        quant.QuantizedWeight.unpack("BFQW")

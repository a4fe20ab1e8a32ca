"""Packed N:M layout: hand-worked bytes, an independent loop serializer, round trips, corruption."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitflight.golden import sparse


def reference_pack(sp: sparse.NMSparse) -> bytes:
    """Serializer written from the docs/sparsity.md description, one pair at a time."""
    n_out, k = sp.shape
    br, kb = sp.block_n.shape
    pairs = []                                    # (value, index) in stream order, with padding
    for b_r in range(br):
        for b_k in range(kb):
            n = int(sp.block_n[b_r, b_k])
            block_pairs = []
            for r in range(b_r * sp.block, (b_r + 1) * sp.block):
                vals, idx = sp.kept(r, b_k)
                block_pairs += list(zip(vals.tolist(), idx.tolist()))
            assert len(block_pairs) == sp.block * n
            while len(block_pairs) % 16:
                block_pairs.append((0, 0))
            pairs += block_pairs
    beats = len(pairs) // 16

    def align(x):
        return (x + 15) // 16 * 16
    index_off = align(32 + br * kb)
    value_off = align(index_off + 8 * beats)
    per_beat = {None: 64, 4: 8, 8: 16}[sp.bits]
    value_end = value_off + per_beat * beats
    scale_off = align(value_end) if sp.scales is not None else 0
    out = bytearray(scale_off + 4 * n_out if sp.scales is not None else value_end)
    out[0:32] = struct.pack("<4sBBBBIIIIII", b"BFNM", 1, {None: 0, 4: 4, 8: 8}[sp.bits], sp.m,
                            sp.block, n_out, k, beats, index_off, value_off, scale_off)
    for i, n in enumerate(sp.block_n.ravel()):
        out[32 + i] = int(n)
    for p, (v, idx) in enumerate(pairs):
        out[index_off + p // 2] |= idx << (4 * (p % 2))
        if sp.bits == 4:
            out[value_off + p // 2] |= (v & 0xF) << (4 * (p % 2))
        elif sp.bits == 8:
            out[value_off + p] = v & 0xFF
        else:
            out[value_off + 4 * p:value_off + 4 * p + 4] = struct.pack("<f", v)
    for r in range(n_out if sp.scales is not None else 0):
        out[scale_off + 4 * r:scale_off + 4 * r + 4] = struct.pack("<f", sp.scales[r])
    return bytes(out)


def test_hand_worked_int4_block():
    w = np.zeros((16, 16), dtype=np.int8)
    w[:, 3], w[:, 10] = -3, 5
    w[:, 0] = 1                                    # smaller magnitude: pruned at N=2
    sp = sparse.prune_nm(w, n=2, bits=4)
    data = sp.pack()
    assert len(data) == 80
    header = b"BFNM" + bytes([1, 4, 16, 16]) + struct.pack("<IIIIII", 16, 16, 2, 48, 64, 0)
    assert data[:32] == header
    assert data[32] == 2 and data[33:48] == bytes(15)
    assert data[48:64] == bytes([0xA3]) * 16       # index 3 in bits 3..0, index 10 in bits 7..4
    assert data[64:80] == bytes([0x5D]) * 16       # -3 = 0xD low nibble, 5 high nibble


def test_hand_worked_int8_row_order_and_scales():
    w = np.zeros((16, 16), dtype=np.float32)
    for r in range(16):
        w[r, r] = r + 1.0                          # row r keeps index r (and index 0 or 1 on ties)
    sp = sparse.prune_nm(w, n=2).quantize_int(8)
    data = sp.pack()
    idx = np.frombuffer(data[48:64], dtype=np.uint8)
    nibbles = np.stack([idx & 0xF, idx >> 4], 1).ravel()
    expected = [0, 1] + [i for row in range(1, 16) for i in (0, row)]
    assert nibbles.tolist() == expected             # row 0: 0,1; row r: 0 (tie, lowest), r
    vals = np.frombuffer(data[64:96], dtype=np.int8)
    assert vals.tolist() == [127, 0] + [v for _ in range(15) for v in (0, 127)]
    assert struct.unpack_from("<I", data, 28)[0] == 96
    # per-row scales are fp16 quotients (quant_int), stored as float32
    assert np.frombuffer(data[96:160], dtype="<f4").tolist() == \
        [float(np.float16(np.float16(r + 1) / np.float16(127))) for r in range(16)]


@st.composite
def nm_matrices(draw):
    m = draw(st.sampled_from((4, 8, 16)))
    block = draw(st.sampled_from((1, 3, 16)))
    br, kb = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    options = [0] + [d for d in (1, 2, 4, 8, 16) if d <= m]
    block_n = np.array(draw(st.lists(st.sampled_from(options), min_size=br * kb,
                                     max_size=br * kb))).reshape(br, kb)
    kind = draw(st.sampled_from(("float", "int4", "int8", "int8+scales")))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (br * block, kb * m)
    if kind == "int4":
        return sparse.prune_nm(rng.integers(-8, 8, shape), n=block_n, m=m, block=block, bits=4)
    if kind == "int8":
        return sparse.prune_nm(rng.integers(-128, 128, shape).astype(np.int8), n=block_n, m=m,
                               block=block)
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < 0.1] = -0.0              # signed zeros must survive bit-exactly
    sp = sparse.prune_nm(w, n=block_n, m=m, block=block)
    return sp.quantize_int(8) if kind == "int8+scales" else sp


@settings(max_examples=150, deadline=None)
@given(nm_matrices())
def test_round_trip_and_reference_bytes(sp):
    data = sp.pack()
    assert data == reference_pack(sp)
    back = sparse.NMSparse.unpack(data)
    assert back == sp
    assert back.pack() == data
    assert np.array_equal(back.to_dense().numpy().view(np.uint8),
                          sp.to_dense().numpy().view(np.uint8))


def test_module_level_pack_matches_method_and_sizes():
    w = np.random.default_rng(0).standard_normal((1536, 576)).astype(np.float32)
    sp = sparse.prune_nm(w, density=0.5).quantize_int(4)
    data = sparse.pack(sp)
    assert data == sp.pack() and sparse.unpack(data) == sp
    beats = sp.nnz // 16
    # 4-bit value + 4-bit index per kept weight, 1 byte per block, 4 bytes per row scale, header
    assert len(data) == 32 + 96 * 36 + beats * 16 + 4 * 1536


def _corrupt(data: bytes, offset: int, value: int) -> bytes:
    b = bytearray(data)
    b[offset] = value
    return bytes(b)


def test_unpack_rejects_corruption():
    w = np.random.default_rng(1).integers(-8, 8, (16, 32))
    data = sparse.prune_nm(w, n=np.array([[2, 4]]), bits=4).pack()
    cases = [
        (data[:20], "shorter than the header"),
        (b"XXXX" + data[4:], "bad magic"),
        (_corrupt(data, 4, 2), "unsupported version"),
        (_corrupt(data, 5, 3), "unknown value code"),
        (_corrupt(data, 6, 12), "m: must be a power of two"),
        (_corrupt(data, 32, 3), "descriptor: N=3"),
        (_corrupt(data, 32, 4), "header offsets or length disagree"),
        (data + b"\0", "header offsets or length disagree"),
        (_corrupt(data, 40, 1), "non-zero alignment padding"),
    ]
    for bad, match in cases:
        with pytest.raises(ValueError, match=match):
            sparse.NMSparse.unpack(bad)
    # descending indices in row 0 of block 0: swap the two index nibbles of its first pair
    first = data[48]
    swapped = _corrupt(data, 48, (first >> 4) | ((first & 0xF) << 4))
    with pytest.raises(ValueError, match="strictly ascending"):
        sparse.NMSparse.unpack(swapped)


def test_unpack_rejects_nonzero_beat_padding():
    w = np.random.default_rng(2).integers(-8, 8, (3, 16))
    sp = sparse.prune_nm(w, n=2, block=3, bits=4)          # 6 pairs: beat padded with 10 pairs
    data = sp.pack()
    index_off = struct.unpack_from("<I", data, 20)[0]
    with pytest.raises(ValueError, match="beat padding"):
        sparse.NMSparse.unpack(_corrupt(data, index_off + 7, 0x11))


@settings(max_examples=40, deadline=None)
@given(nm_matrices())
def test_beats_follow_the_stream_and_compute_the_matmul(sp):
    stream = sparse.beats(sp)
    n_beats = stream.values.shape[0]
    data = sp.pack()
    index_off = struct.unpack_from("<I", data, 20)[0]
    assert stream.indices.shape == (n_beats, 16)
    nib = np.frombuffer(data[index_off:index_off + 8 * n_beats], dtype=np.uint8)
    assert np.array_equal(np.stack([nib & 0xF, nib >> 4], 1).ravel(), stream.indices.ravel())
    # accumulate beat by beat, pair by pair, as a chain with a sparse mux would
    rng = np.random.default_rng(0)
    n_out, k = sp.shape
    x = rng.integers(-128, 128, (2, k))
    acc = np.zeros((2, n_out))
    for t in range(n_beats):
        kb = stream.kblock[t]
        for p in range(16):
            row = stream.rows[t, p]
            if row < 0:
                assert stream.values[t, p] == 0 and stream.indices[t, p] == 0
                continue
            acc[:, row] += float(stream.values[t, p]) * x[:, kb * sp.m + stream.indices[t, p]]
    dense = sp.to_dense().double().numpy()
    assert np.allclose(acc, x @ dense.T, rtol=1e-12, atol=1e-9)
    if sp.block == 16 and sp.m == 16 and n_beats:
        # a beat carries 16/N whole rows of N pairs each
        for t in range(n_beats):
            n = int(sp.block_n.ravel()[stream.block[t]])
            counts = np.unique(stream.rows[t], return_counts=True)[1]
            assert np.all(counts == n) and len(counts) == 16 // n


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([16, 32, 48]),
       kb=st.integers(1, 6), bits=st.sampled_from([None, 4, 8]))
def test_packed_size_is_the_length_pack_writes(seed, rows, kb, bits):
    """The size the compiler tiles with is the size of the bytes, and the metadata the performance
    model counts is the index and descriptor regions of those bytes (without their alignment)."""
    from bitflight.golden.sparse import packing

    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, 16 * kb)).astype(np.float32)
    sp = sparse.prune_nm(w, n=rng.choice([0, 2, 4, 8, 16], size=(rows // 16, kb)))
    if bits is not None:
        sp = sp.quantize_int(bits)
    kept = int(sp.block_n.sum()) * sp.block
    data = sp.pack()
    assert packing.packed_size(rows, 16 * kb, kept, bits, sp.scales is not None) == len(data)
    n_beats = packing.HEADER.unpack_from(data, 0)[7]
    assert n_beats * packing.BEAT == kept                      # 16-row blocks fill whole beats
    # one descriptor byte per block + the index stream's 4 bits per kept pair
    assert packing.metadata_bits(rows, 16 * kb, kept) == 8 * (rows // 16) * kb + 8 * (kept // 2)

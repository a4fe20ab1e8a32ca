"""sim.perf's model of the BITMOD engine's metadata reads (sim/top/meta_model.py) against the RTL:
the field reader (rtl/top/bitmod/reader.py, wide, of one row or two) asked for fields as the
engine's metadata prefetch asks (a cycle between a hit and the next field) and as its header
state does (back to back), every request granted, hits in exactly the cycles MetaStream
predicts; MetaLayout's fields are those of the packed tile (golden.quant.packing), in the
prefetch's order (rtl/top/bitmod/meta.py)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bitflight.compiler.passes.packing import array_layout
from bitflight.golden.quant.api import quantize
from bitflight.sim.top.beat_model import BeatStream
from bitflight.sim.top.meta_model import MetaLayout, MetaStream

from test_field_reader import _serve
from top_cases import CFG


def _fields(draw_rows, row, single, width):
    """(addr, span) pairs from (row, offset, span) draws; a one-row reader's fields stay in
    their row."""
    out = []
    for r, off, span in draw_rows:
        span = min(span, width)
        off %= row
        if single:
            span = min(span, row - off)
        out.append((r * row + off, span))
    return out


@settings(max_examples=150, deadline=None)
@given(draws=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2047),
                                st.integers(0, 512)), min_size=1, max_size=14),
       banks=st.sampled_from([2, 4]), single=st.booleans(), gap=st.sampled_from([0, 1]))
def test_reader_hits_when_the_model_says(draws, banks, single, gap):
    row = 128 * banks
    fields = _fields(draws, row, single, row)
    hits, _ = _serve(fields, row, 1.0, 0, gap=gap, banks=banks, single=single, flush_at=(0,))
    # the engine flushes the reader first (cycle 0); _serve counts a hit in cycle c as c + 1
    assert [h - 2 for h in hits] == MetaStream(row, single).hits(fields, 0, gap)


def test_hand_counted_fetch():
    """A refill is 3 cycles from the ask (move, grant, data), a field in a held row hits when
    asked, a field crossing into the next row waits 2 cycles more for it, and one in the next
    row of a two-row reader slides the window without waiting."""
    row = 256
    two = MetaStream(row, single=False)
    assert two.hits([(0, 16), (16, 16), (row - 8, 16), (row + 32, 16)], 0, 1) == [3, 5, 7, 9]
    one = MetaStream(row, single=True)
    assert one.hits([(0, 16), (16, 16), (row + 32, 16)], 0, 1) == [3, 5, 10]
    # the prefetch: take in cycle 0, addresses registered in 1, asked in 2; valid after the last
    assert MetaStream(row, True).fetch([(0, 16), (row, 16)], 0) == 5 + 5 + 1


def _bits_at(data: bytes, bit: int, width: int) -> int:
    return (int.from_bytes(data, "little") >> bit) & ((1 << width) - 1)


@pytest.mark.parametrize("scheme,bits,mode,n,k,g", [
    ("bitmod", 4, "int", 20, 96, 32), ("bitmod", 3, "int", 13, 64, 16),
    ("int_sym", 8, "int", 7, 40, 8), ("bitmod", 3, "fp16", 9, 64, 64)])
def test_layout_fields_are_the_tiles_metadata(scheme, bits, mode, n, k, g):
    """At each field's address the packed tile (golden.quant) holds the datatype id, the group
    scale and the row scale of the array tile's first row for that group; int-scale tiles read
    row scales for a tile's first group only."""
    rng = np.random.default_rng(3)
    qw = quantize(torch.from_numpy(rng.standard_normal((n, k))).float(), scheme, bits,
                  group_size=g, scale_mode=mode, pad=True)
    data = qw.pack(*array_layout(CFG))
    rows, piece = 2, 16
    lay = MetaLayout.of(CFG, (scheme, bits), mode, n, k, g, rows, piece)
    tiles = lay.tiles(n)
    assert [t[0] for t in tiles] == list(range(0, n, rows))
    for r0, first, offset in tiles:
        for grp in range(-(-k // g)):
            got = lay.fields(grp, r0, first, offset)
            assert len(got) == (3 if mode == "int" and grp == 0 else 2)
            (ids, id_span), (scales, scale_span) = got[:2]
            assert id_span == rows * qw.id_bits
            if qw.id_bits:
                assert _bits_at(data, ids, qw.id_bits) == qw.dtype_ids[r0, grp]
            if mode == "int":
                assert (_bits_at(data, scales, 8), scale_span) == (qw.int_scales[r0, grp], 16)
            else:
                assert scale_span == 32
            if len(got) == 3:
                assert _bits_at(data, got[2][0], 16) == qw.row_scales[r0:r0 + 1].view(
                    np.uint16)[0]


def test_the_readers_share_the_port_by_round_robin():
    """A beat reader's row fetch asked for in a cycle the metadata reader asks for WGT's port
    waits a cycle when the beat reader was granted the port more recently; otherwise the
    metadata reader waits, which the stream counts (the engine's model adds it to the
    metadata's arrival)."""
    alone = BeatStream(stride=256, beat=64, row=256, window=2)
    assert alone.first(0, 10) == 13                     # move, grant in 11, the row held in 13
    waits = BeatStream(stride=256, beat=64, row=256, window=2)
    waits.blocked = {11}
    assert (waits.first(0, 10), waits.lost) == (14, 0)
    wins = BeatStream(stride=256, beat=64, row=256, window=2)
    wins.blocked = {5, 11}                              # the other reader was granted in 5
    assert (wins.first(0, 10), wins.lost) == (13, 1)

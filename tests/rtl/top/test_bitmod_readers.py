"""What the BITMOD engine's readers hold per design point (rtl/top/bitmod/timing.py), worked by
hand from the configs: the beat reader's window of WGT rows and the starting points of a beat
inside a row (``row / gcd(rows x lanes x b, row)``), metadata fields of 16-bit entries of at
most 32 lines."""
import pytest

from bitflight.base import config
from bitflight.rtl.top.bitmod import timing
from bitflight.rtl.top.params import TopParams


@pytest.mark.parametrize("name,lines,window,points,pieces", [
    # 256-bit rows; arrays of 2 and 4 rows: 3-bit beats of 24 / 48 bits start at multiples of
    # 8 / 16 bits, 8-bit ones (64 / 128 bits) at multiples of 64 / 128
    ("tiny", 2, (2, 2), ({3: 32, 4: 8, 6: 16, 8: 4}, {3: 16, 4: 4, 6: 8, 8: 2}), (1, 1)),
    # 16 384-bit rows, 1024 rows x 4 lanes: a 4-bit beat is a row, a 3-bit one starts at 4
    # points, a 6-bit one at 2, an 8-bit one (2 rows) at 1
    ("configs/designs/u280-bitmod.yaml", 128, (2, 2), ({3: 4, 4: 1, 6: 2, 8: 1},) * 2, (4, 4)),
])
def test_readers_per_design_point(name, lines, window, points, pieces):
    p = TopParams.from_config(config.load(name))
    assert p.wgt_lines == lines
    assert tuple(timing.window_rows(ep, lines) for ep in p.bitmod) == window
    for ep, want in zip(p.bitmod, points):
        got = {b: lines * 128 // grain for b, (_, grain) in timing.beat_slices(ep, lines).items()}
        assert got == want
    assert tuple(timing.meta_pieces(ep, lines) for ep in p.bitmod) == pieces


@pytest.mark.parametrize("name,grain,header", [
    # 4-row decode array, 16-row pieces: entries step by gcd(4, 16) = 4 of 2-bit ids: 8 bits;
    # a 128-bit field cannot hold the header, read as 4 lines
    ("tiny", 3, 128),
    # 1024 rows, 256-row pieces: steps of 256 entries, 512 bits of ids; the 4096-bit field and
    # the 16 384-bit row hold the 512-bit header, read as one field
    ("configs/designs/u280-bitmod.yaml", 9, 512),
])
def test_metadata_reader_grain(name, grain, header):
    p = TopParams.from_config(config.load(name))
    ep = p.bitmod[1]
    assert (timing.meta_grain(ep, p.wgt_lines), timing.header_bits(ep, p.wgt_lines)) == \
        (grain, header)
    # a header of 4 lines over 2-line rows in a one-row metadata reader: 3 cycles more
    assert timing.meta_single_row(ep, p.wgt_lines)
    assert timing.fixed(ep, p.wgt_lines) == (17 if header == 128 else 5)


def test_u280_metadata_hides_behind_a_group():
    """fp16 mode: 2 items x 4 fields x 2 cycles + 1 = 17 cycles, against a 128-group's 32 beats
    of 2 cycles."""
    p = TopParams.from_config(config.load("configs/designs/u280-bitmod.yaml"))
    assert timing.meta_fetch_cycles(p.bitmod[1], p.wgt_lines) == 17 < 128 // 4 * 2

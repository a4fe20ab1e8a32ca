"""How many field readers and metadata fields the BITMOD engine uses per design point
(rtl/top/bitmod/timing.py), worked by hand from the configs: a code reader holds a WGT row of
8-bit codes (32 bits a row at 4 lanes), a metadata field 16-bit entries of at most 32 lines."""
import pytest

from bitflight.base import config
from bitflight.rtl.top.bitmod import timing
from bitflight.rtl.top.params import TopParams


@pytest.mark.parametrize("name,lines,readers,pieces", [
    ("tiny", 2, (1, 1), (1, 1)),                                   # 256-bit rows; 2 and 4 rows
    ("configs/designs/u280-bitmod.yaml", 128, (2, 2), (4, 4)),     # 16 384 bits = 512 rows
])
def test_readers_per_design_point(name, lines, readers, pieces):
    p = TopParams.from_config(config.load(name))
    assert p.wgt_lines == lines
    assert tuple(timing.code_readers(ep, lines) for ep in p.bitmod) == readers
    assert tuple(timing.meta_pieces(ep, lines) for ep in p.bitmod) == pieces


def test_u280_metadata_hides_behind_a_group():
    """fp16 mode: 2 items x 4 fields x 2 cycles + 1 = 17 cycles, against a 128-group's 32 beats
    of 2 cycles."""
    p = TopParams.from_config(config.load("configs/designs/u280-bitmod.yaml"))
    assert timing.meta_fetch_cycles(p.bitmod[1], p.wgt_lines) == 17 < 128 // 4 * 2

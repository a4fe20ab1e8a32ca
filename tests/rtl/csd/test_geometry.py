"""Chain geometry and timing against hand-worked values (docs/rtl/csd.md tables)."""
import pytest

from bitflight.rtl.csd.chain import CsdChain
from bitflight.rtl.csd.geometry import ChainGeometry
from bitflight.rtl.csd.mpu import Mpu

from csd_cases import config_for, geometry

# Components built only to read their properties are never elaborated; Amaranth warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:.*created but never used")


def test_tiny_unpacked_dataflow():
    g = geometry("tiny", packed=False)
    assert (g.slices, g.group, g.groups, g.tokens, g.latency) == (16, 2, 8, 1, 18)
    assert g.segment_parts(16) == (((7, None),),)
    assert g.segment_parts(8) == (((3, None),), ((7, 3),))
    assert g.segment_parts(4) == (((1, None),), ((3, 1),), ((5, 3),), ((7, 5),))
    assert g.segment_parts(2)[5] == ((5, 4),)
    assert [g.results_per_cycle(n) for n in (2, 4, 8, 16)] == [8, 4, 2, 1]
    assert g.oau_groups == () and g.p_bits == 21   # 16 products of <= 2**14 need 20 bits + sign


def test_u280_packed_dataflow_and_oau():
    g = geometry("u280")
    assert (g.slices, g.group, g.tokens, g.latency) == (8, 2, 2, 10)
    assert g.oau_groups == (3,)                   # after 6 DSPs: 7 INT8 products always fit
    assert g.segment_parts(2) == (((0, None),), ((1, 0),), ((2, 1),), ((3, 2),))
    assert g.segment_parts(4) == (((1, None),), ((3, 1),))           # 4 DSPs: no split needed
    assert g.segment_parts(8) == (((2, None), (3, 2)),)              # 8 DSPs: split at the OAU
    assert g.passes_per_row(16) == 2 and g.results_per_cycle(16) == 1
    assert [g.results_per_cycle(n) for n in (2, 4, 8, 16)] == [8, 4, 2, 1]


def test_components_expose_timing_and_dsp_count():
    g = geometry("tiny")
    chain = CsdChain(g)
    assert chain.latency == 18 and chain.throughput == {2: 8, 4: 4, 8: 2, 16: 1}
    assert chain.dsp_slices == 16
    mpu = Mpu(g, 2)
    assert mpu.dsp_slices == 32 and mpu.throughput[2] == 16


def test_bad_geometry_is_one_line_error():
    cfg = config_for("tiny")
    bad = cfg.model_copy(update={"csd": cfg.csd.model_copy(update={"dsps_per_group": 4})})
    with pytest.raises(ValueError, match="N=2 gives segments of 2 slices"):
        ChainGeometry.from_config(bad)
    with pytest.raises(ValueError, match="at least one VPU"):
        Mpu(geometry("tiny"), 0)

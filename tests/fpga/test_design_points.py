"""The ECP5 design point (configs/designs/ecp5-bitmod.yaml) is what docs/results/resources.md
routed: tiny's RTL with a 7 x 7 BitMoD array whose PEs forward to each other (tiles of one PE)."""
from bitflight.base import config
from bitflight.rtl.bitmod.params import EngineParams

ECP5 = config.CONFIG_DIR / "designs/ecp5-bitmod.yaml"


def test_ecp5_design_is_tiny_with_the_routed_array():
    ours, tiny = config.load(ECP5).model_dump(), config.load("tiny").model_dump()
    assert (ours["bitmod"]["prefill_array"], ours["bitmod"]["decode_array"]) == \
        ({"rows": 7, "cols": 7, "tile": {"rows": 1, "cols": 1}, "band": 1},
         {"rows": 49, "cols": 1, "tile": None, "band": 1})
    for key in ("prefill_array", "decode_array"):
        ours["bitmod"].pop(key), tiny["bitmod"].pop(key)
    differ = {k for k in ours if ours[k] != tiny[k]}
    assert differ == {"name", "description", "source", "clock_mhz", "assumptions"}
    # not above the median routed Fmax of seeds 1-4 (docs/results/resources.md)
    assert config.load(ECP5).clock_mhz <= 76.29


def test_ecp5_design_elaborates_both_arrays():
    cfg = config.load(ECP5)
    pre, dec = EngineParams.from_config(cfg, "prefill"), EngineParams.from_config(cfg, "decode")
    assert (pre.rows, pre.cols, dec.rows, dec.cols) == (7, 7, 49, 1)
    assert (pre.row_skew, dec.row_skew, pre.latency, dec.latency) == (6, 0, 13 + 6 + 6, 13)

"""sim.perf.point: a point's flat metrics are RunTiming's numbers, renamed and divided."""
from bitflight.base import config
from bitflight.golden.model_shapes import load_shape
from bitflight.sim.perf.analyze import analyze
from bitflight.sim.perf.point import point_metrics
from bitflight.sim.perf.policy import PRESETS


def test_point_metrics_with_energy_on_the_bitmod_asic():
    shape, cfg, pol = load_shape("opt-1.3b"), config.load("bitmod-asic"), PRESETS["bitmod-w4-g128"]
    run = analyze(shape, cfg, pol, 32, 4)
    m = point_metrics(shape, cfg, pol, 32, 4)
    e = run.energy_pj
    assert e is not None
    assert m["prefill_tokens_per_s"] == 32 / run.prefill.seconds
    assert m["decode_tokens_per_s"] == 4 / sum(p.seconds for p in run.decode)
    assert m["energy_j"] == e["total"] * 1e-12
    assert m["energy_per_token_j"] == e["total"] * 1e-12 / 4
    assert m["decode_energy_per_token_j"] == e["decode"] * 1e-12 / 4
    assert m["footprint_gb"] == run.footprint_bytes / 1e9 and m["fits_memory"] is True


def test_no_energies_and_no_decode_give_none():
    shape, cfg = load_shape("smollm2-135m"), config.load("u280")
    m = point_metrics(shape, cfg, PRESETS["flightllm-int4"], 16, 0)
    assert m["energy_j"] is None and m["decode_tokens_per_s"] is None
    assert m["decode_limit"] is None and m["prefill_limit"] in ("compute", "memory", "sfu")

"""The analytical mode against the event-level model on compiled programs (docs/perf.md,
"Analytical against event-level"): both time the same project policy; the analytical mode must
stay within TOLERANCE of the event model on every row, so a change to either side that makes them
drift apart fails here.

Measured (``python -m bitflight.sim.perf.event_check``, shape-only tiny GQA LLaMA on tiny at KV
16): bitmod-w4 decode -1.9%, prefill (16 tokens) +0.5%; flightllm (CSD) decode -9.6%, prefill
-7.8%; SmolLM2-135M on bitmod-asic decode at KV 128 -6.3%. Every row is within 10% today; the
prefill rows keep the 15% bound because exposed first-tile loads grow with the number of
operations per segment.
"""
import pytest

from bitflight.base import config
from bitflight.sim.perf import event_check

TOLERANCE = 0.15


@pytest.fixture(scope="module")
def targets():
    tiny = config.load("tiny")
    return {p: event_check.target_for(event_check.TINY_LLAMA, tiny, 64, p)
            for p in ("bitmod-w4", "flightllm")}


@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
@pytest.mark.parametrize("mode, tokens", [("decode", 1), ("prefill", 16)])
def test_analytical_within_tolerance_of_event_model(targets, policy, mode, tokens):
    c = event_check.check(targets[policy], config.load("tiny"), event_check.TINY_LLAMA, mode,
                          tokens, 16, policy=policy)
    assert c.analytical == pytest.approx(c.event, rel=TOLERANCE), str(c)


def test_decode_rows_within_ten_percent(targets):
    """Decode keeps every activation on chip: the two models agree more tightly."""
    tiny = config.load("tiny")
    for policy in targets:
        c = event_check.check(targets[policy], tiny, event_check.TINY_LLAMA, "decode", 1, 16,
                              policy=policy)
        assert abs(c.difference) < 0.10, str(c)


@pytest.mark.slow
def test_smollm2_decode_analytical_within_10_percent_of_event_model():
    """SmolLM2-135M (shape only, no weights) decode at KV 128 on bitmod-asic; both HBM-bound."""
    from bitflight.compiler import build
    from bitflight.golden.model_shapes import load_shape
    from bitflight.sim.perf import analyze, workload
    from bitflight.sim.perf.events import simulate_segments
    from bitflight.sim.perf.policy_loader import load_policy
    cfg, shape = config.load("bitmod-asic"), load_shape("smollm2-135m")
    target = event_check.target_for(shape, cfg, 256)
    segments = build.compile_step(target, "decode", 1, 128)
    event, spans = simulate_segments(segments, cfg)
    assert [s[0] for s in spans] == [label for label, seg in segments if seg]
    assert spans[-1][2] == event.cycles and all(a <= b for _, a, b in spans)
    c = event_check.check(target, cfg, shape, "decode", 1, 128, segments)
    assert c.event == event.cycles
    assert c.analytical == pytest.approx(c.event, rel=0.10), str(c)
    ana = analyze.time_pass(workload.decode_step(shape, 128), cfg,
                            load_policy(event_check.POLICY, shape))
    assert ana.limiting_unit == "memory" and event.utilization()["LD"] > 0.8

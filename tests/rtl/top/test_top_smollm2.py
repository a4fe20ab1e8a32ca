"""A real SmolLM2-135M decoder layer (its GGUF weights; the embedding and head cut to the first
512 tokens so that the step fits config tiny's buffers and the test's time) on the tiny top:
prefill of three tokens on sim.isa, then the decode step on RTL from that state, every HBM
channel and buffer identical to sim.isa's decode, and sim.perf's RTL-calibrated cycles within
TOLERANCE of the top's counter on a layer with real weights (the tiny-model programs are the
calibration set; this is a check on other shapes: width 576, 9 heads, 3 KV heads, 1536 MLP)."""
import pytest

from bitflight.base import config
from bitflight.sim.bench import bench_smollm2 as bench
from bitflight.sim.top.compare import first_difference

pytestmark = [pytest.mark.verilator, pytest.mark.slow, pytest.mark.xdist_group("top-verilator")]

TOLERANCE = 0.03            # measured: bitmod-w4 -1.2 %, flightllm -0.0005 %


@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
def test_smollm2_layer_on_rtl_identical_to_isa(policy):
    cfg = config.load("tiny")
    args = bench.parse(["--policy", policy, "--vocab", "512", "--config", "tiny"])
    run = bench.rtl_decode(cfg, bench.source(1, 512), args, announce=lambda line: None)
    assert run.result.error is None, run.result.error
    difference = first_difference(run.result, run.reference)
    assert difference is None, difference
    rtl = run.result.steps[0].cycles
    assert run.result.steps[0].active["MV"] > 0               # the layer's linears ran on RTL
    assert abs(run.model_cycles - rtl) / rtl <= TOLERANCE, \
        f"model {run.model_cycles:,.0f} vs RTL {rtl:,} cycles"

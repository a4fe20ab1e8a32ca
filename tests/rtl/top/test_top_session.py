"""The host runtime on RTL (sim.top.machine): one cocotb run per step with HBM and buffers carried
between runs must leave the state sim.isa leaves; `bitflight run --engine rtl --check` runs the
tiny model's compiled programs (every instruction has an engine) with logits identical to golden."""
import pytest
import torch

from bitflight.cli import main
from bitflight.compiler import build, models, target as tg
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.runtime import Session
from bitflight.sim.top.machine import RtlSession

from top_cases import CFG, assert_same_state, token_only_compute

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]


def test_session_state_carries_over_between_runs():
    source = models.load("tiny-golden")
    max_len = 6
    target = tg.build_target(source.graph, CFG, load_policy("flightllm"), source.weights,
                             max_pos=max_len)
    store, _ = build.compile_buckets(target, max_len, only=sorted(
        {build.bucket_for("prefill", 3, max_len), build.bucket_for("decode", 4, max_len),
         build.bucket_for("decode", 5, max_len)}))
    rtl = RtlSession(target, store, max_len, skip_missing=True)
    isa_sess = Session(target, store, max_len)
    with token_only_compute():
        for sess in (rtl, isa_sess):
            sess.prefill(torch.tensor([1, 2, 3]))
            sess.decode(4)
            sess.decode(7)
    result = type("R", (), {"hbm": {ch: bytes(m) for ch, m in rtl.machine.hbm.items()},
                            "buffers": rtl.machine.buffers})
    assert_same_state(result, isa_sess.machine)
    assert len(rtl.machine.steps) == 3 and all(s.cycles for s in rtl.machine.steps)
    # a step may run to twice sim.perf's cycles before it is called hung: the model is close
    for step, expected in zip(rtl.machine.steps, rtl.machine.expected):
        assert abs(step.cycles - expected) <= 0.02 * step.cycles, (step.cycles, expected)


@pytest.mark.slow                       # several minutes per policy: two cocotb runs of the top
@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
def test_run_engine_rtl_check_passes(policy, capsys):
    """`bitflight run --engine rtl --check`: every step on the top, logits identical to the
    golden accelerator-numerics model (sim.isa gives the same logits: tests/sim/isa)."""
    code = main(["run", "--model", "tiny-golden", "--config", "tiny", "--policy", policy,
                 "--ids", "1,2,3", "--tokens", "2", "--engine", "rtl", "--check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "check: every logit identical to the golden accelerator-numerics model" in out


@pytest.mark.slow                       # seven cocotb runs of the top
def test_six_greedy_tokens_from_rtl_every_logit_identical(capsys):
    """Slow set: a longer generation on the top (prefill + 5 decode steps through three decode
    buckets), each step's logits identical to golden and the same six greedy tokens."""
    args = ["--model", "tiny-golden", "--config", "tiny", "--policy", "bitmod-w4",
            "--ids", "4,1", "--tokens", "6"]
    assert main(["run", *args, "--engine", "isa"]) == 0
    isa_out = capsys.readouterr().out
    code = main(["run", *args, "--engine", "rtl", "--check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "check: every logit identical to the golden accelerator-numerics model" in out
    assert _generated(out) == _generated(isa_out)
    assert _generated(out).startswith("generated (6 tokens): ")


def _generated(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("generated"))

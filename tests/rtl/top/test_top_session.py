"""The host runtime on RTL (sim.top.machine): one cocotb run per step with HBM and buffers carried
between runs must leave the state sim.isa leaves; `bitflight run --engine rtl` stops with a
one-line error while an instruction has no RTL engine."""
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


def test_run_engine_rtl_names_the_first_instruction_without_engine(capsys):
    code = main(["run", "--model", "tiny-golden", "--config", "tiny", "--policy", "bitmod-w4",
                 "--ids", "1,2,3", "--tokens", "2", "--engine", "rtl", "--check"])
    lines = capsys.readouterr().err.strip().splitlines()     # progress lines, then the error
    errors = [line for line in lines if "error" in line]
    assert code != 0
    assert errors == [lines[-1]]
    assert lines[-1].startswith("bitflight run: error: #") and "no engine of this top" in lines[-1]

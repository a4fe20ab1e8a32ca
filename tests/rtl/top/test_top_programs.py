"""Compiled tiny-model programs on the top: prefill then decode of the GQA LLaMA, with the
instructions the top has no engine for yet skipped (MODE register). Every LD/ST/SYS/COPY and
every BITMOD MM/MV (bitmod-w4: the prefill bucket's MMs on the prefill array, the decode step's
MVs on the decode array) of the real programs runs with the real tokens; HBM and buffers must
equal sim.isa's with the same instructions made token-only, bit for bit."""
import pytest

from bitflight.sim.top import runner
from bitflight.sim.top.compiled import bitmod_product, steps_for
from bitflight.sim.top.job import Job

from top_cases import CFG, assert_same_state, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]


@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
def test_compiled_data_movement_matches_isa(policy):
    top = runner.build(CFG)
    image, sizes, steps = steps_for("tiny-golden", CFG, policy, [1, 2, 3], [5])
    job = Job(channels=image, limits=sizes, steps=[s for _, s in steps], skip_missing=True)
    result = runner.run(top, job)
    assert result.error is None, result.error
    machine, error = reference(image, [s for _, s in steps], [p for p, _ in steps],
                               token_only=True)
    assert error is None, error
    assert_same_state(result, machine)
    assert all(s.cycles > 0 for s in result.steps)
    if policy == "bitmod-w4":                   # the BITMOD engine ran both arrays
        prefill, decode = (p for p, _ in steps)
        assert any(bitmod_product(i) and i.kind == "MM" for i in prefill)
        assert any(bitmod_product(i) and i.kind == "MV" for i in decode)
        assert result.steps[0].active["MM"] > 0 and result.steps[1].active["MV"] > 0

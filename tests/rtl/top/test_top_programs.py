"""Compiled tiny-model programs on the top with every engine: prefill then decode of the GQA
LLaMA (policies bitmod-w4 and flightllm), every instruction executed (no MODE skip_missing), and
the final HBM and buffers equal to sim.isa's, bit for bit."""
import pytest

from bitflight.sim.top import runner
from bitflight.sim.top.compiled import bitmod_product, has_engine, steps_for
from bitflight.sim.top.job import Job

from top_cases import CFG, assert_same_state, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]


@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
def test_compiled_programs_match_isa(policy):
    top = runner.build(CFG)
    image, sizes, steps = steps_for("tiny-golden", CFG, policy, [1, 2, 3], [5])
    programs = [p for p, _ in steps]
    assert all(has_engine(i) for p in programs for i in p)
    job = Job(channels=image, limits=sizes, steps=[s for _, s in steps])
    result = runner.run(top, job)
    assert result.error is None, result.error
    machine, error = reference(image, [s for _, s in steps], programs)
    assert error is None, error
    assert_same_state(result, machine)
    assert all(s.cycles > 0 and s.active["MISC"] > 0 for s in result.steps)
    if policy == "bitmod-w4":                   # the BITMOD engine ran both arrays
        prefill, decode = programs
        assert any(bitmod_product(i) and i.kind == "MM" for i in prefill)
        assert any(bitmod_product(i) and i.kind == "MV" for i in decode)
        assert result.steps[0].active["MM"] > 0 and result.steps[1].active["MV"] > 0

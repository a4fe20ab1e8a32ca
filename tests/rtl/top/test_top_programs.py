"""Compiled tiny-model programs on the top with every engine: prefill then decode of the GQA
LLaMA (policies bitmod-w4 and flightllm), every instruction executed (no MODE skip_missing), the
final HBM and buffers equal to sim.isa's, bit for bit, and sim.perf's event model in its
RTL-calibration mode (sim/top/perf_timing.py) within TOLERANCE of the top's cycle counter for
each program (docs/results/calibration.md "Accelerator top vs sim.perf"); the same run serves
both checks, so the top simulates these programs once."""
import pytest

from bitflight.sim.top import runner
from bitflight.sim.top.calibrate import ProgramRun, step_names, time_model
from bitflight.sim.top.compiled import bitmod_product, has_engine, steps_for
from bitflight.sim.top.job import Job

from top_cases import CFG, assert_same_state, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]

TOLERANCE = 0.03            # achieved: at most 0.8 % (bitmod-w4; BitMoD is an estimate)


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
    runs = time_model([ProgramRun(policy, name, len(p), s.cycles, dict(s.active))
                       for name, p, s in zip(step_names(2), programs, result.steps)], CFG, 1,
                      compiled={policy: programs})
    assert [r.step for r in runs] == ["prefill", "decode 0"]
    for r in runs:
        error = (r.model_cycles - r.rtl_cycles) / r.rtl_cycles       # against this run's counter
        assert abs(error) <= TOLERANCE, (
            f"{policy} {r.step}: model {r.model_cycles:,.0f} vs RTL {r.rtl_cycles:,} cycles "
            f"({100 * error:+.1f}%); busy RTL {r.rtl_busy}, model {r.model_busy}")

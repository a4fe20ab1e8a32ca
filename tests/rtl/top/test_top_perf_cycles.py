"""sim.perf's RTL-calibration mode (sim/top/perf_timing.py) is opt-in. Its agreement with the
top's cycle counter is checked on the run of test_top_programs (the compiled tiny-model prefill
and decode step of each policy), so the top simulates those programs once."""
from bitflight.sim.perf.events import simulate
from bitflight.sim.top.calibrate import PROMPT, programs
from bitflight.sim.top.perf_timing import RtlTiming

from top_cases import CFG


def test_rtl_mode_leaves_the_config_model_alone():
    """The reproduction numbers use the default costs: the RTL mode is opt-in per call."""
    program = programs(CFG, "bitmod-w4", 1)[2][1][0]
    plain, rtl = simulate(program, CFG), simulate(program, CFG, RtlTiming(CFG, len(PROMPT), 1))
    assert rtl.cycles > plain.cycles        # the first top is narrower than the tiny config
    assert simulate(program, CFG).cycles == plain.cycles

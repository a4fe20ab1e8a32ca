"""The compiled tiny bitmod-w4 programs (3-token prefill bucket, then a decode step) with the
BITMOD engine live: every BITMOD MM/MV of the real programs runs on the top's arrays; the
instructions still without an engine (MISC but COPY) are skipped by the MODE bring-up bit and
made token-only in sim.isa too. HBM and every buffer must equal sim.isa's bit for bit."""
import pytest

from bitflight.sim.top import runner
from bitflight.sim.top.compiled import bitmod_product, steps_for
from bitflight.sim.top.job import Job

from top_cases import CFG, assert_same_state, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]


def test_compiled_bitmod_w4_prefill_and_decode():
    image, sizes, steps = steps_for("tiny-golden", CFG, "bitmod-w4", [1, 2, 3], [5])
    products = [i for p, _ in steps for i in p if bitmod_product(i)]
    assert {i.kind for i in products} == {"MM", "MV"}          # both arrays are exercised
    job = Job(channels=image, limits=sizes, steps=[s for _, s in steps], skip_missing=True)
    result = runner.run(runner.build(CFG), job, quiet=True)
    assert result.error is None, result.error
    machine, error = reference(image, [s for _, s in steps], [p for p, _ in steps],
                               token_only=True)
    assert error is None, error
    assert_same_state(result, machine)
    assert all(s.active["MM"] + s.active["MV"] > 0 for s in result.steps)

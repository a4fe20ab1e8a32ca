"""cocotb bench of the Verilated CSD chain / MPU against golden.sparse.matmul (bit-exact) and timing.

Environment (set by test_csd_verilator.py): CSD_TARGET ("chain" or "mpu"), CSD_PACKED ("0"/"1"),
CSD_VPUS (MPU only), CSD_CASES: JSON list of make_case keyword sets (plus "seed", and optional
"ready_prob"/"valid_prob" for back-pressure runs).
"""
import json
import os

import cocotb
import numpy as np

from bitflight.rtl.csd import schedule
from bitflight.sim.hdl.calibrate_rtl.stream_driver import drive, reset
from csd_cases import expected, geometry, make_case


def _runs():
    return json.loads(os.environ["CSD_CASES"])


@cocotb.test()
async def bit_exact_and_timed(dut):
    packed = os.environ.get("CSD_PACKED") == "1"
    target = os.environ.get("CSD_TARGET", "chain")
    geo = geometry("tiny", packed=packed)
    await reset(dut)
    for spec in _runs():
        spec = dict(spec)
        drive_kw = {k: spec.pop(k) for k in ("ready_prob", "valid_prob") if k in spec}
        seed = spec.pop("seed")
        sp, x, bias = make_case(seed, **spec)
        passes = schedule.chain_passes(geo, sp, x)
        if target == "chain":
            payloads = [schedule.chain_payload(geo, p) for p in passes]
            outs, accepted, emitted = await drive(dut, payloads, seed=seed, **drive_kw)
            results = [schedule.decode_chain_out(geo, b) for b in outs]
        else:
            vpus = int(os.environ["CSD_VPUS"])
            beats = schedule.mpu_beats(geo, vpus, passes)
            payloads = [schedule.mpu_payload(geo, beat) for beat in beats]
            outs, accepted, emitted = await drive(dut, payloads, seed=seed, **drive_kw)
            passes = [p for beat in beats for p in beat]
            results = [r for b in outs for r in schedule.decode_mpu_out(geo, vpus, b)]
        out = schedule.assemble(geo, passes, results, (x.shape[0], sp.shape[0]), bias)
        want = expected(sp, x, bias)
        bad = np.argwhere(out != want)
        assert not bad.size, (f"{spec} seed {seed}: {len(bad)} mismatches, first at "
                              f"{tuple(bad[0])}: got {out[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
        if not drive_kw:   # streaming run: one beat per cycle, fixed latency
            start = accepted[0]
            assert accepted == list(range(start, start + len(payloads))), "input stalled"
            assert emitted == [c + geo.latency for c in accepted], "latency differs from geometry"
            if target == "chain" and isinstance(spec.get("n"), int):
                n = spec["n"]
                # lane results: a row-packed pass's two lanes hold rows, the others' tokens
                finished = sum(len(p.rows) * (1 if p.rows2 else geo.tokens)
                               for p in passes) / geo.passes_per_row(n)
                measured = finished / (emitted[-1] - emitted[0] + 1)
                assert measured == geo.results_per_cycle(n) == 16 / n, (
                    f"N={n}: {measured} results/cycle, documented {geo.results_per_cycle(n)}")
                dut._log.info("N=%d: %.1f results/cycle measured", n, measured)
        dut._log.info("%s seed %d: %d beats bit-exact", spec, seed, len(payloads))

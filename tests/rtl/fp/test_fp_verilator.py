"""Verilator + cocotb bench of every rtl/fp unit against golden/ops/binary32.py (numpy float32):
2^20 seeded vectors through every pipelined unit (the binary16 widening sees all 65536 patterns
16 times), 2^17 through the 4-bit-per-cycle divider and square root and 2^20/29 (2^20/28) through
the default 1-bit ones. The top generates the operands and folds the results into signatures
(fp_bench_top, fp_expect), so no vector crosses the cocotb boundary.
BITFLIGHT_FP_SEED / BITFLIGHT_FP_VECTORS override the seed and the count (a multiple of 8192)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bitflight.sim import hdl

import fp_bench_top as top
import fp_expect

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("fp-verilator")]

VECTORS = int(os.environ.get("BITFLIGHT_FP_VECTORS", 1 << 20))
CHECK = 1 << 13
SEED = int(os.environ.get("BITFLIGHT_FP_SEED", "20261202"))


def _bench(tmp_path, seed=SEED, vectors=VECTORS):
    build = hdl.build(lambda: top.FpBench(), top="fp_bench", key="fp-bench")
    out = tmp_path / "fp_results.json"
    hdl.run(build, "cocotb_fp", test_dir=HERE,
            env={"FP_VECTORS": vectors, "FP_CHECK": CHECK, "FP_SEED": seed, "FP_RESULTS": out,
                 "FP_SIGNATURES": ",".join(top.SIGNATURES)})
    return json.loads(out.read_text())


def _latencies():
    """Start-to-done cycles of the bench's dividers and square roots (Iterative.latency)."""
    from bitflight.rtl.fp import div, sqrt
    fast = top.FAST_BITS
    return {"div": div.DIGITS + 1, "sqrt": sqrt.DIGITS + 1,
            "divfast": -(-div.DIGITS // fast) + 1, "sqrtfast": -(-sqrt.DIGITS // fast) + 1}


def _differences(snaps, want) -> list[str]:
    """Per signature: a wrong final count, or the first checkpoint block whose signature differs."""
    errors = []
    for name in top.SIGNATURES:
        stream = want[name]
        prefix = fp_expect.prefix_signatures(stream)
        if snaps[-1][name][0] != len(stream):
            errors.append(f"{name}: {snaps[-1][name][0]} results, expected {len(stream)}")
            continue
        for before, snap in zip(snaps, snaps[1:]):
            cnt, sig = snap[name]
            if sig != (int(prefix[cnt - 1]) if cnt else 0):
                errors.append(f"{name}: results {before[name][0]}..{cnt - 1} differ from golden")
                break
    return errors


def test_every_unit_matches_golden_on_a_million_seeded_vectors(tmp_path):
    snaps = _bench(tmp_path)
    want = fp_expect.results(SEED, VECTORS, _latencies())
    assert snaps[-1]["n"] == VECTORS
    errors = _differences(snaps, want)
    assert not errors, errors
    # the check can fail: one wrong bit in one result of each stream is caught
    for name in top.SIGNATURES:
        bad = dict(want)
        bad[name] = want[name].copy()
        bad[name][len(bad[name]) // 2] ^= 1
        assert [e.split(":")[0] for e in _differences(snaps, bad)] == [name]
    # the streams really cover the edge cases
    ys = want["add"]
    assert np.sum((ys & 0x7F800000) == 0) > 1000 and np.sum(ys == 0x7FC00000) > 1000
    assert np.sum(want["h"] & 0x7C00 == 0) > 1000 and np.sum(want["h"] & 0x7FFF == 0x7C00) > 1000
    assert np.sum((want["divfast"] & 0x7F800000 == 0) & (want["divfast"] & 0x7FFFFF != 0)) > 100

"""Verilator + cocotb benches of the SFU (rtl/sfu), bit for bit against golden.ops.sfu / expo."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from bitflight.rtl.sfu.exp import ExpUnit
from bitflight.rtl.sfu.params import OPS, SfuParams
from bitflight.sim import hdl

from sfu_cases import edge_jobs, make_job, random_jobs

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("sfu-verilator")]


def exp_arguments(seed: int, count: int) -> np.ndarray:
    """binary32 patterns of t <= 0: every edge of E's definition, then random ones (uniform
    non-positive patterns, and the range that matters, -90 < t <= 0)."""
    rng = np.random.default_rng(seed)
    edges = np.array([0x80000000, 0x00000000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001,
                      0x80000001, 0x807FFFFF, 0x80800000, 0xBF000000, 0xBF800000, 0xC2AD0000,
                      0xC2AD7000, 0xC2AE0000, 0xC2AC0000, 0xC2AD8000, 0xFF7FFFFF, 0xB3800000,
                      0xBC000000, 0xBC7FFFFF], dtype=np.uint32)
    near = (-np.abs(rng.normal(0, 8, count // 2))).astype(np.float32).view(np.uint32)
    anywhere = rng.integers(0, 1 << 31, count - count // 2, dtype=np.uint32) | np.uint32(1 << 31)
    return np.concatenate([edges, near, anywhere])


def test_exp_unit_bit_exact(tmp_path):
    unit = ExpUnit()
    unit._MustUse__silence = True                   # its latency only: the build elaborates its own
    build = hdl.build(lambda: ExpUnit(), top="exp_unit", key="sfu-exp")
    np.save(tmp_path / "t.npy", exp_arguments(11, 20_000))
    hdl.run(build, "cocotb_exp", test_dir=HERE,
            env={"EXP_CASES": tmp_path / "t.npy", "EXP_LATENCY": unit.latency})


def harness_build(params: SfuParams = SfuParams()):
    from sfu_harness import SfuHarness
    key = "sfu-harness" if params == SfuParams() else \
        f"sfu-harness-a{params.add_stages}m{params.mul_stages}"
    return hdl.build(lambda: SfuHarness(params), top="sfu_harness", key=key)


def run_jobs(jobs, tmp_path, params: SfuParams = SfuParams()):
    with open(tmp_path / "jobs.pkl", "wb") as f:
        pickle.dump(jobs, f)
    hdl.run(harness_build(params), "cocotb_sfu", test_dir=HERE,
            env={"SFU_JOBS": tmp_path / "jobs.pkl"})


def test_sfu_smoke(tmp_path):
    rng = np.random.default_rng(5)
    jobs = [make_job(rng, op, 3, 16, d=8) for op in OPS]
    run_jobs(jobs, tmp_path)


@pytest.mark.parametrize("add, mul", [(0, 0), (1, 2)])
def test_sfu_other_pipeline_depths(tmp_path, add, mul):
    """The same results at other unit depths (the pipeline's stage bookkeeping, the tree's
    per-level timing and the divider's rounding rank all move with them)."""
    rng = np.random.default_rng(6)
    run_jobs([make_job(rng, op, 3, 24, d=8) for op in OPS], tmp_path,
             SfuParams(add_stages=add, mul_stages=mul))


def test_sfu_edge_cases(tmp_path):
    rng = np.random.default_rng(7)
    run_jobs([job for op in OPS for job in edge_jobs(rng, op)], tmp_path)


def test_sfu_random_1e5_elements_per_op(tmp_path):
    rng = np.random.default_rng(8)
    run_jobs([job for op in OPS for job in random_jobs(rng, op, 100_000)], tmp_path)

"""Verilator + cocotb benches of the BitMoD PE and array (one shared build per configuration)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bitflight.base import config
from bitflight.rtl.bitmod.array import BitmodArray
from bitflight.rtl.bitmod.params import EngineParams
from bitflight.rtl.bitmod.pe import BitmodPe
from bitflight.sim import hdl

from bitmod_cases import MODES, SCHEMES, array_jobs, cocotb_env, edge_jobs, make_job

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("bitmod-verilator")]
P = EngineParams.from_config(config.load("tiny"))


def test_pe_verilator_every_datatype_and_edge_case_both_scale_modes(tmp_path):
    jobs = [make_job(100 + i, scheme, 1, 1, P.lanes, P.group_size, mode=mode)
            for i, (scheme, mode) in enumerate((s, m) for s in SCHEMES for m in MODES)]
    jobs += edge_jobs(1, 1, P.lanes, P.group_size, ("bitmod3", "bitmod4", "int8"), 200)
    build = hdl.build(lambda: BitmodPe(P), top="bitmod_pe", key="bitmod-pe-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("pe", jobs, tmp_path / "jobs.json", P))


def test_array_verilator_bit_exact(tmp_path):
    build = hdl.build(lambda: BitmodArray(P), top="bitmod_array", key="bitmod-array-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", array_jobs(P), tmp_path / "jobs.json", P))

"""Verilator + cocotb benches of the BitMoD PE and array (one shared build per configuration)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bitflight.base import config
from bitflight.rtl.bitmod.array import BitmodArray
from bitflight.rtl.bitmod.params import EngineParams
from bitflight.rtl.bitmod.pe import BitmodPe
from bitflight.sim import hdl

from bitmod_cases import SCHEMES, array_jobs, cocotb_env, make_job

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("bitmod-verilator")]
P = EngineParams.from_config(config.load("tiny"))
EDGES = ["acts", "max", "zero_acts", "subnormal", "special", "zero_groups", "zero_scale"]


def test_pe_verilator_every_datatype_and_edge_case(tmp_path):
    jobs = [make_job(100 + i, scheme, 1, 1, P.lanes, P.group_size)
            for i, scheme in enumerate(SCHEMES)]
    jobs += [make_job(200 + i, scheme, 1, 1, P.lanes, P.group_size, edge=edge)
             for i, (scheme, edge) in enumerate((s, e) for s in ("bitmod3", "bitmod4", "int8")
                                                for e in EDGES)]
    build = hdl.build(lambda: BitmodPe(P), top="bitmod_pe", key="bitmod-pe-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("pe", jobs, tmp_path / "jobs.json", P))


def test_array_verilator_bit_exact(tmp_path):
    build = hdl.build(lambda: BitmodArray(P), top="bitmod_array", key="bitmod-array-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=cocotb_env("array", array_jobs(P), tmp_path / "jobs.json", P))

"""Verilator + cocotb benches of the BitMoD PE and array (one shared build per configuration)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bitflight import config
from bitflight.rtl.bitmod.array import BitmodArray
from bitflight.rtl.bitmod.params import EngineParams
from bitflight.rtl.bitmod.pe import BitmodPe
from bitflight.sim import hdl

from bitmod_cases import SCHEMES, dump, make_job

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("bitmod-verilator")]
P = EngineParams.from_config(config.load("tiny"))
EDGES = ["acts", "max", "zero_acts", "subnormal", "special", "zero_groups", "zero_scale"]


def _env(target: str, jobs: list[dict], tmp_path: Path, latency: int) -> dict[str, str]:
    path = tmp_path / "jobs.json"
    dump(jobs, path)
    fields = {f.name: getattr(P, f.name) for f in dataclasses.fields(P) if f.name != "dp"}
    return {"BITMOD_JOBS": str(path), "BITMOD_TARGET": target, "BITMOD_LATENCY": str(latency),
            "BITMOD_PARAMS": json.dumps(fields)}


def test_pe_verilator_every_datatype_and_edge_case(tmp_path):
    jobs = [make_job(100 + i, scheme, 1, 1, P.lanes, P.group_size)
            for i, scheme in enumerate(SCHEMES)]
    jobs += [make_job(200 + i, scheme, 1, 1, P.lanes, P.group_size, edge=edge)
             for i, (scheme, edge) in enumerate((s, e) for s in ("bitmod3", "bitmod4", "int8")
                                                for e in EDGES)]
    build = hdl.build(lambda: BitmodPe(P), top="bitmod_pe", key="bitmod-pe-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=_env("pe", jobs, tmp_path, P.latency))


def test_array_verilator_bit_exact(tmp_path):
    jobs = [make_job(300 + i, scheme, P.rows, P.cols, P.lanes, P.group_size, groups=3)
            for i, scheme in enumerate(SCHEMES)]
    jobs.append(make_job(399, "bitmod4", P.rows, P.cols, P.lanes, P.group_size, edge="acts"))
    build = hdl.build(lambda: BitmodArray(P), top="bitmod_array", key="bitmod-array-tiny")
    hdl.run(build, "cocotb_bitmod", test_dir=HERE,
            env=_env("array", jobs, tmp_path, P.latency))

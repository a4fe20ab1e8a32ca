"""Verilator + cocotb benches of the CSD chain and MPU (one shared build per configuration)."""
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bitflight.rtl.csd.chain import CsdChain
from bitflight.rtl.csd.mpu import Mpu
from bitflight.rtl.csd.vpu import Vpu
from bitflight.sim import hdl

from csd_cases import config_for, geometry

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("csd-verilator")]

# N fixed per run, mixed N (with skipped N = 0 blocks), INT4 with junk high nibbles, edge cases.
CASES = ([{"seed": 20 + n, "n": n, "tokens": 3} for n in (2, 4, 8, 16)]
         + [{"seed": 30, "n": "mixed", "tokens": 3, "k": 128},
            {"seed": 31, "n": "mixed", "bits": 4, "tokens": 2},
            {"seed": 32, "n": 16, "edge": "min", "tokens": 2, "k": 256},
            {"seed": 33, "n": 8, "edge": "min", "tokens": 2},
            {"seed": 34, "n": 16, "edge": "neg", "tokens": 2, "k": 256},
            {"seed": 35, "n": "mixed", "edge": "zero", "tokens": 2},
            {"seed": 36, "n": "mixed", "tokens": 2, "ready_prob": 0.5, "valid_prob": 0.8}])


def _chain_build(packed: bool):
    geo = geometry("tiny", packed=packed)
    return hdl.build(lambda: CsdChain(geo), top="csd_chain", key=f"csd-chain-tiny-p{int(packed)}")


def _run(build, env):
    hdl.run(build, "cocotb_csd", test_dir=HERE, env=env)


def test_chain_verilator_bit_exact():
    _run(_chain_build(False), {"CSD_TARGET": "chain", "CSD_PACKED": "0",
                               "CSD_CASES": json.dumps(CASES)})


@pytest.mark.slow
def test_packed_chain_verilator_bit_exact():
    _run(_chain_build(True), {"CSD_TARGET": "chain", "CSD_PACKED": "1",
                              "CSD_CASES": json.dumps(CASES)})


def test_packed_chain_of_dsp48e2_instances_verilator_bit_exact():
    """csd.dsp_instances: dsp48e2 (each slice an instantiated DSP48E2, cascaded on PCOUT ->
    PCIN), simulated with fpga/models/dsp48e2.v: the same results as the inferred chain."""
    geo = replace(geometry("tiny", packed=True), primitive="dsp48e2")
    build = hdl.build(lambda: CsdChain(geo), top="csd_chain", key="csd-chain-tiny-p1-dsp48e2")
    assert "module DSP48E2" in build.verilog.read_text()
    _run(build, {"CSD_TARGET": "chain", "CSD_PACKED": "1", "CSD_CASES": json.dumps(CASES)})


@pytest.mark.slow
def test_mpu_verilator_bit_exact():
    cfg = config_for("tiny")
    vpus = cfg.csd.vpus_per_mpu
    geo = geometry("tiny")
    build = hdl.build(lambda: Mpu(geo, vpus), top="csd_mpu", key=f"csd-mpu-tiny-v{vpus}")
    _run(build, {"CSD_TARGET": "mpu", "CSD_PACKED": "0", "CSD_VPUS": str(vpus),
                 "CSD_CASES": json.dumps(CASES[4:8])})


VPU_CASES = [{"seed": 50, "n": "mixed", "tokens": 3, "k": 64},
             {"seed": 51, "n": "mixed", "bits": 4, "tokens": 2},
             {"seed": 52, "n": 16, "edge": "min", "tokens": 2, "k": 256},
             {"seed": 53, "n": "mixed", "edge": "zero", "tokens": 2}]


@pytest.mark.slow
@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_vpu_verilator_rows_with_bias(packed):
    geo = geometry("tiny", packed=packed)
    build = hdl.build(lambda: Vpu(geo), top="csd_vpu", key=f"csd-vpu-tiny-p{int(packed)}")
    hdl.run(build, "cocotb_vpu", test_dir=HERE,
            env={"CSD_PACKED": str(int(packed)), "CSD_CASES": json.dumps(VPU_CASES)})


@pytest.mark.slow
def test_vpu_with_dsp48e2_row_accumulators_verilator():
    """csd.row_accumulator: dsp48e2 (each row and token in an instantiated DSP48E2's P register,
    simulated with fpga/models/dsp48e2.v), packed (two tokens): the same rows and the same
    cycle bound as the fabric accumulator."""
    geo = replace(geometry("tiny", packed=True), row_accumulator="dsp48e2")
    build = hdl.build(lambda: Vpu(geo), top="csd_vpu", key="csd-vpu-tiny-p1-rowdsp")
    assert len(re.findall(r"^\s+DSP48E2 #\(", build.verilog.read_text(), re.M)) \
        == geo.m * geo.tokens == 32
    hdl.run(build, "cocotb_vpu", test_dir=HERE,
            env={"CSD_PACKED": "1", "CSD_CASES": json.dumps(VPU_CASES)})

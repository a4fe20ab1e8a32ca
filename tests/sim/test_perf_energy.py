"""Energy of the BitMoD engine model (the authors' formula, docs/references.md#bitmod-3.3) on a
hand-worked case,
and energy in `bitflight perf` output when the config gives energies."""
import json

import pytest

from bitflight.base import config
from bitflight.sim.perf import bitmod_model
from bitflight.sim.perf.policy import PerfPolicy
from bitflight.sim.perf.workload import MatMul

TINY = config.load("tiny")      # prefill array 2x2 (4 PEs), 4 lanes, 32 KB weight SRAM


def energetic(tiny, pe=0.5, factor=1.5, dram=10.0, read=2.0, write=3.0):
    bm = tiny.bitmod.model_copy(update={"pe_energy_pj": pe, "pe_energy_factor": factor})
    mem = tiny.memory.model_copy(update={"energy_pj_per_bit": dram})
    en = tiny.energy.model_copy(update={"sram_read_pj_per_bit": read,
                                        "sram_write_pj_per_bit": write})
    return tiny.model_copy(update={"bitmod": bm, "memory": mem, "energy": en})


def test_energy_is_the_hand_computed_formula():
    """[2 tokens x 8] x [8 x 4], BitMoD W4 at 4 bits/weight, fp16 activations, on the 2x2 array:
    compute = ceil(8/4) x ceil(4/2) x ceil(2/2) x 2 term slots = 8 cycles -> PE 0.5 x 1.5 x 4 PEs
    x 8 = 24 pJ. DRAM: weights 4 rows x 4 B = 16 B, inputs 2 x 8 x 2 B = 32 B, outputs
    2 x 4 x 2 B = 16 B -> 64 B x 8 x 10 pJ = 5120 pJ. SRAM reads: 8 / 2 = 4 tile steps, each
    (4 lanes x 4 bits x 2 rows + 4 lanes x 16 bits x 2 cols) / 2 (bit-serial) = 80 bits -> 4 x 80
    x 2 pJ = 640 pJ. SRAM writes: the 48 B read from DRAM x 8 x 3 pJ = 1152 pJ. Total 6936 pJ."""
    cfg = energetic(TINY)
    pol = PerfPolicy(name="w4", engine="bitmod", scheme="bitmod", bits=4, weight_bits=4.0,
                     kv_bits=16, act_bits=16)
    t = bitmod_model.time_matmul(MatMul("x", "linear", 2, 8, 4), cfg, pol, "prefill")
    assert t.compute_cycles == 8
    assert (t.bytes_read, t.bytes_written) == (48, 16)
    assert t.energy_pj == pytest.approx(24 + 5120 + 640 + 1152)
    no_sram = energetic(TINY, read=None, write=None)
    assert bitmod_model.time_matmul(MatMul("x", "linear", 2, 8, 4), no_sram, pol,
                                    "prefill").energy_pj == pytest.approx(24 + 5120)
    assert bitmod_model.time_matmul(MatMul("x", "linear", 2, 8, 4), TINY, pol,
                                    "prefill").energy_pj is None       # tiny gives no energies


def test_attention_operand_width_is_kv_bits():
    """QK^T on the K cache (fp16): the weight-SRAM port carries 16-bit elements, 4 x 16 x 2."""
    cfg = energetic(TINY)
    pol = PerfPolicy(name="w4", engine="bitmod", bits=4, kv_bits=16, act_bits=16)
    op = MatMul("attn_qk", "attn_qk", 2, 8, 4)
    assert bitmod_model.sram_read_bits_per_step(cfg, pol, op, "prefill") == \
        (4 * 16 * 2 + 4 * 16 * 2) // 2


def test_perf_cli_reports_energy(capsys):
    from bitflight import cli
    assert cli.main(["perf", "--model", "opt-1.3b", "--config", "bitmod-asic", "--prompt-len",
                     "8", "--gen-len", "1", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]["energy_pj"]
    assert s["total"] == pytest.approx(s["prefill"] + s["decode"]) and s["decode"] > 0
    assert cli.main(["perf", "--model", "opt-1.3b", "--config", "u280", "--prompt-len", "8",
                     "--gen-len", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["energy_pj"] is None
    assert cli.main(["perf", "--reproduce", "bitmod", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert sum("energy over FP16" in n for n in names) == 8

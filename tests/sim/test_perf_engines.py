"""BitMoD and CSD analytical engine models against hand-worked cases."""
import math

import pytest

from bitflight.base import config
from bitflight.sim.perf import bitmod_model, csd_model
from bitflight.sim.perf.policy import PRESETS, PerfPolicy
from bitflight.sim.perf.traffic import with_refetch
from bitflight.sim.perf.workload import MatMul

TINY = config.load("tiny")      # 100 MHz, 12.8 GB/s: 128 B/cycle; bitmod 2x2 / 4x1 PEs, 4 lanes
KB = 1024


def _pol(**kw):
    base = dict(name="t", engine="bitmod", bits=4, weight_bits=4.0, kv_bits=16, act_bits=16)
    base.update(kw)
    return PerfPolicy(**base)


def test_bitmod_compute_cycles_hand_worked():
    op = MatMul("x", "linear", tokens=3, cin=10, cout=5)
    t = bitmod_model.time_matmul(op, TINY, _pol(), "prefill")
    # ceil(10/4 lanes) * ceil(5/2 rows) * ceil(3/2 cols) * 2 term slots (BitMoD 4-bit)
    assert t.compute_cycles == 3 * 3 * 2 * 2
    # weights ceil(10*4/8)=5 B per row x 5 rows; inputs 3*10*2 B; outputs 3*5*2 B; 128 B/cycle
    assert t.bytes_read == 25 + 60 and t.bytes_written == 30
    assert t.memory_cycles == pytest.approx((25 + 60 + 30) / 128)
    assert t.cycles == t.compute_cycles and t.bound == "compute"


def test_bitmod_decode_uses_decode_array():
    op = MatMul("x", "linear", tokens=1, cin=8, cout=9)
    t = bitmod_model.time_matmul(op, TINY, _pol(), "decode")
    assert t.compute_cycles == 2 * math.ceil(9 / 4) * 1 * 2


@pytest.mark.parametrize("policy, slots", [("bitmod-w3-g128", 2), ("bitmod-w4-g128", 2),
                                           ("bitmod-w6", 3), ("fp16", None)])
def test_cycles_per_weight_come_from_golden_term_slots(policy, slots):
    op = MatMul("x", "linear", 4, 16, 16)
    pol = PRESETS[policy]
    if slots is None:
        with pytest.raises(ValueError, match="no bit-serial term slots"):
            bitmod_model.cycles_per_weight(TINY, pol, op)
    else:
        assert bitmod_model.cycles_per_weight(TINY, pol, op) == slots


def test_bit_parallel_baseline_and_kv_cycles():
    fp16 = config.load(config.CONFIG_DIR / "baselines/fp16-asic.yaml")
    lin, att = MatMul("l", "linear", 4, 16, 16), MatMul("a", "attn_qk", 4, 16, 16)
    assert bitmod_model.cycles_per_weight(fp16, PRESETS["fp16"], lin) == 1
    asic = config.load("bitmod-asic")
    w3 = PRESETS["bitmod-w3-g128"]
    assert bitmod_model.cycles_per_weight(asic, w3, att) == asic.bitmod.kv_cycles
    assert bitmod_model.cycles_per_weight(asic, PRESETS["bitmod-w3-g128"], lin) == 2


def test_refetch_rule_branches():
    # fits: each operand read once
    assert with_refetch(100, 5000, 7, 512, 512).read == 5100
    # weights 4 KiB, inputs 1.5 KiB, 1 KiB buffers: re-read weights twice (8 + 1.5) or inputs
    # four times (6 + 4): the first moves fewer bytes
    t = with_refetch(4 * KB, 1.5 * KB, 0, KB, KB)
    assert (t.weight_fetches, t.input_fetches) == (2, 1) and t.read == 9.5 * KB
    t = with_refetch(1.5 * KB, 4 * KB, 0, KB, KB)
    assert (t.weight_fetches, t.input_fetches) == (1, 2) and t.read == 9.5 * KB
    t = with_refetch(3 * KB, 1.5 * KB, 0, KB, KB)     # a tie (7.5 each) re-reads the inputs
    assert (t.weight_fetches, t.input_fetches) == (1, 3)


def test_csd_mv_hand_worked_and_density():
    op = MatMul("x", "linear", tokens=1, cin=64, cout=5)
    pol = PerfPolicy(name="c", engine="csd", scheme="int_sym", bits=8, weight_bits=8, kv_bits=8,
                     act_bits=8)
    t = csd_model.time_matmul(op, TINY, pol, "decode")
    assert t.compute_cycles == 4 * 3          # ceil(64/16) K blocks x ceil(5 / 2 MV chains)
    assert t.bytes_read == 64 * 5 and t.bytes_written == 0     # activations stay on chip
    half = pol.model_copy(update={"density": {"x": 0.5}})
    assert csd_model.time_matmul(op, TINY, half, "decode").compute_cycles == 2 * 3


def test_csd_mm_parallelism_matches_artifact():
    """U280 config, MM mode: 8 DSPs x 32 tokens x 16 chains = 4096 MACs per core per cycle
    (the artifact's 2 x 16 x 128); MV mode: 64 x 16 = 1024 per core."""
    u = config.load("u280")
    p_m, p_k, p_n = csd_model.parallelism(u, "prefill")
    assert p_m * p_k * p_n == 4096
    assert math.prod(csd_model.parallelism(u, "decode")) == 1024
    vhk = config.load("vhk158")
    assert csd_model.core_speedup(vhk) == pytest.approx(3.2)


def test_csd_decode_writes_only_new_kv():
    u = config.load("u280")
    k = MatMul("k_proj", "linear", 1, 4096, 4096, out_is_kv=True)
    t = csd_model.time_matmul(k, u, PRESETS["flightllm-int4"], "decode")
    assert t.bytes_written == 4096                # one int8 K row


def test_kv_efficiency_slows_only_cache_traffic():
    u = config.load("u280")
    att = MatMul("attn_qk", "attn_qk", 1, 128, 512, batch=32)
    t = csd_model.time_matmul(att, u, PRESETS["flightllm-int4"], "decode")
    per_cycle = u.memory.bandwidth_gbps * 1e9 / u.clock_hz * u.memory.kv_efficiency
    assert t.memory_cycles == pytest.approx(32 * 128 * 512 / per_cycle)


def test_engine_missing_is_one_line_error():
    from bitflight.sim.perf.analyze import engine_for
    with pytest.raises(ValueError, match="needs a csd engine but config 'bitmod-asic' has only: "
                                         "bitmod"):
        engine_for(config.load("bitmod-asic"), PRESETS["flightllm-int4"])

"""Perf policies (bytes from the golden packed layout) and roofline conventions."""
import pytest

from bitflight.golden import quant
from bitflight.golden.model_shapes import load_shape
from bitflight.sim.perf import roofline
from bitflight.sim.perf.devices import load_device
from bitflight.sim.perf.policy import PRESETS, PerfPolicy
from bitflight.sim.perf.policy_loader import load_policy
from bitflight.sim.perf.workload import MatMul, decode_step


def test_bitmod_bytes_equal_a_real_packed_weight():
    """The policy's byte count is the size of an actually packed golden QuantizedWeight."""
    import torch
    w = torch.randn(48, 256, generator=torch.Generator().manual_seed(1))
    packed = quant.quantize(w, "bitmod", 4, group_size=128, scale_mode="int").pack()
    from bitflight.golden.quant import packing
    op = MatMul("x", "linear", 1, 256, 48)
    assert PRESETS["bitmod-w4-g128"].weight_bytes(op) == len(packed) - packing.HEADER_SIZE


def test_explicit_bits_use_per_row_rounding_and_fp16_is_two_bytes():
    op = MatMul("x", "linear", 1, 10, 3)
    assert PerfPolicy(name="p", engine="bitmod", weight_bits=4.0625).weight_bytes(op) == 6 * 3
    assert PRESETS["fp16"].weight_bytes(op) == 60
    kv = MatMul("attn_qk", "attn_qk", 1, 128, 100, batch=8)
    assert PRESETS["flightllm-int4"].weight_bytes(kv) == 8 * 128 * 100      # int8 K cache


def test_sparse_bytes_follow_the_nm_layout():
    dense = PRESETS["bitmod-w3-g128"]
    sparse = PRESETS["bitmod-w3-nm8"]
    op = MatMul("q_proj", "linear", 1, 4096, 4096)
    value_bits = 8 * dense.weight_bytes(op) / 4096 ** 2
    expected = (0.5 * 4096 ** 2 * (value_bits + 4) + 8 * 256 * 256) / 8
    assert sparse.weight_bytes(op) == pytest.approx(expected)
    assert sparse.density_of(MatMul("lm_head", "linear", 1, 8, 8)) == 1.0


@pytest.mark.parametrize("text, message", [
    ("name: x\nengine: gpu\n", "engine: Input should be 'bitmod' or 'csd'"),
    ("name: x\nengine: csd\ndensity: {q_proj: 1.5}\n", "density.q_proj: 1.5 is not in (0, 1]"),
    ("name: x\nengine: csd\nbogus: 1\n", "bogus: Extra inputs are not permitted"),
    ("name: x\nengine: bitmod\nbits: 5\n", "bits: bitmod has no 5-bit grids (3 or 4)"),
])
def test_policy_yaml_errors_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "pol.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_policy_yaml_round_trip_and_unknown_preset(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: mine\nengine: csd\nscheme: int_sym\nbits: 8\nkv_bits: 8\nact_bits: 8\n")
    assert load_policy(path).bits == 8
    with pytest.raises(ValueError, match=r"unknown policy 'w2' \(perf presets: fp16.*project "):
        load_policy("w2")


def test_roofline_point_conventions():
    dev = load_device("a6000")
    roof = roofline.device_roof(dev)
    assert roof.ridge == pytest.approx(154.8385e12 / 768e9)
    s = load_shape("llama2-7b")
    for pt in roofline.points(decode_step(s, 100), PRESETS["fp16"], roof):
        assert pt.seconds == max(pt.ops / roof.peak_ops, pt.bytes / roof.bandwidth)
        assert (pt.bound == "memory") == (pt.intensity <= roof.ridge)
        assert pt.attainable <= roof.peak_ops


def test_config_roof_peaks():
    from bitflight.base import config
    asic = config.load("bitmod-asic")
    r = roofline.config_roof(asic, PRESETS["bitmod-w4-g128"], "prefill")
    assert r.peak_ops == 2 * 1024 * 4 / 2 * 1e9      # 1024 PEs x 4 lanes / 2 cycles, 1 GHz
    assert r.bandwidth == 32e9


def test_device_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown device 'h100'"):
        load_device("h100")
    bad = tmp_path / "d.yaml"
    bad.write_text("name: d\nsource: s\nbandwidth_gbps: -1\npeak_tops: {fp16: 1}\n")
    with pytest.raises(ValueError, match="d.yaml: bandwidth_gbps: Input should be greater than 0"):
        load_device(bad)
    with pytest.raises(ValueError, match="has no peak for int4"):
        load_device("a6000").peak_ops("int4")


def test_project_policy_is_read_per_operation():
    """configs/policies/flightllm.yaml: INT4 per-row scales, MLP 50% N:M, lm_head INT8."""
    s = load_shape("llama2-7b")
    pol = load_policy("flightllm", s)
    assert (pol.engine, pol.act_bits, pol.kv_bits) == ("csd", 8, 8)
    ops = {op.name: op for op in decode_step(s, 8).matmuls}
    assert pol.density_of(ops["gate_proj"]) == 0.5 and pol.density_of(ops["q_proj"]) == 1.0
    head = pol.numerics_of(ops["lm_head"])
    assert (head.scheme, head.bits, head.group_size) == ("int_sym", 8, None)
    # bitmod-w4 (g128, fp16 scales): bytes of the golden layout, 4 + (16 + 2) / 128 bits plus
    # nothing else for a 4096-wide row (no per-row scale in fp16 mode)
    w4 = load_policy("bitmod-w4", s)
    assert w4.stored_bits_per_weight(ops["q_proj"]) == pytest.approx(4 + 18 / 128)


def test_project_policy_with_layer_dependent_formats_is_refused(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text("name: mixed\nengine: bitmod\nactivations: fp16\nkv_cache: fp16\n"
                    "default: {scheme: bitmod, bits: 4}\n"
                    "rules:\n  - match: 'model.layers.0.*'\n    weight: {bits: 3}\n")
    with pytest.raises(ValueError, match=r"model.layers.1.self_attn.q_proj has a different "
                                         r"format from layer 0"):
        load_policy(path, load_shape("llama2-7b"))
    with pytest.raises(ValueError, match="needs the model shape"):
        load_policy("bitmod-w4")


def test_int_scheme_names_are_golden_policys(tmp_path):
    """The perf schema says int_sym / int_asym, as golden.policy; the old 'int' is refused with
    a one-line error naming the file and the new names; int_asym stores zero points too."""
    import pytest as _pytest
    from bitflight.sim.perf.policy import PerfPolicy
    from bitflight.sim.perf.policy_loader import load_policy
    from bitflight.sim.perf.workload import MatMul
    bad = tmp_path / "old.yaml"
    bad.write_text("name: old\nengine: csd\nscheme: int\nbits: 4\n")
    with _pytest.raises(ValueError, match=r"old\.yaml.*scheme 'int' is now 'int_sym'") as e:
        load_policy(bad)
    assert "\n" not in str(e.value)
    op = MatMul("q", "linear", 1, 256, 64)
    sym, asym = (PerfPolicy(name=s, engine="csd", scheme=s, bits=4, group_size=128,
                            scale_mode="fp16") for s in ("int_sym", "int_asym"))
    assert asym.weight_bytes(op) > sym.weight_bytes(op)
    assert sym.term_slots_of(op) == asym.term_slots_of(op)

"""Policy schema: the shipped policies, per-layer rule resolution, engine checks, errors."""
import pytest

from bitflight.golden.policy import PolicyError, available, load_policy


def test_shipped_policies():
    assert {"bitmod-w4", "bitmod-w3", "flightllm"} <= set(available())
    p = load_policy("bitmod-w4")
    assert (p.engine, p.activations, p.kv_cache) == ("bitmod", "fp16", "fp16")
    spec = p.weight_for("model.layers.7.self_attn.q_proj")
    assert (spec.scheme, spec.bits, spec.group_size) == ("bitmod", 4, 128)
    f = load_policy("flightllm")
    assert (f.engine, f.activations, f.kv_cache) == ("csd", "int8", "int8")
    mlp = f.weight_for("model.layers.0.mlp.down_proj")
    assert mlp.sparsity.density == 0.5 and mlp.bits == 4 and mlp.group_size is None
    assert f.weight_for("model.layers.0.self_attn.o_proj").sparsity is None
    assert f.weight_for("lm_head").bits == 8


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


BASE = "name: t\nengine: bitmod\nactivations: fp16\nkv_cache: fp16\n" \
       "default: {scheme: bitmod, bits: 4}\n"


def test_later_rules_override_field_by_field(tmp_path):
    p = load_policy(write(tmp_path, BASE + "rules:\n"
                          "  - {match: '*.mlp.*', weight: {bits: 3}}\n"
                          "  - {match: '*.down_proj', weight: {group_size: 32}}\n"))
    down = p.weight_for("model.layers.1.mlp.down_proj")
    assert (down.bits, down.group_size, down.scheme) == (3, 32, "bitmod")
    assert p.weight_for("model.layers.1.mlp.up_proj").group_size == 128
    assert p.weight_for("model.layers.1.self_attn.v_proj").bits == 4


@pytest.mark.parametrize("text,msg", [
    (BASE + "extra: 1\n", r"p\.yaml: extra: Extra inputs are not permitted"),
    (BASE.replace("activations: fp16", "activations: int8"),
     "engine bitmod computes with fp16 activations"),
    (BASE.replace("scheme: bitmod, bits: 4", "scheme: nf4, bits: 4"),
     "engine bitmod cannot compute nf4"),
    (BASE + "rules:\n  - {match: lm_head, weight: {sparsity: {n: 4}}}\n",
     "rules.0: N:M sparsity needs engine csd"),
    (BASE.replace("scheme: bitmod, bits: 4", "scheme: fp16, bits: 4"),
     "scheme fp16 goes with bits 16"),
    ("name: t\nengine: csd\nactivations: int8\nkv_cache: int8\n"
     "default: {scheme: int_sym, bits: 4, sparsity: {n: 4, density: 0.5}}\n",
     "give exactly one of n or density"),
    ("- a\n- b\n", "expected a mapping"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_bad_policies(tmp_path, text, msg):
    with pytest.raises(PolicyError, match=msg) as e:
        load_policy(write(tmp_path, text))
    assert "\n" not in str(e.value)


def test_unknown_policy_name():
    with pytest.raises(PolicyError, match="unknown policy 'w5'.*bitmod-w4"):
        load_policy("w5")

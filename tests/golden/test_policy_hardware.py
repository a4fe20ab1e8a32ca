"""golden.policy.check_engine_groups: a policy's groups against a hardware config's BitMoD
engine, and the compiler refusing (one line, no traceback) a policy whose group cannot run."""
from __future__ import annotations

import pytest

from bitflight.base import config
from bitflight.compiler import llama_ir, target as tg
from bitflight.golden.llm import LlamaConfig
from bitflight.golden.policy import PolicyError, check_engine_groups, load_policy

# SmolLM2-135M's linears: K = 576 (hidden) or 1536 (intermediate, down_proj)
SMOLLM2 = [("model.layers.0.self_attn.q_proj", 576), ("model.layers.0.mlp.down_proj", 1536),
           ("lm_head", 576)]


def _policy(tmp_path, default: str, rules: str = ""):
    path = tmp_path / "p.yaml"
    path.write_text("name: odd\nengine: bitmod\nactivations: fp16\nkv_cache: fp16\n"
                    f"default: {default}\n{rules}")
    return load_policy(path)


@pytest.mark.parametrize("cfg", ["tiny", "bitmod-asic"])
@pytest.mark.parametrize("name", ["bitmod-w4", "bitmod-w3"])
def test_shipped_policies_run_on_configs_whose_reference_group_differs(name, cfg):
    """tiny's reference group is 32, the policies' 128: the array takes the group length from
    the stream, so only lanes matter (and the RTL benches run group 128 on the tiny array)."""
    hw = config.load(cfg)
    check_engine_groups(load_policy(name), SMOLLM2, hw)
    assert 128 % hw.bitmod.lanes == 0


def test_group_not_a_multiple_of_lanes_names_policy_layer_and_field(tmp_path):
    pol = _policy(tmp_path, "{scheme: bitmod, bits: 4, group_size: 128}",
                  "rules:\n  - {match: '*.down_proj', weight: {group_size: 30}}\n")
    with pytest.raises(PolicyError) as err:
        check_engine_groups(pol, SMOLLM2, config.load("tiny"))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("policy 'odd', layer 'model.layers.0.mlp.down_proj': group_size 30 "
                          "cannot run on config 'tiny': bitmod.lanes = 4 does not divide it")


def test_per_row_groups_use_k_and_fp16_layers_have_no_group(tmp_path):
    per_row = _policy(tmp_path, "{scheme: int_sym, bits: 8, group_size: null}")
    check_engine_groups(per_row, SMOLLM2, config.load("tiny"))
    with pytest.raises(PolicyError, match=r"'lm_head': group_size null \(one group of K = 578\)"):
        check_engine_groups(per_row, [("lm_head", 578)], config.load("tiny"))
    fp16 = _policy(tmp_path, "{scheme: fp16, bits: 16, group_size: 30}")
    check_engine_groups(fp16, [("lm_head", 578)], config.load("tiny"))


def test_compiler_refuses_the_policy_before_packing(tmp_path):
    cfg = LlamaConfig(name="small", layers=1, hidden=64, heads=4, kv_heads=2, head_dim=16,
                      intermediate=128, vocab=64, max_position=32, tied_embeddings=False)
    graph = llama_ir.build(llama_ir.dims_from_golden(cfg))
    pol = _policy(tmp_path, "{scheme: bitmod, bits: 4, group_size: 18}")
    with pytest.raises(PolicyError, match="policy 'odd', layer '.*': group_size 18 cannot run"):
        tg.build_target(graph, config.load("tiny"), pol, None, max_pos=32)

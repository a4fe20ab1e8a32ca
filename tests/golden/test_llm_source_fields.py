"""Model-file fields the golden model does not implement are refused with one line naming them
(HF config.json and tensors, GGUF metadata and tensors); see the decision table in docs/llm.md."""
import json
import shutil

import numpy as np
import pytest
import torch

from bitflight.golden.llm import LlamaConfig, load_model
from bitflight.golden.llm.hf_config import IGNORED, IMPLEMENTED, REQUIRED_VALUE
from bitflight.golden.llm.weights import random_weights

TINY = LlamaConfig(name="tiny", layers=1, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=96, vocab=128, tied_embeddings=False)


def _hf(cfg, w):
    from transformers import LlamaConfig as HFConfig, LlamaForCausalLM
    hc = HFConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, intermediate_size=cfg.intermediate,
                  num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads,
                  num_key_value_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                  tie_word_embeddings=cfg.tied_embeddings)
    m = LlamaForCausalLM(hc).eval()
    m.load_state_dict({**w, **({"lm_head.weight": w["model.embed_tokens.weight"]}
                               if cfg.tied_embeddings else {})}, strict=False)
    return m


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "tiny"
    _hf(TINY, random_weights(TINY, seed=1)).save_pretrained(str(folder))
    return folder


def _variant(saved, tmp_path, **change):
    folder = tmp_path / "m"
    shutil.copytree(saved, folder)
    c = json.loads((folder / "config.json").read_text())
    c.update(change)
    (folder / "config.json").write_text(json.dumps(c))
    return folder


def _refused(folder, pattern):
    with pytest.raises(ValueError, match=pattern) as info:
        load_model(str(folder))
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


ROPE = {"rope_theta": 1e4}


@pytest.mark.parametrize("change, pattern", [
    ({"attention_bias": True}, r"config\.json: attention_bias = true is not supported"),
    ({"mlp_bias": True}, r"mlp_bias = true is not supported"),
    ({"hidden_act": "gelu"}, r"hidden_act = \"gelu\" is not supported .*\"silu\""),
    ({"sliding_window": 4096}, r"sliding_window = 4096 is not supported"),
    ({"quantization_config": {"quant_method": "gptq"}}, r"quantization_config = .* not supp"),
    ({"pruned_heads": {"0": [1]}}, r"pruned_heads"),
    ({"attn_logit_softcapping": 50.0},
     r"field 'attn_logit_softcapping' is not a LLaMA field bitflight implements"),
    ({"architectures": ["LlamaForSequenceClassification"]}, r"architectures .* not supported"),
    ({"rope_parameters": {**ROPE, "rope_type": "yarn", "factor": 4.0}},
     r"rope_parameters\.rope_type 'yarn' is not supported \(supported: default, llama3\)"),
    ({"rope_parameters": {**ROPE, "rope_type": "linear", "factor": 2.0}}, r"'linear'"),
    ({"rope_parameters": {**ROPE, "rope_type": "default", "factor": 2.0}},
     r"rope_parameters\.factor is not supported with rope_type 'default'"),
    ({"rope_parameters": {**ROPE, "rope_type": "llama3", "factor": 8.0}},
     r"rope_parameters\.low_freq_factor missing"),
    ({"rope_parameters": {**ROPE, "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0,
                          "high_freq_factor": 1.0}}, r"low_freq_factor < high_freq_factor"),
    ({"rope_parameters": {**ROPE, "partial_rotary_factor": 0.5}},
     r"partial_rotary_factor = 0\.5 is not supported"),
    ({"rope_parameters": {"full_attention": ROPE, "sliding_attention": ROPE}},
     r"rope_parameters per layer type is not supported"),
    ({"head_dim": None, "hidden_size": 66}, r"hidden_size 66 is not a multiple of "
                                            r"num_attention_heads 4 and head_dim is not given"),
    ({"head_dim": 15}, r"head_dim 15 must be even"),
    ({"num_key_value_heads": 3}, r"config\.json: kv_heads 3 does not divide heads 4"),
    ({"head_dim": 32}, r"weight 'model\.layers\.0\.self_attn\.q_proj\.weight' has shape "
                       r"\(64, 64\), expected \(128, 64\)"),
    ({"num_hidden_layers": "2"}, r"num_hidden_layers must be an integer"),
])
def test_hf_field_is_refused_with_its_name(saved, tmp_path, change, pattern):
    _refused(_variant(saved, tmp_path, **change), pattern)


def test_every_transformers_llama_field_has_a_decision():
    from transformers import LlamaConfig as HFConfig
    fields = set(HFConfig().to_dict())
    undecided = fields - IMPLEMENTED - IGNORED - set(REQUIRED_VALUE)
    assert not undecided


def test_harmless_fields_are_accepted(saved, tmp_path):
    folder = _variant(saved, tmp_path, torch_dtype="bfloat16", pretraining_tp=2, temperature=0.6,
                      sliding_window=None, eos_token_id=[2, 7], hidden_act="silu")
    assert load_model(str(folder)).config.eos_token_id == 2


def _rewrite_tensors(folder, change):
    from safetensors.torch import load_file, save_file
    path = next(folder.glob("*.safetensors"))
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


def test_tied_config_with_a_different_stored_head_is_refused(saved, tmp_path):
    _refused(_variant(saved, tmp_path, tie_word_embeddings=True),
             r"tie_word_embeddings = true, but the safetensors hold an lm_head\.weight different")


def test_tied_config_with_an_equal_stored_head_is_accepted(saved, tmp_path):
    folder = _variant(saved, tmp_path, tie_word_embeddings=True)
    _rewrite_tensors(folder, lambda t: t.update(
        {"lm_head.weight": t["model.embed_tokens.weight"].clone()}))
    assert load_model(str(folder)).config.tied_embeddings


def test_untied_config_without_a_head_is_refused(saved, tmp_path):
    folder = _variant(saved, tmp_path)
    _rewrite_tensors(folder, lambda t: t.pop("lm_head.weight"))
    _refused(folder, r"tie_word_embeddings = false, but the safetensors hold no lm_head\.weight")


def test_bias_tensor_is_refused_even_when_the_config_does_not_say_so(saved, tmp_path):
    folder = _variant(saved, tmp_path)
    _rewrite_tensors(folder, lambda t: t.update(
        {"model.layers.0.self_attn.q_proj.bias": torch.zeros(64)}))
    _refused(folder, r"unexpected tensor 'model\.layers\.0\.self_attn\.q_proj\.bias'")


# -- GGUF ---------------------------------------------------------------------------------------
def _gguf(tmp_path, kv=(), tensors=()):
    import gguf

    from bitflight.golden.llm import gguf_write
    path = tmp_path / "t.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    for key, value in kv:
        (w.add_string if isinstance(value, str) else
         w.add_float32 if isinstance(value, float) else w.add_uint32)(key, value)
    for name, shape in tensors:
        w.add_tensor(name, np.zeros(shape, dtype=np.float32))
    gguf_write._write(w, TINY, random_weights(TINY, seed=2), gguf.GGMLQuantizationType.F32)
    return path


@pytest.mark.parametrize("kv, tensors, pattern", [
    ([("llama.rope.scaling.type", "yarn")], [],
     r"GGUF metadata 'llama\.rope\.scaling\.type' = 'yarn' is not supported"),
    ([("llama.rope.scaling.factor", 4.0)], [], r"'llama\.rope\.scaling\.factor' = 4\.0"),
    ([("llama.expert_count", 8)], [], r"'llama\.expert_count' = 8 is not supported"),
    ([("llama.attention.sliding_window", 4096)], [],
     r"'llama\.attention\.sliding_window' is not a LLaMA key bitflight implements"),
    ([("llama.attention.value_length", 32)], [],
     r"'llama\.attention\.value_length' = 32 differs from 16"),
    ([], [("rope_freqs.weight", (8,))],
     r"unexpected tensor 'rope_freqs\.weight' \(LLaMA-3 RoPE frequency factors"),
    ([], [("blk.0.attn_q.bias", (64,))], r"unexpected tensor 'blk\.0\.attn_q\.bias'"),
])
def test_gguf_field_is_refused_with_its_name(tmp_path, kv, tensors, pattern):
    path = _gguf(tmp_path, kv, tensors)
    _refused(path, pattern)


def test_gguf_without_scaling_spelled_out_is_accepted(tmp_path):
    path = _gguf(tmp_path, [("llama.rope.scaling.type", "none"),
                            ("llama.rope.scaling.factor", 1.0)])
    assert load_model(str(path)).config.layers == 1


# -- shape-only configs --------------------------------------------------------------------------
@pytest.mark.parametrize("edit, pattern", [
    (("attn_bias: false", "attn_bias: true"), r"attn_bias = True is not supported by the golden"),
    (("activation: silu", "activation: gelu"), r"activation = gelu is not supported"),
])
def test_shape_config_names_the_unsupported_feature(tmp_path, edit, pattern):
    from bitflight.golden.model_shapes import MODELS_DIR
    text = (MODELS_DIR / "smollm2-135m.yaml").read_text()
    if edit[0] not in text:
        text += f"\n{edit[0]}\n"
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(ValueError, match=pattern):
        load_model(str(path))
    with pytest.raises(ValueError, match=r"phi-2: arch = phi is not supported"):
        load_model("phi-2")

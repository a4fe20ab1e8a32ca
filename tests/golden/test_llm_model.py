"""Float golden LLaMA vs transformers' LlamaForCausalLM, KV-cache decoding, GGUF round trips."""
import numpy as np
import pytest
import torch

from bitflight.golden.llm import LlamaConfig, LlamaModel, load_model
from bitflight.golden.llm.gguf_write import write_llama_gguf
from bitflight.golden.llm.weights import permute_rope_rows, random_weights, unpermute_rope_rows

TINY = LlamaConfig(name="tiny", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=96, vocab=128, rope_theta=50000.0, norm_eps=1e-5)


def hf_model(cfg, weights):
    from transformers import LlamaConfig as HFConfig, LlamaForCausalLM
    hc = HFConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, intermediate_size=cfg.intermediate,
                  num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads,
                  num_key_value_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                  rms_norm_eps=cfg.norm_eps, rope_theta=cfg.rope_theta,
                  max_position_embeddings=cfg.max_position,
                  tie_word_embeddings=cfg.tied_embeddings)
    m = LlamaForCausalLM(hc).eval()
    sd = dict(weights)
    if cfg.tied_embeddings:
        sd["lm_head.weight"] = weights["model.embed_tokens.weight"]
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected and all("rotary" in k for k in missing)
    return m


@pytest.mark.parametrize("tied", [True, False])
def test_float_model_matches_transformers(tied):
    cfg = LlamaConfig(**{**TINY.__dict__, "tied_embeddings": tied})
    w = random_weights(cfg, seed=3)
    ids = torch.randint(0, cfg.vocab, (2, 11), generator=torch.Generator().manual_seed(0))
    ours = LlamaModel(cfg, w)(ids)
    with torch.no_grad():
        ref = hf_model(cfg, w)(ids).logits
    assert ours.shape == (2, 11, cfg.vocab) and ours.dtype == torch.float32
    # float32 round-off: a few ulp of |logits| (<~1) accumulated over 2 layers.
    assert torch.allclose(ours, ref, atol=1e-5, rtol=1e-5), (ours - ref).abs().max()


def test_kv_cache_decode_equals_full_recomputation():
    w = random_weights(TINY, seed=5)
    model = LlamaModel(TINY, w)
    ids = torch.randint(0, TINY.vocab, (3, 10), generator=torch.Generator().manual_seed(1))
    full = model(ids)
    logits, cache = model.prefill(ids[:, :4])
    steps = [logits]
    for t in range(4, 10):
        steps.append(model.decode(ids[:, t], cache))
    assert cache.length == 10
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_rope_permutation_round_trip_and_layout():
    w = np.arange(4 * 8 * 3, dtype=np.float32).reshape(32, 3)   # 4 heads of width 8
    assert np.array_equal(unpermute_rope_rows(permute_rope_rows(w, 4), 4), w)
    g = permute_rope_rows(w, 4)
    # llama.cpp pairs (x_j, x_{j+d/2}) of HF as adjacent rows 2j, 2j+1 in each head
    assert np.array_equal(g[8 + 2 * 1], w[8 + 1]) and np.array_equal(g[8 + 2 * 1 + 1], w[8 + 1 + 4])


def test_gguf_f32_round_trip_matches_transformers_gguf_loader(tmp_path):
    """Our GGUF reader (with the Q/K un-permutation) and transformers' read the same file."""
    from transformers import AutoModelForCausalLM
    w = random_weights(TINY, seed=7)
    path = write_llama_gguf(tmp_path / "tiny.gguf", TINY, w, "F32")
    ours = load_model(str(path))
    assert ours.config.layers == 2 and ours.config.kv_heads == 2 and ours.config.rope_theta == 5e4
    ids = torch.randint(0, TINY.vocab, (1, 9), generator=torch.Generator().manual_seed(2))
    hf = AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file="tiny.gguf",
                                              dtype=torch.float32)
    with torch.no_grad():
        ref = hf(ids).logits
    assert torch.equal(ours(ids), LlamaModel(TINY, w)(ids))
    assert torch.allclose(ours(ids), ref, atol=1e-5, rtol=1e-5)


def test_hf_folder_loads(tmp_path):
    w = random_weights(TINY, seed=9)
    hf_model(TINY, w).save_pretrained(str(tmp_path))
    ours = load_model(str(tmp_path))
    ids = torch.arange(12)[None] % TINY.vocab
    assert torch.allclose(ours(ids), LlamaModel(TINY, w)(ids), atol=1e-6)


def test_shape_only_config_gives_seeded_random_model(tmp_path):
    from bitflight.golden.llm.loader import resolve
    kind, cfg = resolve("smollm2-135m")
    assert kind == "shape" and (cfg.layers, cfg.hidden, cfg.heads, cfg.kv_heads) == (30, 576, 9, 3)
    assert (cfg.intermediate, cfg.vocab, cfg.rope_theta, cfg.tied_embeddings) == \
        (1536, 49152, 1e5, True)
    from bitflight.golden.model_shapes import MODELS_DIR
    text = (MODELS_DIR / "smollm2-135m.yaml").read_text()
    for field, value in (("layers", 2), ("hidden", 32), ("intermediate", 48), ("vocab", 64),
                         ("heads", 4), ("kv_heads", 2), ("head_dim", 8)):
        text = "\n".join(f"{field}: {value}" if line.startswith(f"{field}:") else line
                         for line in text.splitlines())
    path = tmp_path / "mini.yaml"
    path.write_text(text)
    a, b, c = (load_model(str(path), seed=s) for s in (1, 1, 2))
    key = "model.layers.1.self_attn.k_proj.weight"
    assert a.weights[key].shape == (16, 32) and torch.equal(a.weights[key], b.weights[key])
    assert not torch.equal(a.weights[key], c.weights[key])
    assert a(torch.arange(5)[None]).shape == (1, 5, 64)


def test_hf_folder_unsupported_architecture(tmp_path):
    import json
    hf_model(TINY, random_weights(TINY)).save_pretrained(str(tmp_path))
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "model_type": "qwen2"}))
    with pytest.raises(ValueError, match=r"config\.json: model_type 'qwen2' is not supported"):
        load_model(str(tmp_path))


def test_hf_folder_errors(tmp_path):
    with pytest.raises(ValueError, match=r"config\.json: not found"):
        load_model(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        load_model(str(tmp_path))


@pytest.mark.parametrize("tied", [True, False])
def test_first_layers_is_the_shorter_transformers_model(tied):
    """A model cut to one layer and 100 tokens computes what transformers computes with that
    one layer and the first 100 embedding/head rows (an independent implementation)."""
    cfg = LlamaConfig(**{**TINY.__dict__, "tied_embeddings": tied})
    w = random_weights(cfg, seed=7)
    cut = LlamaModel(cfg, w).first_layers(1, vocab=100)
    assert (cut.config.layers, cut.config.vocab) == (1, 100)
    assert not any(name.startswith("model.layers.1.") for name in cut.weights)
    short = {name: t[:100] if name in ("model.embed_tokens.weight", "lm_head.weight") else t
             for name, t in w.items() if not name.startswith("model.layers.1.")}
    ids = torch.randint(0, 100, (2, 9), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = hf_model(cut.config, short)(ids).logits
    ours = cut(ids)
    assert ours.shape == (2, 9, 100)
    assert torch.allclose(ours, ref, atol=1e-5, rtol=1e-5), (ours - ref).abs().max()
    for layers, vocab in ((0, None), (3, None), (1, 0), (1, 129)):
        with pytest.raises(ValueError, match="cannot keep"):
            LlamaModel(cfg, w).first_layers(layers, vocab)


def test_layer_suffix_of_a_model_spec(tmp_path):
    from bitflight.base.errors import ModelError
    from bitflight.golden.model_shapes import MODELS_DIR
    path = tmp_path / "mini.yaml"
    path.write_text((MODELS_DIR / "smollm2-135m.yaml").read_text()
                    .replace("layers: 30", "layers: 3").replace("vocab: 49152", "vocab: 64")
                    .replace("hidden: 576", "hidden: 32").replace("intermediate: 1536",
                                                                 "intermediate: 48"))
    whole, cut = load_model(str(path), seed=4), load_model(f"{path}:2", seed=4)
    assert (whole.config.layers, cut.config.layers) == (3, 2)
    assert cut.weights.keys() == {n for n in whole.weights if ".layers.2." not in n}
    assert all(torch.equal(cut.weights[n], whole.weights[n]) for n in cut.weights)
    with pytest.raises(ModelError, match=r"mini.yaml:4: .*cannot keep 4 of 3 layers"):
        load_model(f"{path}:4")

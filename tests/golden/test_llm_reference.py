"""golden.llm.reference: the float golden model against transformers, and its tolerance."""
import pytest
import torch

from bitflight.golden.llm import LlamaConfig, LlamaModel, reference
from bitflight.golden.llm.weights import random_weights

CFG = LlamaConfig(name="t", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
                  intermediate=96, vocab=128, tied_embeddings=True)


def test_tolerance_is_layers_plus_one_dot_product_bounds_of_the_largest_logit():
    smollm2 = LlamaConfig(name="s", layers=30, hidden=576, heads=9, kv_heads=3, head_dim=64,
                          intermediate=1536, vocab=49152)
    u = 2.0 ** -24
    gamma = 1536 * u / (1 - 1536 * u)                      # K = intermediate, the longest
    assert reference.tolerance(smollm2, torch.tensor([-33.0, 2.0])) == pytest.approx(
        31 * gamma * 33.0, rel=1e-12)
    # small models: the 1e-4 floor, relative to at least 1
    assert reference.tolerance(CFG, torch.tensor([0.25])) == pytest.approx(1e-4)


def test_golden_model_passes_and_a_wrong_one_fails():
    golden = LlamaModel(CFG, random_weights(CFG, seed=1))
    hf = reference.from_golden(golden)
    ids = torch.arange(20) % CFG.vocab
    good = reference.compare(golden, hf, ids, "test")
    assert good.ok and good.max_diff < 1e-5 and "<= tolerance" in good.line()
    wrong = LlamaModel(LlamaConfig(**{**CFG.__dict__, "rope_theta": 500.0}), golden.weights)
    bad = reference.compare(wrong, hf, ids, "test")
    assert not bad.ok and "EXCEEDS tolerance" in bad.line()


def test_shape_configs_have_no_transformers_checkpoint():
    assert reference.load_transformers("smollm2-135m") == (None, reference.SHAPE_ONLY)


def test_a_file_transformers_cannot_load_is_reported_not_raised(tmp_path):
    from bitflight.golden.llm.gguf_write import write_llama_gguf
    path = write_llama_gguf(tmp_path / "t.gguf", CFG, random_weights(CFG), "F32", arch="grok")
    model, why = reference.load_transformers(str(path))
    assert model is None and why.startswith(f"transformers cannot load {path} (")

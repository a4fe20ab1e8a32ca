"""golden.llm.export: the nn.Module view runs the golden decoder itself, so it and the program
torch.export traces from it give the golden float logits bit for bit."""
import pytest
import torch

from bitflight.golden.llm import LlamaConfig, LlamaModel
from bitflight.golden.llm.export import ExportView, export
from bitflight.golden.llm.weights import random_weights

TINY = LlamaConfig(name="tiny", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=96, vocab=128, rope_theta=50000.0, norm_eps=1e-5)


@pytest.mark.parametrize("tied", [True, False])
def test_view_and_exported_program_equal_the_golden_logits(tied):
    cfg = LlamaConfig(**{**TINY.__dict__, "tied_embeddings": tied})
    model = LlamaModel(cfg, random_weights(cfg, seed=5))
    ids = torch.randint(0, cfg.vocab, (1, 9), generator=torch.Generator().manual_seed(1))
    want = model(ids)
    view = ExportView(model)
    with torch.no_grad():
        assert torch.equal(view(ids), want)
        assert torch.equal(export(model, example_len=9).module()(ids), want)
    names = dict(view.named_parameters(remove_duplicate=False))
    assert set(names) == set(model.weights) | {"lm_head.weight"}
    # parameters share the model's storage (no copy), a tied head shares the embedding table
    assert all(names[k].data_ptr() == w.data_ptr() for k, w in model.weights.items())
    head = model.weights["model.embed_tokens.weight" if tied else "lm_head.weight"]
    assert names["lm_head.weight"].data_ptr() == head.data_ptr()


def test_first_layers_only():
    model = LlamaModel(TINY, random_weights(TINY, seed=5))
    view = ExportView(model, layers=1)
    assert view.config.layers == 1
    assert not any(k.startswith("model.layers.1.") for k, _ in view.named_parameters())
    with pytest.raises(ValueError, match="cannot keep 3 of 2 layers"):
        ExportView(model, layers=3)

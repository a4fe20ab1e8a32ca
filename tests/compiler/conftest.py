"""Shared fixtures: a tiny random LLaMA with GQA (built without any download) and its IR."""
from __future__ import annotations

import pytest


def tiny_llama(layers: int = 2, tied: bool = False, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=tied)
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="session")
def tiny_hf():
    return tiny_llama()


@pytest.fixture(scope="session")
def tiny_graph(tiny_hf):
    from bitflight.compiler import frontend
    return frontend.from_hf(tiny_hf)

"""Which ``llama.*`` GGUF metadata keys and which tensors the golden model understands.

The GGUF counterpart of :mod:`.hf_config` (decision table in docs/llm.md). Keys outside the
``llama.`` namespace (``general.*``, ``tokenizer.*``) describe the file and the tokenizer, not the
network, and are not checked. A ``llama.*`` key that changes the numerics is accepted only with
the value the golden model computes; an unknown ``llama.*`` key or an unexpected tensor (a bias,
``rope_freqs.weight``, MoE experts, ...) is refused with a one-line error naming it.
"""
from __future__ import annotations
from ...base.errors import ModelError

# Read by weights.config_from_gguf.
IMPLEMENTED = frozenset({
    "block_count", "context_length", "embedding_length", "feed_forward_length", "vocab_size",
    "attention.head_count", "attention.head_count_kv", "attention.key_length",
    "attention.value_length", "attention.layer_norm_rms_epsilon", "rope.freq_base",
    "rope.dimension_count"})

# Accepted only with these values (llama.cpp's meaning of "no scaling", "no experts").
REQUIRED_VALUE = {
    "rope.scaling.type": ("none", "linear"),   # "linear" only together with factor 1
    "rope.scaling.factor": (0.0, 1.0),
    "expert_count": (0,), "expert_used_count": (0,),
}

# Descriptions of a scaling that is not applied (factor 1) or of the training run.
IGNORED = frozenset({"rope.scaling.original_context_length", "rope.scaling.finetuned"})

_WHAT = {"rope_freqs.weight": "LLaMA-3 RoPE frequency factors; load the Hugging Face folder "
                              "instead, whose rope_type 'llama3' bitflight implements"}


def check_metadata(gf) -> None:
    """Refuse a ``llama.*`` key the golden model does not implement (see the module docstring)."""
    for full, value in gf.metadata.items():
        if not full.startswith("llama."):
            continue
        key = full.removeprefix("llama.")
        if key in REQUIRED_VALUE and value not in REQUIRED_VALUE[key]:
            allowed = " or ".join(map(repr, REQUIRED_VALUE[key]))
            raise ModelError(f"{gf.path}: GGUF metadata '{full}' = {value!r} is not supported "
                             f"(bitflight computes {allowed})")
        if key not in IMPLEMENTED and key not in REQUIRED_VALUE and key not in IGNORED:
            raise ModelError(f"{gf.path}: GGUF metadata '{full}' is not a LLaMA key bitflight "
                             "implements (it may change the numerics; see docs/llm.md)")


def check_tensors(gf, expected: set[str]) -> None:
    """Refuse any tensor of the file that the golden model would not read."""
    extra = sorted(set(gf.tensors) - expected)
    if extra:
        what = _WHAT.get(extra[0], "the golden LLaMA reads no such tensor")
        raise ModelError(f"{gf.path}: unexpected tensor '{extra[0]}' ({what})")

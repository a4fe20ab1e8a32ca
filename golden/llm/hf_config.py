"""A Hugging Face ``config.json`` read field by field into a :class:`~.config.LlamaConfig`.

Every field of transformers' ``LlamaConfig`` (and of the ``PreTrainedConfig`` base, including the
generation fields older files carry) is in exactly one class below; docs/llm.md holds the same
decision table with the reasons. A field that changes the numerics and that the golden model does
not implement is refused with a one-line error naming it; so is any field in no class (it belongs
to another architecture: Mistral's ``sliding_window``, Gemma's soft-capping, ...), because the
golden model cannot know what it would change.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...base.errors import ModelError
from .config import LlamaConfig
from .rope_scaling import Llama3RopeScaling

# Read into LlamaConfig (the RoPE fields by :func:`rope_from_hf`).
IMPLEMENTED = frozenset({
    "model_type", "architectures", "vocab_size", "hidden_size", "intermediate_size",
    "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
    "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings", "rope_parameters",
    "rope_scaling", "rope_theta", "partial_rotary_factor", "bos_token_id", "eos_token_id"})

# Accepted only with the value the golden model computes (a list allows several spellings).
REQUIRED_VALUE = {
    "hidden_act": ["silu", "swish"], "attention_bias": [False], "mlp_bias": [False],
    "sliding_window": [None], "use_sliding_window": [False], "pruned_heads": [{}],
    "quantization_config": [None], "is_encoder_decoder": [False],
}

# No effect on the logits of a causal-LM forward pass in evaluation mode.
IGNORED = frozenset({
    # training and initialisation
    "initializer_range", "attention_dropout", "pretraining_tp",
    # storage and bookkeeping (bitflight computes in float32 whatever the stored dtype)
    "dtype", "torch_dtype", "use_bfloat16", "transformers_version", "_name_or_path",
    "_commit_hash", "_attn_implementation", "_attn_implementation_autoset", "tokenizer_class",
    "use_cache", "pad_token_id", "sep_token_id", "decoder_start_token_id",
    "torchscript", "tf_legacy_loss", "return_dict", "output_attentions", "output_hidden_states",
    "chunk_size_feed_forward", "is_decoder", "add_cross_attention", "tie_encoder_decoder",
    "cross_attention_hidden_size", "prefix", "finetuning_task", "task_specific_params",
    # sequence-classification heads (not the causal-LM head)
    "id2label", "label2id", "problem_type",
    # generation settings (the search, not the logits)
    "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
    "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
    "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
    "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
    "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
    "suppress_tokens", "begin_suppress_tokens",
})

_ROPE_COMMON = {"rope_type", "type", "rope_theta", "partial_rotary_factor"}
_LLAMA3_KEYS = ("factor", "low_freq_factor", "high_freq_factor")


def config_from_hf(folder: Path) -> LlamaConfig:
    """The LlamaConfig of a Hugging Face folder's ``config.json`` (one-line errors naming it)."""
    path = Path(folder) / "config.json"
    try:
        c = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: not found (a Hugging Face folder needs config.json)") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ModelError(f"{path}: not valid JSON{line}") from None
    if not isinstance(c, dict):
        raise ModelError(f"{path}: expected a JSON object of fields")
    return llama_config(c, Path(folder).name, str(path))


def llama_config(c: dict, name: str, where: str) -> LlamaConfig:
    """``c`` (a config.json mapping, or transformers' ``config.to_dict()``) as a LlamaConfig;
    ``where`` starts every error message."""
    if c.get("model_type") != "llama":
        raise ModelError(f"{where}: model_type '{c.get('model_type')}' is not supported "
                         "(supported: llama)")
    arch = c.get("architectures")
    if arch is not None and list(arch) != ["LlamaForCausalLM"]:
        raise ModelError(f"{where}: architectures {arch} is not supported "
                         "(supported: ['LlamaForCausalLM'])")
    for key, value in c.items():
        if key in REQUIRED_VALUE and value not in REQUIRED_VALUE[key]:
            allowed = " or ".join(json.dumps(v) for v in REQUIRED_VALUE[key])
            raise ModelError(f"{where}: {key} = {json.dumps(value)} is not supported "
                             f"(bitflight computes {key} = {allowed})")
        if key not in IMPLEMENTED and key not in REQUIRED_VALUE and key not in IGNORED:
            raise ModelError(f"{where}: field '{key}' is not a LLaMA field bitflight implements "
                             "(it may change the numerics; see the table in docs/llm.md)")
    heads, hidden = _int(c, "num_attention_heads", where), _int(c, "hidden_size", where)
    head_dim = c.get("head_dim")
    if head_dim is None:
        if hidden % heads:
            raise ModelError(f"{where}: hidden_size {hidden} is not a multiple of "
                             f"num_attention_heads {heads} and head_dim is not given")
        head_dim = hidden // heads
    max_position = c.get("max_position_embeddings", 2048)
    theta, scaling = rope_from_hf(c, max_position, where)
    eos = c.get("eos_token_id")
    try:
        return LlamaConfig(
            name=name, layers=_int(c, "num_hidden_layers", where), hidden=hidden, heads=heads,
            kv_heads=c.get("num_key_value_heads") or heads, head_dim=head_dim,
            intermediate=_int(c, "intermediate_size", where), vocab=_int(c, "vocab_size", where),
            max_position=max_position, rope_theta=theta,
            norm_eps=float(c.get("rms_norm_eps", 1e-6)),
            tied_embeddings=bool(c.get("tie_word_embeddings", False)),
            bos_token_id=c.get("bos_token_id"),
            eos_token_id=eos[0] if isinstance(eos, list) and eos else eos, rope_scaling=scaling)
    except ValueError as exc:
        raise ModelError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None


def _int(c: dict, key: str, where: str) -> int:
    if key not in c:
        raise ModelError(f"{where}: field '{key}' missing")
    if not isinstance(c[key], int) or isinstance(c[key], bool):
        raise ModelError(f"{where}: {key} must be an integer, got {json.dumps(c[key])}")
    return c[key]


def rope_from_hf(c: dict, max_position: int, where: str) -> tuple[float, Llama3RopeScaling | None]:
    """(theta, scaling) from ``rope_parameters`` (transformers 5) or the older ``rope_scaling``
    and ``rope_theta`` (transformers prefers ``rope_scaling`` when both are set, and so do we)."""
    key = "rope_scaling" if c.get("rope_scaling") else "rope_parameters"
    params = c.get(key) or {}
    if not isinstance(params, dict) or any(isinstance(v, dict) for v in params.values()):
        raise ModelError(f"{where}: {key} per layer type is not supported (one RoPE for all "
                         "layers)")
    theta = float(params.get("rope_theta", c.get("rope_theta", 10000.0)))
    rotary = params.get("partial_rotary_factor", c.get("partial_rotary_factor", 1.0))
    if rotary != 1.0:
        raise ModelError(f"{where}: partial_rotary_factor = {rotary} is not supported "
                         "(bitflight rotates the whole head)")
    rope_type = params.get("rope_type", params.get("type", "default"))
    known = _ROPE_COMMON | ({*_LLAMA3_KEYS, "original_max_position_embeddings"}
                            if rope_type == "llama3" else set())
    if rope_type not in ("default", "llama3"):
        raise ModelError(f"{where}: {key}.rope_type '{rope_type}' is not supported "
                         "(supported: default, llama3)")
    extra = sorted(set(params) - known)
    if extra:
        raise ModelError(f"{where}: {key}.{extra[0]} is not supported with rope_type "
                         f"'{rope_type}'")
    if rope_type == "default":
        return theta, None
    missing = [k for k in _LLAMA3_KEYS if k not in params]
    if missing:
        raise ModelError(f"{where}: {key}.{missing[0]} missing (rope_type 'llama3' needs "
                         f"{', '.join(_LLAMA3_KEYS)})")
    try:
        return theta, Llama3RopeScaling(
            float(params["factor"]), float(params["low_freq_factor"]),
            float(params["high_freq_factor"]),
            int(params.get("original_max_position_embeddings", max_position)))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: {key}: {exc}") from None

"""The float golden model against transformers' implementation of the same model.

``run --check`` proves the ISA simulator equals the golden accelerator model bit for bit; that is
worth little if the golden model itself computes the checkpoint wrongly (a field it ignored, a
feature it lacks). This check runs transformers' ``LlamaForCausalLM`` on the same tokens:

- a Hugging Face folder or a GGUF file is loaded by transformers from the file itself, so every
  field of it is interpreted by transformers independently of golden's loader;
- a model that exists only in bitflight (random weights of a shape config or ``tiny-golden``) is
  handed to transformers as a config and a state dict built from the golden model, which checks
  the golden ops but not a loader.

Tolerance. Both sides compute the same float32 operations, in possibly different orders and with
different fusions. The worst-case relative error of one float32 dot product of length K is
``gamma_K = K u / (1 - K u)`` with ``u = 2**-24`` (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., section 3.1). Each of the L decoder layers adds its update to the residual
stream, and the head is one more dot product, so worst-case errors of that size add up L + 1
times: we allow ``max((L + 1) gamma_K, 1e-4)`` (K the longest dot product of the model) times the
largest reference logit (at least 1). Measured: 1e-7..2e-5 of the largest logit; a golden model
that misses a feature is off by 1e-3 of it and more (docs/llm.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from ...base.errors import ModelError

UNIT_ROUNDOFF = 2.0 ** -24
FLOOR = 1e-4
SHAPE_ONLY = "shape-only config"


@dataclass(frozen=True)
class ReferenceCheck:
    source: str              # what transformers ran
    max_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_diff <= self.tolerance

    def line(self) -> str:
        verdict = "<=" if self.ok else "EXCEEDS"
        return (f"float golden vs transformers ({self.source}): max |logit diff| "
                f"{self.max_diff:.3g} {verdict} tolerance {self.tolerance:.3g}")


def tolerance(config, reference_logits: torch.Tensor) -> float:
    """Allowed max |logit difference| (see the module docstring)."""
    k = max(config.hidden, config.intermediate, config.q_dim)
    gamma = k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF)
    return max((config.layers + 1) * gamma, FLOOR) * max(1.0, float(reference_logits.abs().max()))


def load_transformers(spec):
    """(transformers model in float32, description) for a model spec of golden.llm.load_model,
    or (None, reason) when transformers has no independent way to load it."""
    from .loader import resolve
    kind, where = resolve(spec)
    if kind == "shape":
        return None, SHAPE_ONLY
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()          # bitflight reports its own stages
    try:
        if kind == "hf":
            model = AutoModelForCausalLM.from_pretrained(str(where), dtype=torch.float32,
                                                         local_files_only=True)
        else:
            model = AutoModelForCausalLM.from_pretrained(str(where.parent), gguf_file=where.name,
                                                         dtype=torch.float32)
    except Exception as exc:     # transformers raises many types; the reason is what matters
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, f"transformers cannot load {where} ({first})"
    finally:
        hf_logging.enable_progress_bar()
    return model.eval(), f"transformers loaded {where}"


def from_golden(golden):
    """transformers' LlamaForCausalLM with the golden model's config and weights."""
    from transformers import LlamaConfig, LlamaForCausalLM
    c = golden.config
    rope = {"rope_type": "default", "rope_theta": c.rope_theta}
    if c.rope_scaling is not None:
        s = c.rope_scaling
        rope = {**rope, "rope_type": "llama3", "factor": s.factor,
                "low_freq_factor": s.low_freq_factor, "high_freq_factor": s.high_freq_factor,
                "original_max_position_embeddings": s.original_max_position}
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=c.vocab, hidden_size=c.hidden, intermediate_size=c.intermediate,
        num_hidden_layers=c.layers, num_attention_heads=c.heads, num_key_value_heads=c.kv_heads,
        head_dim=c.head_dim, rms_norm_eps=c.norm_eps, max_position_embeddings=c.max_position,
        tie_word_embeddings=c.tied_embeddings, rope_parameters=rope))
    state = dict(golden.weights)
    state["lm_head.weight"] = golden.linear_weight("lm_head")
    missing, unexpected = hf.load_state_dict(state, strict=False)
    if unexpected or any("rotary" not in k for k in missing):
        raise ModelError(f"model {c.name}: transformers' LlamaForCausalLM has other tensors "
                         f"(missing {missing[:2]}, unexpected {unexpected[:2]})")
    return hf.eval()


def compare(golden, hf_model, ids: torch.Tensor, source: str) -> ReferenceCheck:
    """Logits of ``ids`` [T] from both models; ``golden`` must use float numerics."""
    with torch.no_grad():
        ref = hf_model(input_ids=ids[None], use_cache=False).logits[0].float()
    ours = golden(ids[None])[0]
    return ReferenceCheck(source, float((ours - ref).abs().max()), tolerance(golden.config, ref))

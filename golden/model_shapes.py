"""Shape-only model configs: the dimensions of a decoder-only LLM, without weights.

A shape config is a YAML file under ``configs/models/`` (or any path) naming the architecture
family and every dimension the performance model, the compiler's tiler and the random-weight test
models need. Each file cites where its numbers come from (``source``), normally the model's
Hugging Face ``config.json``.

Fields (all required unless a default is shown):

========================  ===================================================================
``name``                  short name, e.g. ``llama2-7b``
``arch``                  ``llama`` (LLaMA, Yi, SmolLM2), ``opt`` or ``phi`` (Phi-2)
``layers``                decoder blocks
``hidden``                model width (embedding size)
``heads`` / ``kv_heads``  query heads / key-value heads (GQA when fewer; must divide ``heads``)
``head_dim``              width of one head
``intermediate``          MLP inner width (per branch when ``gated_mlp``)
``vocab``                 vocabulary size (rows of the embedding and of ``lm_head``)
``max_position``          longest context the model was trained for
``positional``            ``rope`` or ``learned`` (OPT)
``position_offset``       extra rows of a learned position table (OPT: 2), default 0
``rope_theta``            RoPE base (``rope`` only)
``rotary_fraction``       fraction of each head that is rotated (Phi-2: 0.4), default 1
``tied_embeddings``       ``lm_head`` shares the embedding matrix
``norm`` / ``norm_eps``   ``rmsnorm`` or ``layernorm``, and its epsilon
``activation``            ``silu``, ``relu``, ``gelu`` or ``gelu_new`` (tanh approximation)
``gated_mlp``             SwiGLU-style gate and up projections (LLaMA family)
``parallel_block``        attention and MLP read the same normed input (Phi-2), default false
``attn_bias``             biases on q/k/v/output projections, default false
``mlp_bias``              biases on the MLP projections, default false
``lm_head_bias``          bias on ``lm_head``, default false
``final_norm``            a norm before ``lm_head``, default true
``source``                where the numbers come from (required, non-empty)
``notes``                 free text
========================  ===================================================================

This module is part of golden/ and imports nothing from the rest of the project.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt,
                      model_validator)

from ..base import yaml_model
from ..base.errors import ModelError
from .dims import AttentionDims

MODELS_DIR = yaml_model.package_dir("bitflight.configs.models")


class ModelShapeError(ModelError):
    """A shape config is missing, malformed or inconsistent (message names file and key)."""


class Linear(NamedTuple):
    """One weight matrix as ``nn.Linear`` holds it: ``out_features x in_features``."""
    name: str
    in_features: int
    out_features: int
    bias: bool

    @property
    def weights(self) -> int:
        return self.in_features * self.out_features


# Hugging Face module names, so per-layer results can be read next to a checkpoint.
_ATTN_OUT = {"llama": "o_proj", "opt": "out_proj", "phi": "dense"}


class ModelShape(AttentionDims, BaseModel):
    """Dimensions of one decoder-only model (see the module docstring for every field)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    arch: Literal["llama", "opt", "phi"]
    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    intermediate: PositiveInt
    vocab: PositiveInt
    max_position: PositiveInt
    positional: Literal["rope", "learned"]
    position_offset: NonNegativeInt = 0
    rope_theta: PositiveFloat | None = None
    rotary_fraction: float = Field(1.0, gt=0, le=1)
    tied_embeddings: bool
    norm: Literal["rmsnorm", "layernorm"]
    norm_eps: PositiveFloat
    activation: Literal["silu", "relu", "gelu", "gelu_new"]
    gated_mlp: bool
    parallel_block: bool = False
    attn_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    final_norm: bool = True
    source: str = Field(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> "ModelShape":
        if self.heads % self.kv_heads:
            raise ValueError(f"kv_heads {self.kv_heads} does not divide heads {self.heads}")
        if self.positional == "rope" and self.rope_theta is None:
            raise ValueError("rope_theta is required when positional is rope")
        if self.positional == "learned" and self.rope_theta is not None:
            raise ValueError("rope_theta given but positional is learned")
        if self.positional == "learned" and self.rotary_fraction != 1.0:
            raise ValueError("rotary_fraction given but positional is learned")
        rotary = self.head_dim * self.rotary_fraction
        if self.positional == "rope" and self.rotary_fraction == 1 and self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even (RoPE rotates pairs)")
        if self.positional == "rope" and (rotary != int(rotary) or int(rotary) % 2):
            raise ValueError(f"rotary_fraction {self.rotary_fraction} of head_dim {self.head_dim} "
                             "is not an even whole number of dimensions")
        if self.tied_embeddings and self.lm_head_bias:
            raise ValueError("lm_head_bias cannot be set with tied_embeddings")
        return self

    # -- derived dimensions -------------------------------------------------------------------
    @property
    def rotary_dim(self) -> int:
        return int(self.head_dim * self.rotary_fraction) if self.positional == "rope" else 0

    def decoder_linears(self) -> tuple[Linear, ...]:
        """The weight matrices of one decoder block, in execution order."""
        h, b = self.hidden, self.attn_bias
        attn = (Linear("q_proj", h, self.q_dim, b), Linear("k_proj", h, self.kv_dim, b),
                Linear("v_proj", h, self.kv_dim, b), Linear(_ATTN_OUT[self.arch], self.q_dim, h, b))
        mb = self.mlp_bias
        if self.gated_mlp:
            mlp = (Linear("gate_proj", h, self.intermediate, mb),
                   Linear("up_proj", h, self.intermediate, mb),
                   Linear("down_proj", self.intermediate, h, mb))
        else:
            mlp = (Linear("fc1", h, self.intermediate, mb), Linear("fc2", self.intermediate, h, mb))
        return attn + mlp

    def lm_head(self) -> Linear:
        return Linear("lm_head", self.hidden, self.vocab, self.lm_head_bias)

    def norms_per_layer(self) -> int:
        return 1 if self.parallel_block else 2

    def parameter_count(self) -> int:
        """Parameters as the Hugging Face checkpoint counts them (tied matrices once)."""
        per_norm = self.hidden * (2 if self.norm == "layernorm" else 1)
        block = sum(l.weights + (l.out_features if l.bias else 0) for l in self.decoder_linears())
        block += self.norms_per_layer() * per_norm
        total = self.layers * block + self.vocab * self.hidden
        if self.positional == "learned":
            total += (self.max_position + self.position_offset) * self.hidden
        if self.final_norm:
            total += per_norm
        if not self.tied_embeddings:
            head = self.lm_head()
            total += head.weights + (head.out_features if head.bias else 0)
        return total


def available() -> list[str]:
    """Names of the built-in shape configs."""
    return yaml_model.available(MODELS_DIR)


def resolve(name_or_path: str | Path) -> Path:
    """A built-in shape name (``llama2-7b``) or a path to a YAML file."""
    return yaml_model.resolve(name_or_path, MODELS_DIR, "model shape", ModelShapeError)


@lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int) -> ModelShape:
    return yaml_model.load(path, ModelShape, ModelShapeError)  # type: ignore[return-value]


def load_shape(name_or_path: str | Path) -> ModelShape:
    """Load and validate a shape config by built-in name or path.

    Every failure is a :class:`ModelShapeError` (a ``ValueError``) whose one-line message names
    the file and the offending key.
    """
    path = resolve(name_or_path).resolve()
    return _load_cached(path, path.stat().st_mtime_ns)

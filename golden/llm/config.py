"""A LLaMA-architecture decoder's description, whatever file it came from: a
:class:`~bitflight.golden.model_shapes.ModelShape` (the one class that holds model dimensions)
with the architecture fields pinned to LLaMA's, plus what the forward pass needs besides them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError

from ...base.errors import ModelError
from ..model_shapes import ModelShape
from .rope_scaling import Llama3RopeScaling


class LlamaConfig(ModelShape):
    """A LLaMA decoder: the dimensions are ModelShape's; every architecture field is fixed to the
    value the golden model computes (a shape of another family cannot become one), with defaults
    so that ``LlamaConfig(name=..., layers=..., hidden=..., heads=..., kv_heads=..., head_dim=...,
    intermediate=..., vocab=...)`` is a complete model.

    ``rope_theta`` and ``norm_eps`` keep the source's value exactly (GGUF stores the epsilon as
    float32, 9.999999747e-06 for SmolLM2; a float32 is exact as a Python float), so logits match
    the reference bit for bit as far as float32 allows. Invalid values raise :class:`ModelError`
    naming the model and the field.
    """
    arch: Literal["llama"] = "llama"
    max_position: PositiveInt = 2048
    positional: Literal["rope"] = "rope"
    position_offset: Literal[0] = 0
    rope_theta: PositiveFloat = 10000.0
    rotary_fraction: Literal[1.0] = 1.0
    tied_embeddings: bool = True
    norm: Literal["rmsnorm"] = "rmsnorm"
    norm_eps: PositiveFloat = 1e-5
    activation: Literal["silu"] = "silu"
    gated_mlp: Literal[True] = True
    parallel_block: Literal[False] = False
    attn_bias: Literal[False] = False
    mlp_bias: Literal[False] = False
    lm_head_bias: Literal[False] = False
    final_norm: Literal[True] = True
    source: str = Field("in memory", min_length=1)
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    rope_scaling: Llama3RopeScaling | None = None     # LLaMA-3 frequency scaling, or none

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = err["msg"].removeprefix("Value error, ")
            where = ".".join(map(str, err["loc"]))
            raise ModelError(f"model config {data.get('name')}: "
                             f"{where + ': ' if where else ''}{msg}") from None

    @classmethod
    def from_shape(cls, shape: ModelShape) -> "LlamaConfig":
        """The same model as a LLaMA config (ModelError naming the first non-LLaMA field)."""
        return cls(**shape.model_dump())

    def replace(self, **changes) -> "LlamaConfig":
        """A copy with ``changes`` applied and validated."""
        return type(self)(**{**self.model_dump(), **changes})

    def linear_names(self) -> list[str]:
        """Every linear layer in execution order, named as Hugging Face names the modules."""
        names = []
        for i in range(self.layers):
            p = f"model.layers.{i}"
            names += [f"{p}.self_attn.{n}" for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            names += [f"{p}.mlp.{n}" for n in ("gate_proj", "up_proj", "down_proj")]
        return names + ["lm_head"]

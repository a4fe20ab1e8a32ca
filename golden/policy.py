"""Quantization policies: which weight format every linear layer gets and how an engine computes.

A policy is a YAML file under ``configs/policies/`` (select it by name, e.g. ``bitmod-w4``) or any
path. Schema (pydantic, unknown keys are errors):

```yaml
name: bitmod-w4
description: free text
engine: bitmod            # bitmod: bit-serial PEs | csd: FlightLLM sparse DSP chain
activations: fp16         # fp16 (BitMoD) | int8 (per-token symmetric absmax, FlightLLM)
kv_cache: fp16            # fp16 | int8 (per token and head, symmetric absmax)
default:                  # the weight format of every linear layer ...
  scheme: bitmod          # fp16 | int_sym | int_asym | fp | ant | mx | nf4 | bitmod
  bits: 4
  group_size: 128         # weights per group along the input channel; null = one group per row
  scale_mode: fp16        # fp16 | int (8-bit per group x fp16 per row) | e8m0 (mx)
  sparsity: null          # or {n: 4} (fixed N:16) or {density: 0.5} (per-block N); csd only
rules:                    # ... unless a rule matches (fnmatch glob on the layer name)
  - match: "lm_head"
    weight: {bits: 8}     # fields given here override the default; later rules override earlier
```

Layer names are Hugging Face module names: ``model.layers.3.self_attn.q_proj``,
``model.layers.3.mlp.down_proj``, ``lm_head`` (see ``LlamaConfig.linear_names``).

Engine constraints (checked on load): ``bitmod`` needs fp16 activations and a bit-serial scheme
(bitmod, fp, int_sym with 4/6/8 bits) or fp16; it has no N:M sparsity. ``csd`` needs int8
activations, int_sym weights of 4 or 8 bits (or fp16), per-row scales (``group_size: null``) when
sparse. ``Policy.weight_for(name)`` gives the resolved :class:`WeightSpec` of one layer.

This module is part of golden/ and imports nothing from the rest of the project.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..base import yaml_model
from ..base.errors import PolicyError
from .quant.names import SCHEME_NAMES, UNQUANTIZED

POLICIES_DIR = yaml_model.package_dir("bitflight.configs.policies")
SCHEMES = (UNQUANTIZED,) + SCHEME_NAMES
BITMOD_ENGINE_SCHEMES = {"bitmod": (3, 4), "fp": (3, 4), "int_sym": (4, 6, 8), "fp16": (16,)}
CSD_ENGINE_SCHEMES = {"int_sym": (4, 8), "fp16": (16,)}



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sparsity(_Strict):
    """FlightLLM N:M (M = 16): a fixed ``n`` in {2, 4, 8, 16} or a ``density`` target."""
    n: Literal[2, 4, 8, 16] | None = None
    density: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _one(self):
        if (self.n is None) == (self.density is None):
            raise ValueError("give exactly one of n or density")
        return self


class WeightSpec(_Strict):
    """The resolved weight format of one layer."""
    scheme: Literal[SCHEMES]
    bits: int = Field(gt=1, le=16)
    group_size: int | None = Field(128, gt=0)
    scale_mode: Literal["fp16", "int", "e8m0"] = "fp16"
    sparsity: Sparsity | None = None

    @model_validator(mode="after")
    def _fp16(self):
        if (self.scheme == "fp16") != (self.bits == 16):
            raise ValueError("scheme fp16 goes with bits 16 (and only it)")
        return self


class WeightOverride(_Strict):
    scheme: Literal[SCHEMES] | None = None
    bits: int | None = None
    group_size: int | None = None
    scale_mode: Literal["fp16", "int", "e8m0"] | None = None
    sparsity: Sparsity | None = None


class Rule(_Strict):
    match: str = Field(min_length=1)
    weight: WeightOverride


class Policy(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    engine: Literal["bitmod", "csd"]
    activations: Literal["fp16", "int8"]
    kv_cache: Literal["fp16", "int8"]
    default: WeightSpec
    rules: tuple[Rule, ...] = ()

    def weight_for(self, layer: str) -> WeightSpec:
        spec = self.default.model_dump()
        for rule in self.rules:
            if fnmatchcase(layer, rule.match):
                spec.update(rule.weight.model_dump(exclude_unset=True))
        return WeightSpec.model_validate(spec)

    @model_validator(mode="after")
    def _engine(self):
        want = "fp16" if self.engine == "bitmod" else "int8"
        if self.activations != want:
            raise ValueError(f"engine {self.engine} computes with {want} activations, "
                             f"not {self.activations}")
        specs = [("default", self.default)]
        for i, rule in enumerate(self.rules):
            try:
                specs.append((f"rules.{i}", WeightSpec.model_validate(
                    {**self.default.model_dump(), **rule.weight.model_dump(exclude_unset=True)})))
            except ValidationError as err:
                raise ValueError(f"rules.{i}: {err.errors()[0]['msg']}") from None
        allowed = BITMOD_ENGINE_SCHEMES if self.engine == "bitmod" else CSD_ENGINE_SCHEMES
        for where, s in specs:
            if s.bits not in allowed.get(s.scheme, ()):
                raise ValueError(f"{where}: engine {self.engine} cannot compute {s.scheme} with "
                                 f"{s.bits} bits (it supports {allowed})")
            if s.sparsity is not None and self.engine != "csd":
                raise ValueError(f"{where}: N:M sparsity needs engine csd")
            if s.sparsity is not None and s.group_size is not None:
                raise ValueError(f"{where}: sparse weights use per-row scales (group_size: null)")
        return self


def available() -> list[str]:
    return sorted(p.stem for p in POLICIES_DIR.glob("*.yaml"))


def load_policy(name_or_path: str | Path) -> Policy:
    """A built-in policy by name or a YAML path; errors are one-line :class:`PolicyError`."""
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.exists()):
        path = POLICIES_DIR / f"{text}.yaml"
        if not path.is_file():
            raise PolicyError(f"unknown policy '{text}' (built-in: {', '.join(available())}; "
                              "or give a .yaml path)")
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError:
        raise PolicyError(f"{path}: not valid YAML") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: (top level): expected a mapping of keys")
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        raise PolicyError(f"{path}: {loc}: {msg}") from None


def check_engine_groups(policy: Policy, layers, cfg) -> None:
    """Every quantized layer's group must run on the config's engine, else one-line
    :class:`PolicyError` naming the policy, the layer and the config field.

    ``layers``: (layer name, K) pairs; ``cfg``: a hardware Config (read duck-typed: golden
    imports nothing from the rest of the project). The BitMoD array takes its group length per
    weight from the stream's first/last flags (docs/rtl/bitmod.md), so any group that is a
    whole number of ``bitmod.lanes``-weight chunks runs; ``bitmod.group_size`` is only the
    reference group of the benches and the calibration.
    """
    if policy.engine != "bitmod" or cfg.bitmod is None:
        return
    lanes = cfg.bitmod.lanes
    for name, k in layers:
        spec = policy.weight_for(name)
        group = spec.group_size if spec.group_size is not None else k
        if spec.scheme != "fp16" and group % lanes:
            what = (f"group_size {group}" if spec.group_size is not None
                    else f"group_size null (one group of K = {k})")
            raise PolicyError(f"policy '{policy.name}', layer '{name}': {what} cannot run on "
                              f"config '{cfg.name}': bitmod.lanes = {lanes} does not divide it "
                              "(the BitMoD array streams a group in chunks of lanes weights)")

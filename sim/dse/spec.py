"""The sweep spec: YAML validated on load (pydantic, strict, unknown keys are errors); every failure
is one line naming the file and the dotted key, as for hardware configs.

```yaml
name: u280-llama2-7b            # names the study; letters, digits, - and _
description: free text
base:                           # what every point starts from (an axis may override each)
  config: u280                  # config name or YAML path (relative to this file)
  policy: flightllm             # project policy, perf preset or YAML (default: perf's per engine)
  model: llama2-7b              # shape-only model (configs/models)
  prompt_len: 128
  gen_len: 512
  set: {buffers.act_kb: 256}    # dotted keys fixed for every point (axes may override them)
space:                          # a mapping of axes, or a list of sub-spaces {name, axes} (union)
  - name: csd
    axes:
      clock_mhz: [200, 225, 250]
      "csd.mpus, csd.vpus_per_mpu": [[16, 16], [8, 32]]
      policy.kv_cache: [fp16, int8]
search: {method: grid}          # | {method: random, samples: N, seed: S}
                                # | {method: nsga2, samples: N, population: P, seed: S,
                                #    objectives: [{metric: decode_tokens_per_s, goal: max}, ...]}
metrics:
  compile: true                 # the compiler must accept the point (project policies)
  area: {provider: reduced-synth, family: xcup, options: {max_rows: 2}}     # or omitted
  perplexity: {model: smollm2, tokens: 2048, seq_len: 512}                 # or omitted
constraints: {lut: {max: 1303680}}                 # feasible region (report, choice)
choose: {maximize: decode_tokens_per_s_per_klut, where: {perplexity: {max: 40}}}
report: {fronts: [{x: lut, y: decode_tokens_per_s}]}
cpus: {point: 1, synth: 1}      # CPUs each task asks of the executor (perplexity: its threads)
```
Axis syntax: :mod:`.space`. Metric names: :data:`.metrics.METRICS`.
"""
from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt,
                      field_validator, model_validator)

from ...base import yaml_model
from ...base.errors import ConfigError
from .area import PROVIDERS
from .metrics import METRICS
from .space import SPECIAL, Axis, parse_axis


class SpecError(ConfigError):
    """A sweep spec is missing or invalid (the message names the file and the key)."""


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric '{name}' (known: {', '.join(METRICS)})")
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _submodel(annotation, part: str):
    """The annotation one dotted ``part`` below ``annotation``, or None when there is none."""
    args = get_args(annotation)
    if get_origin(annotation) in (Union, UnionType):
        inner = [a for a in args if a is not type(None)]
        return _submodel(inner[0], part) if len(inner) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part)
        return None if field is None else field.annotation
    if get_origin(annotation) in (tuple, list) and part.isdigit():
        return args[0]
    if get_origin(annotation) is dict:
        return args[1]
    return None


def schema_has(model: type[BaseModel], dotted: str) -> bool:
    """Whether ``dotted`` names a field (or an element of one) of ``model``'s schema."""
    ann: Any = model
    for part in dotted.split("."):
        ann = _submodel(ann, part)
        if ann is None:
            return False
    return True


def check_key(key: str) -> None:
    """A ValueError unless ``key`` is a special key, a policy field or a config field."""
    from ...base.config import Config
    from ...golden.policy import Policy
    from ..perf.policy import PerfPolicy
    if key in SPECIAL:
        return
    if key.startswith("policy."):
        rest = key.removeprefix("policy.")
        if not (schema_has(Policy, rest) or schema_has(PerfPolicy, rest)):
            raise ValueError(f"{key}: names no field of the project or the perf policy schema")
        return
    if not schema_has(Config, key):
        raise ValueError(f"{key}: names no field of the config schema (docs/config.md)")


class SubSpace(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    axes: dict[str, Any] = Field(strict=False)

    @field_validator("axes")
    @classmethod
    def _axes(cls, axes: dict[str, Any]) -> dict[str, Any]:
        seen: set[str] = set()
        for label, raw in axes.items():
            axis = parse_axis(label, raw)
            for key in axis.keys:
                check_key(key)
                if key in seen:
                    raise ValueError(f"{key}: set by two axes")
                seen.add(key)
        return axes

    @property
    def parsed(self) -> tuple[Axis, ...]:
        return tuple(parse_axis(label, raw) for label, raw in self.axes.items())


class Base(_Strict):
    config: str
    policy: str | None = None
    model: str
    prompt_len: PositiveInt = 128
    gen_len: NonNegativeInt = 128
    set: dict[str, Any] = Field(default_factory=dict, strict=False,
                                description="dotted key -> value fixed for every point")

    @field_validator("set")
    @classmethod
    def _keys(cls, fixed: dict[str, Any]) -> dict[str, Any]:
        for key in fixed:
            if key in SPECIAL:
                raise ValueError(f"{key}: give it as base.{key}, not in base.set")
            check_key(key)
        return fixed


class Objective(_Strict):
    metric: str
    goal: Literal["max", "min"] | None = None    # None: the metric's own goal

    @field_validator("metric")
    @classmethod
    def _known(cls, name: str) -> str:
        return _known_metric(name)

    @property
    def direction(self) -> str:
        return self.goal or METRICS[self.metric].goal


class Search(_Strict):
    method: Literal["grid", "random", "nsga2"] = "grid"
    samples: PositiveInt | None = Field(None, description="random: points; nsga2: trials")
    seed: int = 0
    population: int = Field(20, ge=2, description="nsga2 generation size")
    objectives: tuple[Objective, ...] = Field((), strict=False)

    @model_validator(mode="after")
    def _check(self) -> "Search":
        if self.method != "grid" and self.samples is None:
            raise ValueError(f"samples: method {self.method} needs a number of samples")
        if self.method == "nsga2" and not self.objectives:
            raise ValueError("objectives: nsga2 needs at least one objective")
        return self


class AreaSpec(_Strict):
    provider: str = "reduced-synth"
    family: Literal["xc7", "xcup"] = "xcup"
    options: dict[str, PositiveInt] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "AreaSpec":
        if self.provider not in PROVIDERS:
            raise ValueError(f"provider: unknown area provider '{self.provider}' "
                             f"(known: {', '.join(PROVIDERS)})")
        known = PROVIDERS[self.provider].options
        for key in self.options:
            if key not in known:
                raise ValueError(f"options.{key}: not an option of {self.provider} "
                                 f"(known: {', '.join(known)})")
        return self


class PerplexitySpec(_Strict):
    model: str = "smollm2"
    tokens: PositiveInt = 2048
    seq_len: PositiveInt = 512
    linear: Literal["dequant", "bitserial"] = "dequant"
    threads: PositiveInt = 1


class MetricsSpec(_Strict):
    compile: bool = True
    area: AreaSpec | None = None
    perplexity: PerplexitySpec | None = None


class Bound(_Strict):
    min: float | None = None
    max: float | None = None


class Choose(_Strict):
    maximize: str | None = None
    minimize: str | None = None
    where: dict[str, Bound] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one(self) -> "Choose":
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("give exactly one of maximize or minimize")
        _known_metric(self.maximize or self.minimize)
        for name in self.where:
            _known_metric(name)
        return self


class Front(_Strict):
    x: str
    y: str

    @model_validator(mode="after")
    def _known(self) -> "Front":
        _known_metric(self.x)
        _known_metric(self.y)
        return self


DEFAULT_FRONTS = (Front(x="lut", y="decode_tokens_per_s"),
                  Front(x="lut", y="prefill_tokens_per_s"),
                  Front(x="perplexity", y="decode_tokens_per_s"),
                  Front(x="energy_per_token_j", y="decode_tokens_per_s"))


class ReportSpec(_Strict):
    fronts: tuple[Front, ...] = Field(DEFAULT_FRONTS, strict=False)


class Cpus(_Strict):
    point: PositiveFloat = 1.0
    synth: PositiveFloat = 1.0


class SweepSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: Base
    space: tuple[SubSpace, ...] = Field(strict=False)
    search: Search = Search()
    metrics: MetricsSpec = MetricsSpec()
    constraints: dict[str, Bound] = Field(default_factory=dict)
    choose: Choose | None = None
    report: ReportSpec = ReportSpec()
    cpus: Cpus = Cpus()

    @field_validator("space", mode="before")
    @classmethod
    def _one_or_many(cls, raw):
        if isinstance(raw, dict):                     # a bare mapping of axes: one sub-space
            return [{"name": "main", "axes": raw}]
        return raw

    @model_validator(mode="after")
    def _check(self) -> "SweepSpec":
        names = [s.name for s in self.space]
        if not names or len(set(names)) != len(names):
            raise ValueError("space: needs at least one sub-space, with distinct names")
        for name in self.constraints:
            _known_metric(name)
        if self.search.method == "grid":
            for s in self.space:
                for axis in s.parsed:
                    if axis.dist is not None:
                        raise ValueError(f"space: {s.name}: {axis.label}: a distribution needs "
                                         "search method random or nsga2")
        needed = [o.metric for o in self.search.objectives] + list(self.constraints)
        if self.choose is not None:
            needed += [self.choose.maximize or self.choose.minimize, *self.choose.where]
        for name in needed:
            section = {"area": "area", "derived": "area", "perplexity": "perplexity"}.get(
                METRICS[name].source)
            if section is not None and getattr(self.metrics, section) is None:
                raise ValueError(f"{name}: needs metrics.{section}")
        return self


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a spec file; :class:`SpecError` names the file and key."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: sweep spec not found")
    return yaml_model.load(path, SweepSpec, SpecError)  # type: ignore[return-value]


def spec_from_text(text: str, label: str) -> SweepSpec:
    """A spec from YAML text (the copy a results store keeps); ``label`` names it in errors."""
    import yaml
    return yaml_model.validate(label, yaml.safe_load(text), SweepSpec, SpecError)  # type: ignore

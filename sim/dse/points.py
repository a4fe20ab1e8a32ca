"""A point of a sweep resolved into what the models consume, and its content key.

A point's parameters (axis key -> value) override the spec's base: ``config``, ``policy``,
``model``, ``prompt_len``, ``gen_len`` choose the files; ``policy.<field>`` keys edit the chosen
policy's YAML mapping and every other key edits the config's, before the schema validates it
(strict, as on load). So a point that breaks a config or policy rule is *invalid*, with the
schema's one-line message, never a crash.

The key is the SHA-256 of the fully resolved config, perf policy, project policy, model shape,
lengths and checks, with the provenance text (names, descriptions, sources, assumptions) left
out: two points that would compute the same numbers share a key, whatever the files were called.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ...base import yaml_model
from .space import SPECIAL

POINT_VERSION = 1                       # bump when a point's metrics change meaning
PROVENANCE = {"name", "description", "source", "assumptions", "fitted", "notes"}


@dataclass(frozen=True)
class Point:
    key: str
    space: str
    params: dict
    cfg: Any                            # bitflight.config.Config
    policy: Any                         # sim.perf.policy.PerfPolicy
    project: Any | None                 # golden.policy.Policy (None: a perf-only policy)
    shape: Any                          # golden.model_shapes.ModelShape
    prompt_len: int
    gen_len: int
    compile: bool = True

    @property
    def names(self) -> dict:
        """What the point was built from, for tables."""
        return {"config": self.cfg.name, "policy": self.policy.name, "model": self.shape.name,
                "engine": self.policy.engine, "prompt_len": self.prompt_len,
                "gen_len": self.gen_len}


@dataclass(frozen=True)
class Invalid:
    key: str
    space: str
    params: dict
    reason: str


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """``data[a][b]... = value`` for ``a.b...``, creating mappings on the way; a numeric part
    indexes a list (``rules.0.weight``)."""
    node: Any = data
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(f"{'.'.join(parts[:i + 1])}: no such list element "
                                 f"({len(node)} present)")
            part = int(part)
        elif not isinstance(node, dict):
            raise ValueError(f"{'.'.join(parts[:i])}: is {node!r}, not a mapping")
        if last:
            node[part] = copy.deepcopy(value)
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]


def _validate(label: str, data: dict, model: type[BaseModel]):
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ValueError(yaml_model.validation_message(label, err)) from None


def _digest(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def content_key(cfg, policy, project, shape, prompt_len: int, gen_len: int,
                compile_check: bool) -> str:
    return _digest({
        "v": POINT_VERSION,
        "config": cfg.model_dump(mode="json", exclude=PROVENANCE),
        "policy": policy.model_dump(mode="json", exclude=PROVENANCE),
        "project_policy": None if project is None else project.model_dump(mode="json",
                                                                           exclude=PROVENANCE),
        "model": shape.model_dump(mode="json", exclude=PROVENANCE),
        "prompt_len": prompt_len, "gen_len": gen_len, "checks": {"compile": compile_check}})


class Resolver:
    """Resolves points of one spec; file names are relative to ``spec_dir`` when they exist
    there, else built-in names or paths as the other commands take them."""

    def __init__(self, spec, spec_dir: Path):
        self.spec, self.spec_dir = spec, Path(spec_dir)
        self._raw: dict[tuple[str, str], dict] = {}
        self._shapes: dict[str, Any] = {}

    def _path(self, name: str) -> str:
        local = self.spec_dir / name
        return str(local) if name.endswith((".yaml", ".yml")) and local.is_file() else name

    def _config_raw(self, name: str) -> dict:
        from ...base.config import resolve
        if ("config", name) not in self._raw:
            self._raw["config", name] = yaml_model.read_mapping(resolve(self._path(name)))
        return copy.deepcopy(self._raw["config", name])

    def _policy_raw(self, name: str | None, cfg) -> tuple[str, dict]:
        """("project" or "perf", the policy's mapping)."""
        from ...golden import policy as project
        from ..perf.policy import PRESETS
        if name is None:
            name = "bitmod-w4-g128" if cfg.bitmod is not None else "flightllm-int4"
        if name in PRESETS:
            return "perf", PRESETS[name].model_dump()
        if ("policy", name) not in self._raw:
            path = Path(self._path(name))
            if not (name.endswith((".yaml", ".yml")) or path.exists()):
                if name not in project.available():
                    raise ValueError(f"unknown policy '{name}' (perf presets: "
                                     f"{', '.join(PRESETS)}; project policies: "
                                     f"{', '.join(project.available())}; or a .yaml path)")
                path = project.POLICIES_DIR / f"{name}.yaml"
            self._raw["policy", name] = yaml_model.read_mapping(path)
        raw = copy.deepcopy(self._raw["policy", name])
        return ("project" if "default" in raw else "perf"), raw

    def _shape(self, name: str):
        from ...golden.model_shapes import load_shape
        if name not in self._shapes:
            self._shapes[name] = load_shape(self._path(name))
        return self._shapes[name]

    def resolve(self, space: str, params: dict) -> Point | Invalid:
        try:
            return self._resolve(space, params)
        except ValueError as exc:
            return Invalid(_digest({"v": POINT_VERSION, "base": self.spec.base.model_dump(),
                                    "params": params}), space, params, str(exc).split("\n")[0])

    def _resolve(self, space: str, params: dict) -> Point:
        from ...base.config import Config
        from ...golden.policy import Policy
        from ..perf.policy import PerfPolicy
        from ..perf.project_policy import from_project_policy
        choice = {k: params.get(k, getattr(self.spec.base, k)) for k in SPECIAL}
        params = {**self.spec.base.set, **params}
        raw_cfg = self._config_raw(choice["config"])
        for key, value in params.items():
            if key not in SPECIAL and not key.startswith("policy."):
                set_dotted(raw_cfg, key, value)
        cfg = _validate(f"config {choice['config']}", raw_cfg, Config)
        shape = self._shape(choice["model"])
        kind, raw_pol = self._policy_raw(choice["policy"], cfg)
        for key, value in params.items():
            if key.startswith("policy."):
                set_dotted(raw_pol, key.removeprefix("policy."), value)
        label = f"policy {choice['policy'] or raw_pol.get('name')}"
        if kind == "project":
            project = _validate(label, raw_pol, Policy)
            policy = from_project_policy(project, shape)
        else:
            project, policy = None, _validate(label, raw_pol, PerfPolicy)
        prompt_len, gen_len = choice["prompt_len"], choice["gen_len"]
        for what, n, low in (("prompt_len", prompt_len, 1), ("gen_len", gen_len, 0)):
            if not isinstance(n, int) or isinstance(n, bool) or n < low:
                raise ValueError(f"{what}: must be an integer >= {low}, got {n!r}")
        check = self.spec.metrics.compile and project is not None
        key = content_key(cfg, policy, project, shape, prompt_len, gen_len, check)
        return Point(key, space, params, cfg, policy, project, shape, prompt_len, gen_len, check)

"""Reading a perf policy by name or file: a perf preset (:data:`.policy.PRESETS`), a project
policy (``configs/policies``, read through :mod:`.project_policy` for a model shape) or a YAML of
:class:`.policy.PerfPolicy` keys. It sits above both modules so neither imports the other back."""
from __future__ import annotations

from pathlib import Path

from ...base.errors import PolicyError
from ...base import yaml_model
from ...golden import policy as project
from ...golden.model_shapes import ModelShape
from .policy import PRESETS, PerfPolicy
from .project_policy import from_project_policy


def load_policy(name_or_path: str | Path, shape: ModelShape | None = None) -> PerfPolicy:
    """A perf preset, a project policy (``configs/policies`` name or a YAML with its schema,
    read for the operations of ``shape``), or a YAML with :class:`PerfPolicy` keys.
    Errors are one line naming the file and key."""
    text = str(name_or_path)
    if text in PRESETS:
        return PRESETS[text]
    path = Path(text)
    is_file = path.suffix in (".yaml", ".yml") or path.exists()
    data = yaml_model.read_mapping(path, PolicyError) if is_file else None
    if data is None or "default" in data:          # the project's policy schema
        if not is_file and text not in project.available():
            raise PolicyError(f"unknown policy '{text}' (perf presets: {', '.join(PRESETS)}; "
                             f"project policies: {', '.join(project.available())}; "
                             "or give a .yaml path)")
        if shape is None:
            raise PolicyError(f"policy '{text}': a project policy needs the model shape")
        return from_project_policy(project.load_policy(name_or_path), shape)
    return yaml_model.validate(path, data, PerfPolicy, PolicyError)  # type: ignore[return-value]

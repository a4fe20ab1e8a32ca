"""YAML files validated into pydantic models, with one-line errors naming the file and the key.

Every schema of the project (hardware configs, model shapes, policies, roofline devices) is a
directory of ``NAME.yaml`` files selected by name or by path, so they share these helpers. They
live in the base package, which every folder may import and which imports nothing else of the
project (golden's own schemas, the hardware config and sim.perf all need them). Each caller passes its own exception class (``ConfigError``, ``ModelShapeError``...), so
the CLI still reports every failure as ``bitflight CMD: error: <file>: <key>: <problem>``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError


def package_dir(package: str, *parts: str) -> Path:
    """A data folder shipped inside an installed package, found with ``importlib.resources``
    (never relative to the source tree, so a regular ``pip install`` finds it as well as an
    editable one; both install packages as real folders)."""
    return Path(str(resources.files(package).joinpath(*parts)))


def available(directory: Path) -> list[str]:
    """Names of the built-in files of one schema directory."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def resolve(name_or_path: str | Path, directory: Path, kind: str,
            error: type[Exception] = ValueError) -> Path:
    """A built-in name (``directory / NAME.yaml``) or a path to a YAML file.

    Text ending in .yaml/.yml or naming an existing file is a path; anything else is a name.
    ``kind`` ("config", "model shape"...) is the word the messages use.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise error(f"{path}: {kind} file not found")
        return path
    candidate = directory / f"{text}.yaml"
    if not candidate.is_file():
        known = ", ".join(available(directory)) or "none"
        raise error(f"unknown {kind} '{text}' (built-in: {known}; or give a .yaml path)")
    return candidate


def read_mapping(path: Path, error: type[Exception] = ValueError) -> dict:
    """The top-level mapping of a YAML file (unreadable, invalid or non-mapping: ``error``)."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "syntax"
        raise error(f"{path}: {where}: not valid YAML") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: (top level): expected a mapping of keys")
    return data


def validation_message(path: Path | str, err: ValidationError) -> str:
    """``file: dotted.key: problem (and N more)`` for the first error pydantic reports."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{path}: {loc}: {msg}{more}"


def validate(path: Path | str, data: dict, model: type[BaseModel],
             error: type[Exception] = ValueError) -> BaseModel:
    """``model.model_validate(data)`` with the one-line message of :func:`validation_message`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise error(validation_message(path, err)) from None


def load(path: Path, model: type[BaseModel], error: type[Exception] = ValueError) -> BaseModel:
    """Read and validate one YAML file into ``model``."""
    return validate(path, read_mapping(path, error), model, error)

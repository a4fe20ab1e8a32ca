"""Reproductions of published numbers (docs/results/reproduction.md).

Each reproduction is a function returning :class:`Row` s, one per published number compared:
``bitflight perf --reproduce NAME --json`` prints them as ``{"name", "ours", "paper", "unit"}``.
Parameters come from configs; the few fitted ones are marked in the configs' ``fitted:`` maps.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from ....base.errors import UsageError


@dataclass(frozen=True)
class Row:
    name: str
    ours: float
    paper: float
    unit: str
    tolerance: float            # allowed relative error |ours / paper - 1|
    note: str = ""              # "fitted" when the number was used to fit a parameter

    @property
    def error(self) -> float:
        return self.ours / self.paper - 1

    @property
    def ok(self) -> bool:
        return abs(self.error) <= self.tolerance

    def to_json(self) -> dict:
        return {"name": self.name, "ours": self.ours, "paper": self.paper, "unit": self.unit}


MODULES = {"bitmod": "bitmod", "flightllm": "flightllm", "llm-viewer": "llm_viewer"}
NAMES = tuple(MODULES)


def module(name: str):
    if name not in MODULES:
        raise UsageError(f"unknown reproduction '{name}' (known: {', '.join(NAMES)})")
    return import_module(f"{__name__}.{MODULES[name]}")


def run(name: str, attention: str | None = None) -> list[Row]:
    """The rows of reproduction ``name`` (one of :data:`NAMES`); ``attention`` overrides the
    BitMoD reproduction's attention convention (to show its effect)."""
    if attention is not None and name != "bitmod":
        raise UsageError("--attention applies to --reproduce bitmod only")
    return module(name).rows(attention) if attention else module(name).rows()

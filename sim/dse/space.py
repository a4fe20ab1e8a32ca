"""Axes of a sweep and the points they span: grids (the product of every axis of a sub-space),
random samples, and the names Optuna's define-by-run search uses.

An axis is written ``KEY: VALUES`` in a sub-space:

* ``VALUES`` a list: one grid value each (a one-element list, or a bare scalar, fixes the key);
* ``VALUES`` a distribution (random and NSGA-II search only): ``{uniform: [lo, hi]}``,
  ``{log_uniform: [lo, hi]}`` or ``{int: [lo, hi]}`` (optional ``step``, ``log``);
* ``KEY`` several dotted keys joined by commas (``"a.rows, a.cols"``): a *linked* axis whose
  values are lists with one entry per key, varied together (e.g. an array shape).

Keys: ``config``, ``policy``, ``model``, ``prompt_len``, ``gen_len`` (the point's base
choices), ``policy.<field>`` (a field of the resolved policy, dotted), or a dotted key of the
hardware config schema (``bitmod.prefill_array.rows``, ``clock_mhz``).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterator

SPECIAL = ("config", "policy", "model", "prompt_len", "gen_len")
DISTRIBUTIONS = ("uniform", "log_uniform", "int")


@dataclass(frozen=True)
class Distribution:
    kind: str                       # uniform | log_uniform | int
    low: float
    high: float
    step: int = 1
    log: bool = False

    def sample(self, rng) -> float | int:
        if self.kind == "int" and self.log:       # log-uniform over [low, high + 1), floored
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(int(value), int(self.high))
        if self.kind == "int":
            steps = (int(self.high) - int(self.low)) // self.step
            return int(self.low) + self.step * int(rng.integers(steps + 1))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Axis:
    keys: tuple[str, ...]
    values: tuple[Any, ...] | None = None   # grid values (a tuple per value when linked)
    dist: Distribution | None = None

    @property
    def label(self) -> str:
        return ", ".join(self.keys)

    def assign(self, value: Any) -> dict[str, Any]:
        """``{key: value}`` for one value of this axis (linked keys split)."""
        if len(self.keys) == 1:
            return {self.keys[0]: value}
        return dict(zip(self.keys, value))


def _distribution(key: str, raw: dict) -> Distribution:
    kinds = [k for k in DISTRIBUTIONS if k in raw]
    extra = set(raw) - set(DISTRIBUTIONS) - {"step", "log"}
    if len(kinds) != 1 or extra:
        raise ValueError(f"{key}: a distribution is one of {{uniform: [lo, hi]}}, "
                         "{log_uniform: [lo, hi]}, {int: [lo, hi], step: k, log: bool}")
    kind = kinds[0]
    bounds = raw[kind]
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            or bounds[0] >= bounds[1]):
        raise ValueError(f"{key}: {kind} needs [low, high] numbers with low < high")
    if kind == "log_uniform" and bounds[0] <= 0:
        raise ValueError(f"{key}: log_uniform needs low > 0")
    step, log = raw.get("step", 1), raw.get("log", False)
    if kind != "int" and ("step" in raw or "log" in raw):
        raise ValueError(f"{key}: step and log go with int distributions")
    if kind == "int" and (not all(isinstance(b, int) for b in bounds)
                          or not isinstance(step, int) or step < 1 or not isinstance(log, bool)
                          or (log and (bounds[0] < 1 or step != 1))):
        raise ValueError(f"{key}: int needs integer bounds and a step >= 1 (with log: "
                         "bounds >= 1 and step 1)")
    return Distribution(kind, bounds[0], bounds[1], step, log)


def parse_axis(label: str, raw: Any) -> Axis:
    """One ``KEY: VALUES`` entry (module docstring); ValueError names the key."""
    keys = tuple(k.strip() for k in label.split(","))
    if not all(keys) or len(set(keys)) != len(keys):
        raise ValueError(f"{label}: linked keys must be distinct and non-empty")
    if isinstance(raw, dict) and set(raw) & set(DISTRIBUTIONS):
        if len(keys) > 1:
            raise ValueError(f"{label}: a linked axis takes a list of values, not a distribution")
        if keys[0] in ("config", "policy", "model"):
            raise ValueError(f"{label}: takes a list of names, not a distribution")
        return Axis(keys, dist=_distribution(label, raw))
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ValueError(f"{label}: empty list of values")
    if len(keys) > 1:
        for v in values:
            if not isinstance(v, list) or len(v) != len(keys):
                raise ValueError(f"{label}: each value must be a list of {len(keys)} entries, "
                                 f"one per key; got {v!r}")
        values = [tuple(v) for v in values]
    return Axis(keys, values=tuple(values))


def grid(axes: tuple[Axis, ...]) -> Iterator[dict[str, Any]]:
    """Every combination of the axes' values (the last axis varies fastest)."""
    for combo in itertools.product(*(a.values for a in axes)):
        params: dict[str, Any] = {}
        for axis, value in zip(axes, combo):
            params.update(axis.assign(value))
        yield params


def grid_size(axes: tuple[Axis, ...]) -> int:
    return math.prod(len(a.values) for a in axes)


def sample(axes: tuple[Axis, ...], rng) -> dict[str, Any]:
    """One random point: a uniform choice per listed axis, a draw per distribution."""
    params: dict[str, Any] = {}
    for axis in axes:
        if axis.dist is not None:
            params.update(axis.assign(axis.dist.sample(rng)))
        else:
            params.update(axis.assign(axis.values[int(rng.integers(len(axis.values)))]))
    return params


def _optuna_choice(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def suggest(trial, axes: tuple[Axis, ...], prefix: str = "") -> dict[str, Any]:
    """The point an Optuna trial asks for: listed axes are categorical (over the values when
    they are plain scalars, else over their indices), distributions map to Optuna's."""
    params: dict[str, Any] = {}
    for axis in axes:
        name = prefix + axis.label
        d = axis.dist
        if d is None:
            if all(_optuna_choice(v) for v in axis.values):
                value = trial.suggest_categorical(name, list(axis.values))
            else:
                value = axis.values[trial.suggest_categorical(name, list(range(len(axis.values))))]
        elif d.kind == "int":
            value = trial.suggest_int(name, int(d.low), int(d.high), step=d.step, log=d.log)
        else:
            value = trial.suggest_float(name, d.low, d.high, log=d.kind == "log_uniform")
        params.update(axis.assign(value))
    return params

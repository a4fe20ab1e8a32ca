"""Pareto fronts of two metrics and the chosen design.

A point *dominates* another when it is at least as good in both metrics and better in one
("good" is each metric's goal, max or min). The front is every point no other point dominates;
points with equal values are all kept.
"""
from __future__ import annotations

from .metrics import METRICS, within


def front(values: list[tuple[float, float]], goals: tuple[str, str]) -> list[int]:
    """Indices of the non-dominated ``(x, y)`` pairs, ordered by x (best x first)."""
    sign = [1 if g == "min" else -1 for g in goals]
    cost = [(sign[0] * x, sign[1] * y) for x, y in values]
    order = sorted(range(len(cost)), key=lambda i: cost[i])
    keep: list[int] = []
    best_y = float("inf")
    for i in order:
        x, y = cost[i]
        if y < best_y:
            keep.append(i)
            best_y = y
        elif keep and cost[keep[-1]] == (x, y):      # a tie with the last kept point
            keep.append(i)
    return keep


def front_records(records: list[dict], x: str, y: str, constraints: dict) -> tuple[list, list]:
    """(records that have both metrics and meet the constraints, the front among them)."""
    usable = [r for r in records if r.get(x) is not None and r.get(y) is not None
              and within(r, constraints)[0]]
    idx = front([(r[x], r[y]) for r in usable], (METRICS[x].goal, METRICS[y].goal))
    return usable, [usable[i] for i in idx]


def choose(records: list[dict], rule, constraints: dict) -> tuple[dict | None, str]:
    """The best feasible record under ``rule`` (spec ``choose``) and a sentence saying how."""
    metric = rule.maximize or rule.minimize
    bounds = {**constraints, **rule.where}
    feasible = [r for r in records if r.get(metric) is not None and within(r, bounds)[0]]
    if not feasible:
        return None, f"no point has {metric} and meets {_bounds_text(bounds)}"
    pick = (max if rule.maximize else min)(feasible, key=lambda r: r[metric])
    how = "maximize" if rule.maximize else "minimize"
    return pick, (f"{how} {metric} over the {len(feasible)} points that meet "
                  f"{_bounds_text(bounds)}")


def _bounds_text(bounds: dict) -> str:
    parts = []
    for name, b in bounds.items():
        if b.min is not None:
            parts.append(f"{name} >= {b.min:g}")
        if b.max is not None:
            parts.append(f"{name} <= {b.max:g}")
    return ", ".join(parts) or "no constraint"

"""Speed benchmarks (measured here, never in unit tests): one ``bench_<name>.py`` module each.

Every module defines ``main() -> None`` that runs its measurement and prints (or writes under
docs/results/) what it found, with the command and machine. Run them all, or one by name::

    python -m bitflight.sim.bench            # every bench_*.py, in name order
    python -m bitflight.sim.bench counter    # bench_counter.py only ("bench_counter" works too)
    python -m bitflight.sim.bench --list
"""
from __future__ import annotations

import importlib
import pkgutil


def available() -> list[str]:
    """Benchmark names (module names without the ``bench_`` prefix), sorted."""
    return sorted(info.name.removeprefix("bench_") for info in pkgutil.iter_modules(__path__)
                  if info.name.startswith("bench_"))


def load(name: str):
    """The benchmark module ``name`` or ``bench_<name>``; ValueError listing the known ones."""
    short = name.removeprefix("bench_")
    if short not in available():
        raise ValueError(f"unknown benchmark '{name}' (known: {', '.join(available()) or 'none'})")
    module = importlib.import_module(f"{__name__}.bench_{short}")
    if not callable(getattr(module, "main", None)):
        raise ValueError(f"{module.__name__} has no main() function")
    return module

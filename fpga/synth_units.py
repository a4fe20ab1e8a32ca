"""Per-unit resources of a hierarchical synthesis, from the Yosys log ``bitflight synth --log``
keeps: the last ``stat`` prints each module's own cells and its submodule instances; a unit's
count is its module's cells plus those of every instance below it, each counted once per
instance (what ``stat`` itself sums for the top).

Usage: ``python -m bitflight.fpga.synth_units LOG [--family xc7] [--depth 2]`` prints one row
per instance down to ``depth`` levels below the top (docs/rtl/top.md's table of the top).
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from .synth import Resources, resources_from_cells

_COUNT = re.compile(r"^\s+(\d+)\s+(\S+)\s*$", re.M)


def module_cells(log_text: str) -> dict[str, Counter]:
    """Module -> its own cell types and submodule instances, from the log's last ``stat``."""
    start = log_text.rfind("Printing statistics.")
    if start < 0:
        raise ValueError("no 'Printing statistics.' in the log: not a Yosys synthesis log")
    modules = {}
    for block in re.split(r"\n=== ", log_text[start:])[1:]:
        name = block.split(" ===", 1)[0].strip()
        if name.startswith("design hierarchy"):
            break
        modules[name] = Counter({t: int(n) for n, t in _COUNT.findall(block)})
    return modules


def subtree(modules: dict[str, Counter], name: str) -> Counter:
    """Cells of module ``name`` with every instance below it expanded."""
    out = Counter()
    for cell, n in modules[name].items():
        for leaf, k in (subtree(modules, cell) if cell in modules else {cell: 1}).items():
            out[leaf] += n * k
    return out


def units(modules: dict[str, Counter], top: str, family: str, depth: int = 1
          ) -> list[tuple[str, Resources]]:
    """(instance module, resources) of ``top``, its own cells ("top (own)") and its submodules
    down to ``depth`` levels, depth-first."""
    own = Counter({c: n for c, n in modules[top].items() if c not in modules})
    rows = [(top, resources_from_cells(subtree(modules, top), family)),
            (f"{top} (own)", resources_from_cells(own, family))]

    def walk(name, level):
        for child in sorted(c for c in modules[name] if c in modules):
            rows.append((child, resources_from_cells(subtree(modules, child), family)))
            if level < depth:
                walk(child, level + 1)
    walk(top, 1)
    return rows


def top_module(modules: dict[str, Counter]) -> str:
    """The module no other module instantiates (a shared module, such as a PE instanced by
    name, need not carry the top's name as a prefix)."""
    used = {cell for cells in modules.values() for cell in cells if cell in modules}
    tops = sorted(set(modules) - used)
    if len(tops) != 1:
        raise ValueError(f"expected one top module, found {tops}")
    return tops[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bitflight.fpga.synth_units",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path)
    ap.add_argument("--family", default="xc7")
    ap.add_argument("--depth", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        modules = module_cells(args.log.read_text(errors="replace"))
        top = top_module(modules)
    except (OSError, ValueError) as exc:
        print(f"synth_units: {args.log}: {exc}", file=sys.stderr)
        return 1
    print(f"{'unit':60s} {'LUT':>8s} {'FF':>8s} {'CARRY':>6s} {'DSP':>5s} {'BRAM':>5s}")
    for name, r in units(modules, top, args.family, args.depth):
        print(f"{name:60s} {r.lut:8d} {r.ff:8d} {r.carry:6d} {r.dsp:5d} {r.bram:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

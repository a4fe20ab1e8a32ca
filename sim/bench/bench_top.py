"""Simulation speed of the accelerator top: compiled tiny-model steps on Verilator + cocotb.

Usage: .venv/bin/python -m bitflight.sim.bench top [-- --policy flightllm --decode 4
       --recipes ports,all-public,o3,threads2]
Runs a prefill of 3 tokens and ``--decode`` decode steps of the tiny GQA LLaMA, every
instruction on its RTL engine, once per build recipe, and prints per recipe the build time (0 on
a cache hit), simulated cycles, wall seconds of the simulation (from the first start to the last
irq, measured inside the cocotb process) and cycles per second. The cycle counts must agree
between recipes (the same RTL); docs/results/simulation-speed.md quotes the result.
"""
from __future__ import annotations

import argparse
import os
import platform

# name -> (runner.build keyword arguments, what it is)
RECIPES = {
    "ports": ({}, "the tests' build: only the ports and buffer memories public"),
    "all-public": ({"public": None}, "cocotb's default --public-flat-rw: every signal public"),
    "o3": ({"build_args": ("-O3", "--x-assign", "fast", "--x-initial", "fast")},
           "ports + Verilator -O3 --x-assign fast --x-initial fast"),
    "threads2": ({"build_args": ("--threads", "2")}, "ports + a 2-thread model"),
}


def main() -> None:
    from ...base import config
    from ..top import runner
    from ..top.compiled import steps_for
    from ..top.job import Job
    parser = argparse.ArgumentParser(prog="bench top")
    parser.add_argument("--policy", default="bitmod-w4")
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--decode", type=int, default=4, help="decode steps after the prefill")
    parser.add_argument("--recipes", default="ports",
                        help=f"comma-separated build recipes: {', '.join(RECIPES)}")
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise SystemExit(f"bench top: unknown recipe '{unknown[0]}' (known: {', '.join(RECIPES)})")
    cfg = config.load(args.config)
    image, sizes, steps = steps_for("tiny-golden", cfg, args.policy, [1, 2, 3],
                                    [5 + k for k in range(args.decode)])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; config {args.config}, "
          f"policy {args.policy}, prefill 3 + {args.decode} decode steps")
    print("| recipe | build s | cycles | wall s | cycles/s |")
    print("|---|---|---|---|---|")
    for name in recipes:
        kwargs, _ = RECIPES[name]
        top = runner.build(cfg, **kwargs)       # the content digest tells the recipes apart
        result = runner.run(top, Job(channels=image, limits=sizes, steps=[s for _, s in steps],
                                     dump_buffers=False), quiet=True)
        if result.error:
            raise SystemExit(f"bench top ({name}): {result.error}")
        cycles = sum(s.cycles for s in result.steps)
        build_s = 0.0 if top[0].cache_hit else top[0].seconds
        print(f"| {name} | {build_s:.0f} | {cycles} | {result.wall_seconds:.1f} | "
              f"{cycles / result.wall_seconds:,.0f} |  (load {os.getloadavg()[0]:.1f})",
              flush=True)


if __name__ == "__main__":
    main()

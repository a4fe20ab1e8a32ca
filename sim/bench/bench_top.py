"""Simulation speed of the accelerator top: compiled tiny-model steps on Verilator + cocotb.

Usage: .venv/bin/python -m bitflight.sim.bench top [-- --policy flightllm --decode 4]
Runs a prefill of 3 tokens and ``--decode`` decode steps of the tiny GQA LLaMA (its LD/ST/SYS/
COPY on the real top, the other instructions skipped by the MODE register until their
engines exist; see docs/rtl/top.md) and prints simulated cycles, wall seconds of the
simulation (from the first start to the last irq, measured inside the cocotb process) and
cycles per second. docs/results/simulation-speed.md quotes the result.
"""
from __future__ import annotations

import argparse
import os
import platform


def main() -> None:
    from ...base import config
    from ..top import runner
    from ..top.compiled import steps_for
    from ..top.job import Job
    parser = argparse.ArgumentParser(prog="bench top")
    parser.add_argument("--policy", default="bitmod-w4")
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--decode", type=int, default=4, help="decode steps after the prefill")
    args = parser.parse_args()
    cfg = config.load(args.config)
    top = runner.build(cfg)
    print(f"build: {'cache hit' if top[0].cache_hit else 'compiled'} in {top[0].seconds:.1f} s")
    image, sizes, steps = steps_for("tiny-golden", cfg, args.policy, [1, 2, 3],
                                    [5 + k for k in range(args.decode)])
    result = runner.run(top, Job(channels=image, limits=sizes, steps=[s for _, s in steps],
                                 dump_buffers=False, skip_missing=True))
    if result.error:
        raise SystemExit(f"bench top: {result.error}")
    cycles = sum(s.cycles for s in result.steps)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; config {args.config}, policy {args.policy}")
    for k, s in enumerate(result.steps):
        print(f"step {k}: {s.cycles} cycles; busy {s.active}; token stalls {s.stalls}")
    print(f"{len(result.steps)} steps, {cycles} cycles in {result.wall_seconds:.2f} s: "
          f"{cycles / result.wall_seconds:,.0f} cycles/s")


if __name__ == "__main__":
    main()

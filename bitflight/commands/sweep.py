"""``bitflight sweep``: design-space exploration over configs, policies, models and lengths.

  bitflight sweep SPEC.yaml -o RESULTS [--workers N]            local process pool
  bitflight sweep SPEC.yaml -o RESULTS --ray local [--ray-cpus N]  a private Ray runtime
  bitflight sweep SPEC.yaml -o RESULTS --ray ADDRESS            a Ray cluster (auto, ray://...)
  bitflight sweep --report RESULTS                              redraw plots, report.md, CSV
A rerun with the same RESULTS resumes: finished points are never recomputed. See docs/dse.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="design-space exploration: perf, area, perplexity over many design points",
        description=__doc__.split("\n\n")[0] + " See docs/dse.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("spec", nargs="?", type=Path, help="sweep spec (YAML, e.g. configs/sweeps/...)")
    p.add_argument("-o", "--out", type=Path, help="results folder (store, plots, report)")
    p.add_argument("--report", type=Path, metavar="RESULTS",
                   help="only redraw the report of an existing results folder")
    p.add_argument("--workers", type=int, help="local worker processes (default: CPU count)")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run on Ray: 'local' starts a private runtime, else ray.init(address)")
    p.add_argument("--ray-cpus", type=int, help="CPUs of the --ray local runtime")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=handler)


def handler(args) -> int:
    from ..sim.dse import report
    from ..sim.dse.store import Store
    if args.report:
        if args.spec or args.out:
            raise ValueError("--report takes only the results folder")
        from ..sim.dse.spec import spec_from_text
        store = Store(args.report, create=False)
        text = store.meta("spec")
        if text is None:
            raise ValueError(f"{store.path}: holds no spec (not written by bitflight sweep)")
        spec = spec_from_text(text, f"{store.path} (stored spec)")
        files = report.write_report(store, spec, args.report)
        print("wrote " + ", ".join(str(f) for f in files))
        return 0
    if args.spec is None or args.out is None:
        raise ValueError("give SPEC.yaml and -o RESULTS (or --report RESULTS)")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers: must be at least 1, got {args.workers}")
    return _run(args)


def _run(args) -> int:
    from ..sim.dse import report
    from ..sim.dse.executors import LocalExecutor, RayExecutor
    from ..sim.dse.runner import Sweep
    from ..sim.dse.spec import load_spec
    spec = load_spec(args.spec)
    start = time.monotonic()
    executor = RayExecutor(args.ray, args.ray_cpus) if args.ray else LocalExecutor(args.workers)
    print(f"bitflight sweep: {spec.name} on {executor.name}", file=sys.stderr)
    sweep = Sweep(spec, args.spec.read_text(), args.spec.parent, args.out, executor,
                  progress=not args.no_progress)
    try:
        sweep.run()
    finally:
        executor.close()
    wall = time.monotonic() - start
    files = report.write_report(sweep.store, spec, args.out, wall)
    counts = sweep.store.counts()
    points = ", ".join(f"{counts[s]} {s}" for s in ("ok", "invalid", "error") if s in counts)
    ran = ", ".join(f"{n} {k}" for k, n in sweep.ran.items())
    print(f"{spec.name}: points {points}; tasks run now: {ran}; wall {wall:.1f} s")
    print(f"wrote {args.out / 'results.sqlite'}, " + ", ".join(str(f) for f in files))
    sweep.close()
    return 0

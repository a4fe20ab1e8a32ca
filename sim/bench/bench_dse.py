"""Sweep speed: one LLaMA-2-7B point of the perf model, and points/s of a whole sweep on the
local process pool and on a local Ray runtime.

    python -m bitflight.sim.bench dse -- [--spec configs/sweeps/u280-llama2-7b.yaml]
        [--workers 2] [--repeat 5] [--no-ray] [--no-compile]

Part 1 times ``sim.perf.point.point_metrics`` (prefill + every decode step) on one BitMoD and
one CSD point of the spec (median of ``--repeat`` warm calls). Part 2 runs the spec's points
with perf metrics only (no area, no perplexity; with the compiler check unless ``--no-compile``)
into a fresh results folder per executor, and reports wall time (worker start-up included) and
points/s. docs/results/dse.md records the numbers.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _time_points(spec_path: Path, repeat: int) -> None:
    from bitflight.sim.dse.points import Point, Resolver
    from bitflight.sim.dse.spec import load_spec
    from bitflight.sim.dse.space import grid
    from bitflight.sim.perf.point import point_metrics
    spec = load_spec(spec_path)
    resolver = Resolver(spec, spec_path.parent)
    for sub in spec.space[:2]:
        p = resolver.resolve(sub.name, next(grid(sub.parsed)))
        if not isinstance(p, Point):
            print(f"{sub.name}: first point invalid ({p.reason})")
            continue
        point_metrics(p.shape, p.cfg, p.policy, p.prompt_len, p.gen_len)      # warm caches
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            point_metrics(p.shape, p.cfg, p.policy, p.prompt_len, p.gen_len)
            times.append(time.perf_counter() - start)
        print(f"perf model, {p.shape.name} {sub.name} ({p.policy.name}, prompt {p.prompt_len}, "
              f"{p.gen_len} decode steps): median {statistics.median(times) * 1e3:.1f} ms, "
              f"min {min(times) * 1e3:.1f} ms over {repeat} calls")


def _sweep(spec_path: Path, executor, compile_check: bool) -> None:
    from bitflight.sim.dse.runner import Sweep
    from bitflight.sim.dse.spec import load_spec
    data = yaml.safe_load(spec_path.read_text())
    data["metrics"] = {"compile": compile_check}
    data.pop("choose", None)
    data.pop("constraints", None)
    with tempfile.TemporaryDirectory(prefix="bench-dse-") as tmp:
        path = Path(tmp) / spec_path.name
        path.write_text(yaml.safe_dump(data))
        try:
            spec = load_spec(path)
            start = time.monotonic()
            # file names in the spec stay relative to the original spec's folder
            sweep = Sweep(spec, path.read_text(), spec_path.parent, Path(tmp) / "results",
                          executor, progress=False)
            sweep.run()
            wall = time.monotonic() - start
        finally:
            executor.close()
        n = sweep.ran["point"]
        counts = sweep.store.counts()
        print(f"{executor.name}, compile check {'on' if compile_check else 'off'}: {n} point "
              f"tasks ({counts.get('ok', 0)} ok, {counts.get('invalid', 0)} invalid) in "
              f"{wall:.1f} s = {n / wall:.2f} points/s (start-up included)")
        sweep.close()


def main() -> None:
    from bitflight.sim.dse.executors import LocalExecutor, RayExecutor
    parser = argparse.ArgumentParser(prog="bench_dse")
    parser.add_argument("--spec", type=Path,
                        default=ROOT / "configs" / "sweeps" / "u280-llama2-7b.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    _time_points(args.spec, args.repeat)
    for check in ([False] if args.no_compile else [False, True]):
        _sweep(args.spec, LocalExecutor(args.workers), check)
        if not args.no_ray:
            _sweep(args.spec, RayExecutor("local", args.workers), check)


if __name__ == "__main__":
    main()

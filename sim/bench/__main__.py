"""``python -m bitflight.sim.bench [NAME ...] [--list] [-- ARGS]``: run benchmark modules' main().

A benchmark's main() may parse sys.argv itself; while it runs, sys.argv holds only its module
name and the ARGS given after ``--`` (so ``... bench sparse -- --repeat 3`` reaches bench_sparse).
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback

from . import available, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bitflight.sim.bench",
                                     description="Run sim/bench/bench_*.py benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    argv = list(sys.argv[1:] if argv is None else argv)
    forwarded = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.list:
        print("\n".join(available()))
        return 0
    try:
        modules = [load(name) for name in (args.names or available())]
    except ValueError as exc:
        print(f"bitflight.sim.bench: error: {exc}", file=sys.stderr)
        return 2
    failed = []
    for module in modules:
        print(f"== {module.__name__}", flush=True)
        start = time.monotonic()
        saved_argv, sys.argv = sys.argv, [module.__file__, *forwarded]
        try:
            module.main()
        except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the others
            if not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
                traceback.print_exc()
                failed.append(module.__name__)
        finally:
            sys.argv = saved_argv
        print(f"== {module.__name__}: {time.monotonic() - start:.1f} s", flush=True)
    if failed:
        print(f"bitflight.sim.bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

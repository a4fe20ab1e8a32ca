"""The ``bitflight`` command line.

Each subcommand lives in its own module under ``bitflight/commands`` and exposes
``register(subparsers)``; modules are discovered, so adding a command touches no shared file.
Command modules import heavy packages (torch, amaranth) inside their handlers so that
``bitflight --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .base.errors import BitflightError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bitflight",
        description="Design, compile for and verify LLM accelerators (BitMoD, FlightLLM).")
    parser.add_argument("--version", action="version", version=f"bitflight {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    from . import commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A :class:`BitflightError` (bad input: config, model, policy, program,
    argument, output path) and an OS error on a named file are printed as one line with exit
    status 2; any other exception is a bug in bitflight and propagates with its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0
    except BitflightError as exc:
        print(f"bitflight {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        from .base.atomic_file import os_cause     # "path: cause", never "[Errno N]"
        print(f"bitflight {args.command}: error: {exc.filename}: {os_cause(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bitflight: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

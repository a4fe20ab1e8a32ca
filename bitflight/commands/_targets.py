"""Argument helpers shared by the hardware commands (verilog, synth): TARGET, --config, --list.

Targets are looked up in bitflight.rtl.registry only inside the handler, so that registering the
commands (every ``bitflight`` run) never imports Amaranth or the RTL packages.
"""
from __future__ import annotations

import argparse
from ..base.errors import UsageError


def add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", metavar="TARGET",
                        help="component to build, from the RTL registry (see --list)")
    parser.add_argument("--config", "-c", default="tiny",
                        help="hardware config: built-in name or YAML path (default: tiny)")
    parser.add_argument("--list", action="store_true", help="list the available targets and exit")


def list_or_require_target(args: argparse.Namespace) -> bool:
    """Print the targets and return True for --list; raise ValueError when TARGET is missing."""
    from ..rtl import registry
    if args.list:
        for name, target in registry.targets().items():
            print(f"{name:24s} {target.doc}")
        return True
    if not args.target:
        names = ", ".join(registry.targets()) or "none"
        raise UsageError(f"give a TARGET (known targets: {names})")
    registry.get(args.target)  # ValueError naming the known targets
    return False

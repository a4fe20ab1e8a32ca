"""``bitflight verilog TARGET --config CONFIG -o DIR [--no-lint]``: export and lint Verilog."""
from __future__ import annotations

import argparse

from ._targets import add_target_args, list_or_require_target


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verilog", help="write a component's Verilog and lint it with Verilator",
        description="Elaborate TARGET from the hardware config, write DIR/TARGET.v (top module "
                    "TARGET with '-' as '_') and run verilator --lint-only -Wall with the "
                    "waivers documented in docs/hardware-flow.md.")
    add_target_args(parser)
    parser.add_argument("-o", "--out", default=".", metavar="DIR",
                        help="output folder (default: current folder)")
    parser.add_argument("--no-lint", action="store_true", help="skip the Verilator lint")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    if list_or_require_target(args):
        return 0
    from ..fpga import export
    from ..rtl import registry
    path = export.write_verilog(args.target, args.config, args.out)
    if not args.no_lint:
        export.lint(path, registry.get(args.target).top)
    print(f"{path}{'' if args.no_lint else ' (lint clean)'}")
    return 0

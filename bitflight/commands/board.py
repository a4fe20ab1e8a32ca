"""``bitflight board u280 --config C -o DIR [--platform P]``: the Vitis RTL-kernel package."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "board", help="write the files to build and run the accelerator on a board",
        description="u280: the accelerator top as a Vitis RTL kernel for the Alveo U280 "
                    "(Verilog and shell, kernel.xml, package_xo TCL, v++ link config with HBM "
                    "sp= mapping, clock XDC, build.sh and an XRT host script); run them with "
                    "Vivado/Vitis and XRT (docs/hardware-flow.md, 'On a board').")
    parser.add_argument("board", choices=("u280",), help="the board")
    parser.add_argument("--config", "-c", default="tiny",
                        help="hardware config: built-in name or YAML path (default: tiny)")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    from ..fpga.board.u280 import PLATFORM
    parser.add_argument("--platform", default=PLATFORM,
                        help=f"Vitis platform for v++ (default: {PLATFORM})")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from ..base.config import load
    from ..fpga import export
    from ..fpga.board import u280
    cfg = load(args.config)
    component, top = export.elaborate("accelerator", cfg)
    board = u280.write_package(export.verilog_text(component, top), cfg.name, cfg.clock_mhz,
                               Path(args.out), args.platform)
    banks = ", ".join(f"{m}:{info['bank']}" for m, info in board["masters"].items())
    print(f"{args.out}: U280 RTL kernel of the accelerator (config {cfg.name}, "
          f"{cfg.clock_mhz:g} MHz), masters {banks}; run build.sh, then host.py")
    return 0

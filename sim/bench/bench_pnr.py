"""Routed Fmax and utilization on ECP5 (docs/results/resources.md, "Routed on ECP5").

Usage: .venv/bin/python -m bitflight.sim.bench pnr [-- --targets bitmod-pe csd-chain
        --config tiny --device ecp5-85 --freq 100 --seed 1 --json FILE]
Runs ``bitflight pnr`` for each target in turn (one nextpnr at a time: each run takes minutes
to tens of minutes on a 2-core machine) and prints one table row per target.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# The default pair takes about 5-10 minutes here; add bitmod-array and accelerator for the
# whole table of docs/results/resources.md (about an hour on the shared 2-core machine).
TARGETS = ("bitmod-pe", "csd-chain")


def row(result) -> str:
    d = result.to_dict()
    used = d["utilization"]
    path = d["critical_paths"][0] if d["critical_paths"] else {}

    def count(bel):
        return used.get(bel, {}).get("used", 0)
    fmax = ", ".join(f"{mhz:.1f}" for mhz in d["fmax_mhz"].values())
    return (f"| {d['target']} | {fmax} | {count('TRELLIS_COMB')} | {count('TRELLIS_FF')} | "
            f"{count('MULT18X18D')} | {count('DP16KD')} | {count('TRELLIS_RAMW')} | "
            f"{d['synth']['lut4']} / {d['synth']['carry']} | "
            f"{path.get('logic_levels', '-')} (+{path.get('carry_hops', 0)}) | "
            f"{d['seconds']['synth']:.0f} + {d['seconds']['nextpnr']:.0f} s |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS))
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--device", default="ecp5-85")
    parser.add_argument("--freq", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every run's summary here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    import tempfile

    from ...fpga import export, pnr
    rows, summaries = [], []
    for target in args.targets:
        start = time.monotonic()
        component, top = export.elaborate(target, args.config)
        with tempfile.TemporaryDirectory(prefix="bitflight-bench-pnr-") as tmp:
            result = pnr.place_and_route(export.verilog_text(component, top), top,
                                         Path(tmp) / "out", device_name=args.device,
                                         freq_mhz=args.freq, seed=args.seed, target=target,
                                         config=args.config)
        rows.append(row(result))
        summaries.append(result.to_dict())
        print(f"{target}: {time.monotonic() - start:.0f} s", file=sys.stderr)
    print("| target | Fmax (MHz) | TRELLIS_COMB | FF | MULT18X18D | DP16KD | RAMW | "
          "LUT4 / CCU2C | levels | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

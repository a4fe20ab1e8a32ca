"""One synthesis, several placer seeds: the spread of the routed Fmax.

nextpnr's placement depends on its seed, and on a design whose worst paths are routes between
units the routed Fmax of one RTL moves by 5-15 % from seed to seed (docs/results/resources.md,
"Routed on ECP5"), so one run cannot tell a small gain from placement noise. ``sweep``
synthesizes once and routes the same netlist with every seed, each in ``seed-N/`` of the
output folder, up to ``jobs`` at a time (nextpnr-ecp5 is single-threaded); ``pnr.json`` holds
every run and, per clock, the lowest, median and highest Fmax. The folder is built in a
temporary sibling and renamed into place, as a single run's is.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..base.atomic_file import replacing_folder, write_atomic
from ..base.errors import UsageError
from .pnr import SUMMARY_FILE, PnrResult, device, replaceable_output, route, synthesize


@dataclass
class SeedSweep:
    """The runs of one netlist, in seed order."""
    runs: list[PnrResult]

    def spread(self) -> dict[str, dict[str, float]]:
        """Per clock: the lowest, median and highest routed Fmax over the seeds."""
        spread = {}
        for clk in self.runs[0].report.fmax_mhz:
            mhz = [r.report.fmax_mhz[clk] for r in self.runs]
            spread[clk] = {"min": min(mhz), "median": round(statistics.median(mhz), 2),
                           "max": max(mhz)}
        return spread

    def best(self) -> PnrResult:
        """The run to build from: the highest Fmax of its slowest clock (``seed-N/`` holds its
        routed netlist); a seed sweep is how a design that closes on most seeds is shipped."""
        return max(self.runs, key=lambda r: (min(r.report.fmax_mhz.values()), -r.seed))

    def to_dict(self) -> dict:
        first = self.runs[0]
        return {"target": first.target, "config": first.config, "device": first.device,
                "part": first.part, "freq_mhz": first.freq_mhz,
                "seeds": [r.seed for r in self.runs], "fmax_spread_mhz": self.spread(),
                "best_seed": self.best().seed,
                "runs": [r.to_dict() for r in self.runs], "out_of_context": True}

    def table(self) -> str:
        lines = [f"{'seed':>5s} " + " ".join(f"{clk:>10s}" for clk in self.spread())
                 + "  critical path"]
        for r in self.runs:
            path = r.report.paths[0].summary() if r.report.paths else None
            where = (f"{path['delay_ns']} ns, {path['sources'][0]}"
                     if path and path["sources"] else "")
            lines.append(f"{r.seed:5d} " + " ".join(f"{mhz:10.2f}"
                                                    for mhz in r.report.fmax_mhz.values())
                         + f"  {where}")
        for clk, s in self.spread().items():
            lines.append(f"{clk}: min {s['min']:.2f}, median {s['median']:.2f}, "
                         f"max {s['max']:.2f} MHz over {len(self.runs)} seeds")
        best = self.best()
        lines.append(f"best: seed {best.seed} (slowest clock "
                     f"{min(best.report.fmax_mhz.values()):.2f} MHz), routed in seed-{best.seed}/")
        return "\n".join(lines)


def parse_seeds(text: str) -> list[int]:
    """``"3"`` or ``"1,2,5"`` -> the seeds, each once, in the given order."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--seed must be an integer or a comma-separated list, not '{text}'")
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seed names a seed twice: '{text}'")
    return seeds


def sweep(verilog_text: str, top: str, out_dir: Path, seeds: list[int], *,
          device_name: str = "ecp5-85", freq_mhz: float = 100.0, target: str = "",
          config: str = "", jobs: int | None = None) -> SeedSweep:
    """Synthesize once, route with each seed (``jobs`` nextpnr processes at a time, default:
    the CPU count); ``out_dir`` is replaced whole when every run succeeded."""
    dev = device(device_name, freq_mhz)
    jobs = max(1, min(len(seeds), jobs or os.cpu_count() or 1))
    with replacing_folder(Path(out_dir), replaceable_output) as work:
        cells, seconds = synthesize(work, top, verilog_text)

        def one(seed: int) -> PnrResult:
            folder = work / f"seed-{seed}"
            folder.mkdir()
            report, secs = route(folder, dev, top, freq_mhz, seed, netlist="../synth.json")
            print(f"  seed {seed}: " + ", ".join(f"{c} {f:.2f} MHz"
                                                for c, f in report.fmax_mhz.items())
                  + f" ({secs:.0f} s)", file=sys.stderr)
            return PnrResult(target=target or top, config=config, device=dev.name,
                             part=dev.part, seed=seed, freq_mhz=freq_mhz, synth_cells=cells,
                             report=report, seconds={**seconds, "nextpnr": secs})

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            result = SeedSweep(list(pool.map(one, seeds)))
        write_atomic(work / SUMMARY_FILE, json.dumps(result.to_dict(), indent=1) + "\n")
    return result

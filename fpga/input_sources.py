"""Synthesis of a component whose inputs are too wide for an Amaranth top module.

Amaranth 0.5 numbers the bits of a netlist cell's outputs in 16 bits, and every input of the top
module, clock and reset included, is an output of one cell that keeps two of the numbers, so a
component whose In ports add up to more than 65 532 bits cannot be converted as a top: a
1024-row BitMoD column takes 69 632 bits of weight rows per beat. Inside the accelerator those
bits come from the weight buffer; for the component's own synthesis :func:`fit_top_ports`
drives its widest inputs from black boxes instead (``bitflight_input_source_<width>``: outputs
only, no cells). Yosys cannot see through a black box any more than through a port, so the
logic they feed is kept and mapped as it would be behind a top input, and the black boxes add
nothing to the counts (only the IBUFs, not a resource, drop).
"""
from __future__ import annotations

from amaranth.hdl import Instance, Module, Value, ValueCastable
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

MAX_INPUT_BITS = (1 << 16) - 2  # 2**16 bit numbers, less the two Amaranth's top cell keeps
CHUNK_BITS = 32_768            # one black box's output (an instance cell has the same limit)
SOURCE_MODULE = "bitflight_input_source"


def source_module(width: int) -> str:
    """The black box with one ``width``-bit output ``o`` (a module per width: no parameters,
    so the same stub reads as Verilog and as RTLIL)."""
    return f"{SOURCE_MODULE}_{width}"


def black_box_text(module: str, outputs: dict[str, int], lang: str) -> str:
    """A black box module with only outputs (port -> width), as ``lang`` "verilog" or
    "rtlil" text."""
    if lang == "verilog":
        decls = "".join(f"  output [{w - 1}:0] {port};\n" for port, w in outputs.items())
        return f"(* blackbox *)\nmodule {module}({', '.join(outputs)});\n{decls}endmodule\n"
    wires = "".join(f"  wire width {w} output {i + 1} \\{port}\n"
                    for i, (port, w) in enumerate(outputs.items()))
    return f"attribute \\blackbox 1\nmodule \\{module}\n{wires}end\n"


def _ports(component: wiring.Component) -> list[tuple[str, wiring.Member, Value]]:
    """(Verilog port name, member, value) of every port member, named as Amaranth names them."""
    out = []
    for path, member, value in component.signature.flatten(component):
        value = value.as_value() if isinstance(value, ValueCastable) else Value.cast(value)
        out.append(("__".join(map(str, path)), member, value))
    return out


def input_bits(component: wiring.Component) -> int:
    """The bits of all of ``component``'s inputs (clock and reset excluded)."""
    return sum(len(value) for _, member, value in _ports(component) if member.flow == In)


def sourced_ports(component: wiring.Component, limit: int = MAX_INPUT_BITS) -> list[str]:
    """The inputs to drive from black boxes, widest first, until the others fit in ``limit``
    bits (with two left for clock and reset)."""
    inputs = sorted(((len(v), name) for name, m, v in _ports(component) if m.flow == In),
                    reverse=True)
    total, chosen = sum(width for width, _ in inputs) + 2, []
    for width, name in inputs:
        if total <= limit:
            break
        chosen.append(name)
        total -= width
    return chosen


class SourcedInputs(wiring.Component):
    """``inner`` with the In ports named in ``sourced`` driven by ``bitflight_input_source``
    black boxes of at most :data:`CHUNK_BITS` bits each; every other port of ``inner`` is a port
    of this component under the same Verilog name. Timing is ``inner``'s (no registers added)."""

    def __init__(self, inner: wiring.Component, sourced: list[str]):
        self.inner, self.sourced = inner, set(sourced)
        self._inner_ports = _ports(inner)
        super().__init__({name: (In if m.flow == In else Out)(len(v))
                          for name, m, v in self._inner_ports if name not in self.sourced})
        self.verilog_blocks = tuple(getattr(inner, "verilog_blocks", ()))
        self.black_boxes = {}           # module -> {port: width}, written by fpga.export
        if hasattr(inner, "dsp_slices"):
            self.dsp_slices = inner.dsp_slices

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self.inner
        for name, member, value in self._inner_ports:
            if name in self.sourced:
                for i, lo in enumerate(range(0, len(value), CHUNK_BITS)):
                    part = value[lo:lo + CHUNK_BITS]
                    module = source_module(len(part))
                    self.black_boxes[module] = {"o": len(part)}
                    m.submodules[f"src_{name}_{i}"] = Instance(module, o_o=part)
            elif member.flow == In:
                m.d.comb += value.eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(value)
        return m


def fit_top_ports(component: wiring.Component) -> wiring.Component:
    """``component`` itself when its inputs fit an Amaranth top, else a :class:`SourcedInputs`
    of it."""
    sourced = sourced_ports(component)
    return SourcedInputs(component, sourced) if sourced else component

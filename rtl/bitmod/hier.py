"""Hierarchical Verilog export: a repeated component becomes one Verilog module, instantiated.

Amaranth 0.5 writes one Verilog module per *instance* of a submodule (``top.pe_3_7``, with all of
its own submodules), so a 32 x 32 array of PEs is 1024 copies of the PE netlist. For export, a
parent can instead place an ``amaranth.hdl.Instance`` of a module that is converted once
(:class:`Block`, emitted by :func:`bitflight.fpga.export.verilog_text`), wired straight to the
parent's own values, so the parent holds no per-instance signals or debug wires either.

:func:`place` puts one copy of a component into a parent either way (an Amaranth submodule for
simulation, or an Instance for export) from the same port map, so both netlists connect the same
values. Port names follow ``amaranth.back.verilog.convert``: each port member of the signature
is named by its path joined with ``__`` (``o__payload``), In members are inputs, Out members
outputs; a component with a ``sync`` domain also gets ``clk`` and ``rst`` (:data:`CLOCK_PORTS`),
so a :class:`Block` says whether it is clocked.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Value, ValueCastable
from amaranth.lib import wiring

CLOCK_PORTS = ("clk", "rst")


@dataclass(frozen=True)
class Block:
    """A component exported once as Verilog module ``module`` (``make`` builds the definition);
    ``clocked``: it has a ``sync`` domain, so the module has ``clk`` and ``rst`` ports."""
    module: str
    make: Callable[[], wiring.Component]
    clocked: bool = True

    @cached_property
    def signature(self) -> wiring.Signature:
        """The definition's signature (what every instance connects), built once."""
        definition = self.make()
        definition._MustUse__silence = True      # built for its signature, never elaborated
        return definition.signature


def port_directions(signature: wiring.Signature) -> dict[str, str]:
    """Verilog port name -> "i" or "o" for every port member (clock ports excluded)."""
    return {"__".join(map(str, path)): "i" if member.flow == wiring.In else "o"
            for path, member in signature.members.flatten() if member.is_port}


def _checked(name: str, signature: wiring.Signature, ports: dict) -> dict[str, str]:
    directions = port_directions(signature)
    if set(ports) != set(directions):
        missing, extra = set(directions) - set(ports), set(ports) - set(directions)
        raise ValueError(f"{name}: port map misses {sorted(missing)}, has unknown {sorted(extra)}")
    return directions


def place(m: Module, name: str, ports: dict, *, component: wiring.Component | None = None,
          block: Block | None = None) -> None:
    """Add ``name`` to ``m`` with every port connected as ``ports`` says (port name -> the
    parent's value: read for an input, driven for an output).

    Either ``component`` (an Amaranth submodule, connected by comb assignments) or ``block``
    (an Instance of its Verilog module, clocked by sync unless the block is not clocked).
    """
    if component is not None:
        directions = _checked(name, component.signature, ports)
        m.submodules[name] = component
        for path, _, value in component.signature.flatten(component):
            port = "__".join(map(str, path))
            value = value.as_value() if isinstance(value, ValueCastable) else value
            m.d.comb += value.eq(ports[port]) if directions[port] == "i" else ports[port].eq(value)
        return
    directions = _checked(name, block.signature, ports)
    args = {f"{directions[port]}_{port}": Value.cast(value) for port, value in ports.items()}
    if block.clocked:
        args.update(i_clk=ClockSignal(), i_rst=ResetSignal())
    m.submodules[name] = Instance(block.module, **args)

"""The BITMOD engine as a component of its own, for export and synthesis: its buffer clients
(``rd``, ``wr``) belong to its submodules, so by itself a Verilog export would have no ports for
them and synthesis would remove everything they drive. Registry targets ``bitmod-engine-mm`` and
``bitmod-engine-mv`` (rtl/top/targets.py)."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ....base.errors import ConfigError
from ....compiler import isa
from ..buffers import is_wide, read_port, write_port
from ..params import TopParams
from ..unit import unit_signature
from .engine import BitmodEngine


class StandaloneEngine(wiring.Component):
    """Ports: ``unit`` (the queue's unit port, as in the top), ``rd[i]`` / ``wide[i]`` / ``wr[i]``
    the engine's line readers, WGT row readers and writers (:func:`..buffers.read_port` /
    ``write_port``, the side a client drives). Timing: the engine's (:mod:`.timing`), the ports
    passed straight through."""

    def __init__(self, params: TopParams, queue: isa.Queue):
        prefill, decode = params.bitmod
        self.engine = BitmodEngine(params, prefill if queue == isa.Queue.MM else decode, queue)
        self._wide = [is_wide(r) for r in self.engine.rd]
        super().__init__({"unit": In(unit_signature(isa.BY_QUEUE[queue], params)),
                          "rd": Out(read_port(params)).array(self._wide.count(False)),
                          "wide": Out(read_port(params, wide=True)).array(sum(self._wide)),
                          "wr": Out(write_port(params)).array(len(self.engine.wr))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = self.engine
        wiring.connect(m, wiring.flipped(self.unit), self.engine.unit)
        rd = iter(self.rd)
        wide = iter(self.wide)
        outers = [next(wide) if w else next(rd) for w in self._wide]
        for outer, inner in [*zip(outers, self.engine.rd), *zip(self.wr, self.engine.wr)]:
            wiring.connect(m, wiring.flipped(outer), inner)
        return m


def standalone(cfg, queue: isa.Queue) -> StandaloneEngine:
    if cfg.bitmod is None:
        raise ConfigError(f"config '{cfg.name}': no 'bitmod' section, so no BitMoD engine")
    return StandaloneEngine(TopParams.from_config(cfg), queue)

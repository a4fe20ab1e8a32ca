"""One engine serving two queues: the MM and the MV queue share the CSD MPU and the attention
engine, as FlightLLM runs MM and MV as two modes of one MPU (docs/rtl/top.md, "Shared engines").

The queues stay separate (each its own FIFO, tokens and ``BUSY`` counter); the engine runs one
instruction at a time. :class:`SharedEngine` builds the engine once and one
:class:`SharedPort` per queue, each an engine for that queue's :class:`.engines.EngineSet`. The
first port holds the engine and the :class:`Arbiter`; the other only forwards its ``unit`` port
to the arbiter.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .params import TopParams
from .unit import unit_signature


class Arbiter(wiring.Component):
    """Ports: ``ports[k]`` In(unit signature) per queue, in priority order; ``engine``
    Out(unit signature) to the shared engine. A ``start`` on an idle engine passes through in
    the same cycle (a lone queue sees the engine's own timing); a ``start`` while the engine
    runs, or that loses to a lower-numbered port in the same cycle, is held and passed on the
    cycle after the engine's ``done``. ``done``/``fault``/``code``/``args`` go to the port whose
    instruction runs. Each queue holds its instruction until its ``done``, so the held request
    needs no copy of it."""

    def __init__(self, itype: isa.InstrType, params: TopParams, count: int):
        sig = unit_signature(itype, params)
        super().__init__({"ports": In(sig).array(count), "engine": Out(sig)})

    @property
    def latency(self) -> int:
        """Cycles between a queue's ``start`` on an idle engine and the engine's: none."""
        return 0

    def elaborate(self, platform):
        m = Module()
        ports, eng = list(self.ports), self.engine
        busy = Signal()
        owner = Signal(range(len(ports)))
        held = Signal(len(ports))
        want = [p.start | held[k] for k, p in enumerate(ports)]
        grant = Signal.like(owner)
        for k in reversed(range(len(ports))):       # the lowest-numbered request wins
            with m.If(want[k]):
                m.d.comb += grant.eq(k)
        go = ~busy & Cat(*want).any()
        sel = Mux(busy, owner, grant)
        m.d.comb += eng.start.eq(go)
        for k, p in enumerate(ports):
            with m.If(sel == k):
                m.d.comb += [eng.instr.eq(p.instr), eng.index.eq(p.index)]
                m.d.comb += [p.done.eq(eng.done), p.fault.eq(eng.fault), p.code.eq(eng.code),
                             p.args.eq(eng.args)]
            m.d.sync += held[k].eq(want[k] & ~(go & (grant == k)))
        with m.If(go):
            m.d.sync += [busy.eq(1), owner.eq(grant)]
        with m.Elif(eng.done):
            m.d.sync += busy.eq(0)
        return m


class SharedPort(wiring.Component):
    """The shared engine as seen by one queue. Ports: ``unit`` (the queue's unit signature);
    the first port also carries the engine's ``rd``/``wr`` buffer clients and its launch inputs
    (``pos0``/``ntok`` when the engine has them), so the top connects each once. ``accepts``:
    the engine's (MM and MV have the same fields)."""

    def __init__(self, shared: "SharedEngine", k: int, queue: isa.Queue):
        self.shared, self.k = shared, k
        super().__init__({"unit": In(unit_signature(isa.BY_QUEUE[queue], shared.params))})
        engine = shared.engine
        self.rd, self.wr = (engine.rd, engine.wr) if k == 0 else ([], [])
        for name in ("pos0", "ntok"):
            if k == 0 and hasattr(engine, name):
                setattr(self, name, getattr(engine, name))

    def accepts(self, view):
        return self.shared.engine.accepts(view)

    def elaborate(self, platform):
        m = Module()
        arb = self.shared.arbiter
        if self.k == 0:
            m.submodules.arbiter = arb
            m.submodules.engine = self.shared.engine
            wiring.connect(m, arb.engine, self.shared.engine.unit)
        wiring.connect(m, wiring.flipped(self.unit), arb.ports[self.k])
        return m


class SharedEngine:
    """``make(params, queue)`` built once, for ``queues[0]``, and served to every queue of
    ``queues`` (``ports[queue]``) through an :class:`Arbiter`, ``queues[0]`` first."""

    def __init__(self, params: TopParams, make, queues=(isa.Queue.MM, isa.Queue.MV)):
        itypes = [isa.BY_QUEUE[q] for q in queues]
        if any(t.fields != itypes[0].fields for t in itypes):
            raise ValueError("a shared engine serves queues whose instructions have the same "
                             f"fields; {', '.join(t.name for t in itypes)} differ")
        self.params = params
        self.engine = make(params, queues[0])
        self.arbiter = Arbiter(itypes[0], params, len(queues))
        self.ports = {q: SharedPort(self, k, q) for k, q in enumerate(queues)}


def shared_factories(make, queues=(isa.Queue.MM, isa.Queue.MV)) -> dict:
    """Per queue, a factory ``params -> [port]`` of one engine shared by ``queues``: the first
    call for a queue builds a new :class:`SharedEngine` whenever that queue's port of the current
    one was handed out already (each top elaboration asks every queue once)."""
    state = {"engine": None, "taken": set()}

    def port(queue):
        def build(params):
            if state["engine"] is None or queue in state["taken"] \
                    or state["engine"].params is not params:
                state["engine"], state["taken"] = SharedEngine(params, make, queues), set()
            state["taken"].add(queue)
            return [state["engine"].ports[queue]]
        return build
    return {q: port(q) for q in queues}

"""The Verilator bench top: every fp unit fed from the counter-based operand streams of
fp_stimulus, its results folded into a running signature ``h = rotl(h, 1) ^ y`` with a count.

Ports: In ``run``, In ``seed`` (32); Out ``n`` (32, vectors issued), and per checked output
``sig_<name>`` / ``cnt_<name>`` (32 each). While ``run`` is high, vector ``n`` enters every
pipelined unit in cycle n; its result is folded ``latency`` cycles later (a valid shift register).
The iterative units restart on every ``done``: ``FAST_COPIES`` copies of ``Fp32Div(FAST_BITS)``
(latency L) started in consecutive cycles take the vectors with ``n mod L < FAST_COPIES``, in
order (all of them when ``FAST_COPIES == L``); one default ``Fp32Div()`` takes n = 0, L', 2L', ...
(L' its latency). Same for the square root. (Each copy adds ~50 kB of Verilog: the Verilator
build time, not the simulation, bounds the copies.)
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bitflight.rtl.fp import (F16ToF32, F32Rint, F32ToF16, Fp32Add, Fp32Div, Fp32Max, Fp32Mul,
                              Fp32Sqrt, I32ToF32)

from fp_stimulus import Stream, comb_wire, hw_stream

FAST_BITS = 4                                   # bits_per_cycle of the bulk iterative copies
FAST_COPIES = 1                                 # copies started in consecutive cycles (<= latency)

ADD_A = Stream(0, center=127, spread=5)
ADD_B = Stream(1, center=127, spread=5, partner=ADD_A)
MUL_A, MUL_B = Stream(2, spread=7), Stream(3, spread=7)
F16_A = Stream(4, spread=6)                      # f32 -> f16: fp16 range, overflow, subnormals
INT_A, INT_C = Stream(5), Stream(6)              # int32: a random word, shifted by the second
RINT_A = Stream(7, center=140, spread=5)
DIV_A, DIV_B = Stream(8, spread=7), Stream(9, spread=7)
SQRT_A = Stream(10, spread=7)
STREAMS = (ADD_A, ADD_B, MUL_A, MUL_B, F16_A, INT_A, INT_C, RINT_A, DIV_A, DIV_B, SQRT_A)

# stages of the pipelined units under test (f16 widening takes n[0:16]: exhaustive)
PIPELINED = {"add": 3, "mul": 2, "max": 0, "f16": 0, "h": 1, "i2f": 2, "rint": 1}
ITERATIVE = ("div", "divfast", "sqrt", "sqrtfast")
SIGNATURES = (*PIPELINED, "rintnan", *ITERATIVE)


class FpBench(wiring.Component):
    def __init__(self):
        ports = {"run": In(1), "seed": In(32), "n": Out(32)}
        for name in SIGNATURES:
            ports[f"sig_{name}"] = Out(32)
            ports[f"cnt_{name}"] = Out(32)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()

        wire = comb_wire(m)

        n = self.n
        with m.If(self.run):
            m.d.sync += n.eq(n + 1)
        op = {}
        for st in STREAMS:
            op[st] = hw_stream(st, self.seed, n, wire, op.get(st.partner))

        units = {
            "add": (Fp32Add(PIPELINED["add"]), {"a": op[ADD_A], "b": op[ADD_B]}),
            "mul": (Fp32Mul(PIPELINED["mul"]), {"a": op[MUL_A], "b": op[MUL_B]}),
            "max": (Fp32Max(), {"a": op[ADD_A], "b": op[ADD_B]}),
            "f16": (F16ToF32(), {"a": n[:16]}),
            "h": (F32ToF16(PIPELINED["h"]), {"a": op[F16_A]}),
            "i2f": (I32ToF32(PIPELINED["i2f"]), {"a": op[INT_A].as_signed() >> op[INT_C][:5]}),
            "rint": (F32Rint(PIPELINED["rint"]), {"a": op[RINT_A]}),
        }
        for name, (unit, ins) in units.items():
            m.submodules[name] = unit
            for port, value in ins.items():
                m.d.comb += getattr(unit, port).eq(value)
            valid = self.run
            for i in range(unit.latency):
                reg = Signal(name=f"{name}_valid{i}")
                m.d.sync += reg.eq(valid)
                valid = reg
            self._fold(m, name, valid, unit.y)
            if name == "rint":
                self._fold(m, "rintnan", valid, unit.nan)

        for name, cls, ins in (("div", Fp32Div, {"a": op[DIV_A], "b": op[DIV_B]}),
                               ("sqrt", Fp32Sqrt, {"a": op[SQRT_A]})):
            slow = cls()
            m.submodules[name] = slow
            self._drive(m, slow, ins, self.run)
            self._fold(m, name, slow.done, slow.y)
            copies = [cls(FAST_BITS) for _ in range(FAST_COPIES)]
            for j, unit in enumerate(copies):
                m.submodules[f"{name}fast{j}"] = unit
                self._drive(m, unit, ins, self.run & (n >= j))
            done = Cat(u.done for u in copies).any()
            y = 0
            for u in copies:
                y = Mux(u.done, u.y, y)
            self._fold(m, f"{name}fast", done, y)
        return m

    @staticmethod
    def _drive(m, unit, ins, start):
        m.d.comb += unit.start.eq(start)
        for port, value in ins.items():
            m.d.comb += getattr(unit, port).eq(value)

    def _fold(self, m, name, valid, y):
        sig, cnt = getattr(self, f"sig_{name}"), getattr(self, f"cnt_{name}")
        y = Value.cast(y)[:32]
        with m.If(valid):
            m.d.sync += [sig.eq(Cat(sig[31], sig[:31]) ^ y), cnt.eq(cnt + 1)]

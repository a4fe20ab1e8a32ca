"""The attention dot engine: MM/MV with ``skip_pad`` = 1, fp16 and INT8 K/V caches.

One output element at a time, with golden's arithmetic per element (docs/numerics.md "Matrix
products"; ``golden.ops.attention``), as ``sim/isa/execute.py`` calls it on a tile:

* fp16 scores (``b_trans`` 0): ``h(tree_t(q_t ⊗ k_t) ⊗ c)``, ``c = 1 ⊘ √f(qk_dim)``; score
  columns of KV positions ``>= pos0 + ntok`` are written +0;
* fp16 values (``b_trans`` 1): ``h(tree_t(p_t ⊗ v_t))`` over the valid tokens only;
* INT8 scores: ``h(((f(acc) ⊗ s_q) ⊗ s_k) ⊗ c)``, ``acc`` the exact INT32 dot product;
* INT8 values: per row, ``u_t = p_t ⊗ s_v[t]``, REQUANT (``s = max|u| ⊘ 127`` or 1,
  ``p8_t = clamp(rint(u_t ⊘ s))``, kept in a code memory of ``META bytes / 4`` entries), then
  ``h(f(Σ p8_t·v8_t) ⊗ s)`` per output column.

The tree is :class:`.reducer.StreamingReducer`; integer sums are exact in any order. Every
product and conversion is an ``rtl.fp`` unit (one of each, shared over the steps).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ...fp import F16ToF32, F32Rint, F32ToF16, Fp32Div, Fp32Max, Fp32Mul, Fp32Sqrt, I32ToF32
from ..buffers import write_port
from ..params import TopParams
from ..unit import fields, pulse_fault, unit_signature
from .checks import fault_list
from .operands import LineCache
from .reducer import StreamingReducer

ONE, QMAX = 0x3F800000, 0x42FE0000          # binary32 1.0 and 127.0
LANES = isa.LINE_BYTES


class AttentionEngine(wiring.Component):
    """MM or MV instructions with ``skip_pad`` = 1 and ``b_dt`` FP16 or INT8.

    Ports: ``unit`` (the queue's :func:`unit_signature`); ``pos0``/``ntok`` In(32) (launch
    arguments: KV positions at or beyond ``pos0 + ntok`` are padding); ``rd``: three buffer read
    clients (A in ACT, B in WGT, scales in META/BIAS), each a :class:`LineCache`; ``wr``: one
    write client on OUT (one fp16 element per write, byte enables). Checks: sim.isa's, in its
    order (:mod:`.checks`), before anything is read or written. Timing: :mod:`.timing`."""

    def __init__(self, params: TopParams, queue: isa.Queue = isa.Queue.MM):
        self.params, self.kind = params, isa.BY_QUEUE[queue].name
        self.code_depth = params.buffer_bytes[isa.Buf.META] // 4
        super().__init__({"unit": In(unit_signature(isa.TYPES[self.kind], params)),
                          "wr_port": Out(write_port(params)), "pos0": In(32), "ntok": In(32)})
        self._caches = [LineCache(params) for _ in range(3)]
        self.rd = [c.rd for c in self._caches]
        self.wr = [self.wr_port]

    @staticmethod
    def accepts(view):
        return view.skip_pad & ((view.b_dt == isa.DType.FP16) | (view.b_dt == isa.DType.INT8))

    def elaborate(self, platform):
        m = Module()
        p, v, w = self.params, fields(self.unit, self.kind), self.wr_port
        ca, cb, cs = self._caches
        for name, c in zip(("cache_a", "cache_b", "cache_s"), self._caches):
            m.submodules[name] = c
        red = m.submodules.reducer = StreamingReducer()
        mul = m.submodules.mul = Fp32Mul()
        cvt_a = m.submodules.cvt_a = F16ToF32()
        cvt_b = m.submodules.cvt_b = F16ToF32()
        i2f = m.submodules.i2f = I32ToF32()             # f(acc)
        i2f_d = m.submodules.i2f_d = I32ToF32()         # f(qk_dim)
        to16 = m.submodules.to16 = F32ToF16()
        mx = m.submodules.max = Fp32Max()
        rint = m.submodules.rint = F32Rint()
        div = m.submodules.div = Fp32Div()
        sqrt = m.submodules.sqrt = Fp32Sqrt()

        int8, trans = v.b_dt == isa.DType.INT8, v.b_trans
        valid = Signal(33)
        red_len, cols_valid = Signal(17), Signal(17)        # terms per sum; computed columns
        m.d.comb += [valid.eq(self.pos0 + self.ntok),
                     cols_valid.eq(Mux(valid < v.n, valid, v.n)),
                     red_len.eq(Mux(trans & (valid < v.k), valid, v.k))]
        i, j, t = Signal(17), Signal(17), Signal(17)
        a_byte, b_byte, s_byte, o_byte = (Signal(40, name=n) for n in ("a_byte", "b_byte",
                                                                         "s_byte", "o_byte"))
        scale_sel = Signal(2)                               # 0: s_v[t], 1: s_q[i], 2: s_k[j]
        m.d.comb += [
            a_byte.eq(v.a_addr * LANES + (i * v.k + t) * Mux(int8 & ~trans, 1, 2)),
            b_byte.eq(v.b_addr * LANES + Mux(trans, t * v.n + j, j * v.k + t) * Mux(int8, 1, 2)),
            s_byte.eq(Mux(scale_sel == 1, v.s_addr * LANES + i * 4,
                          v.t_addr * LANES + Mux(scale_sel == 0, t, j) * 4)),
            o_byte.eq(v.o_addr * LANES + (i * v.n + j) * 2),
            ca.buf.eq(isa.Buf.ACT), ca.addr.eq(a_byte[4:]),
            cb.buf.eq(isa.Buf.WGT), cb.addr.eq(b_byte[4:]),
            cs.buf.eq(Mux(scale_sel == 1, isa.Buf.BIAS, isa.Buf.META)), cs.addr.eq(s_byte[4:])]
        a16, b16 = ca.line.word_select(a_byte[1:4], 16), cb.line.word_select(b_byte[1:4], 16)
        a8 = ca.line.word_select(a_byte[:4], 8).as_signed()
        b8 = cb.line.word_select(b_byte[:4], 8).as_signed()
        s32 = cs.line.word_select(s_byte[2:4], 32)

        c, s, amax, total, x = (Signal(32, name=n) for n in ("c", "s", "amax", "total", "x"))
        sq, sk, div_a, div_b = (Signal(32, name=n) for n in ("sq", "sk", "div_a", "div_b"))
        acc = Signal(signed(32))
        # the row's REQUANT codes p8_t (INT8 values); t < k <= META bytes / 4 (sim.isa's range
        # check of the K/V scales), so every row fits
        codes = m.submodules.codes = memory.Memory(shape=8, depth=self.code_depth, init=[])
        codes_w, codes_r = codes.write_port(), codes.read_port(domain="comb")
        p8 = codes_r.data.as_signed()
        m.d.comb += codes_r.addr.eq(t)
        out16 = Signal(16)
        m.d.comb += [cvt_a.a.eq(a16), cvt_b.a.eq(b16), i2f.a.eq(acc), i2f_d.a.eq(v.qk_dim),
                     sqrt.a.eq(i2f_d.y), div.a.eq(div_a), div.b.eq(div_b), rint.a.eq(div.y),
                     mx.a.eq(amax), mx.b.eq(mul.y & 0x7FFFFFFF), to16.a.eq(mul.y)]
        code = Signal(signed(32))                            # clamp(rint(u / s), -127, 127)
        m.d.comb += code.eq(Mux(rint.nan, 0, Mux(rint.y > 127, 127,
                                                 Mux(rint.y < -127, -127, rint.y))))
        i8s, i8v = int8 & ~trans, int8 & trans
        w_shift = o_byte[1:4] * 2
        m.d.comb += [w.buf.eq(isa.Buf.OUT), w.addr.eq(o_byte[4:]), w.data.eq(Cat(*[out16] * 8)),
                     w.be.eq((Const(3, LANES) << w_shift)[:LANES])]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.comb += [ca.forget.eq(1), cb.forget.eq(1), cs.forget.eq(1)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                checks = fault_list(m, v, p)
                for k, (cond, fault, a0, a1, a2) in enumerate(checks):
                    with (m.If if k == 0 else m.Elif)(cond):
                        pulse_fault(m, self.unit, fault, a0, a1, a2)
                        m.next = "DONE"
                with m.Else():
                    m.d.sync += i.eq(0)
                    m.next = "SCALE"
            with m.State("SCALE"):                          # c = 1 / sqrt(f(qk_dim))
                with m.If(trans):
                    m.next = "ROW"
                with m.Else():
                    m.d.comb += sqrt.start.eq(1)
                    m.next = "SQRT"
            with m.State("SQRT"):
                with m.If(sqrt.done):
                    m.d.sync += [div_a.eq(ONE), div_b.eq(sqrt.y)]
                    m.next = "C_GO"
            with m.State("C_GO"):
                m.d.comb += div.start.eq(1)
                m.next = "C_WAIT"
            with m.State("C_WAIT"):
                with m.If(div.done):
                    m.d.sync += c.eq(div.y)
                    m.next = "ROW"
            with m.State("ROW"):
                m.d.sync += [j.eq(0), t.eq(0), amax.eq(0)]
                with m.If(i == v.m):
                    m.next = "DONE"
                with m.Elif(i8v):
                    m.next = "PREP"
                with m.Else():
                    m.next = "ELEM"
            with m.State("PREP"):                           # amax = max_t |p_t * s_v[t]|
                with m.If(t == red_len):
                    m.d.sync += t.eq(0)
                    with m.If(amax == 0):
                        m.d.sync += s.eq(ONE)
                        m.next = "P8"
                    with m.Else():
                        m.d.sync += [div_a.eq(amax), div_b.eq(QMAX)]
                        m.next = "S_GO"
                with m.Else():
                    m.d.comb += [ca.want.eq(1), cs.want.eq(1), scale_sel.eq(0),
                                 mul.a.eq(cvt_a.y), mul.b.eq(s32)]
                    with m.If(ca.have & cs.have):
                        m.d.sync += [amax.eq(mx.y), t.eq(t + 1)]
            with m.State("S_GO"):
                m.d.comb += div.start.eq(1)
                m.next = "S_WAIT"
            with m.State("S_WAIT"):
                with m.If(div.done):
                    m.d.sync += s.eq(div.y)
                    m.next = "P8"
            with m.State("P8"):                             # p8_t = code of u_t, once per row
                with m.If(t == red_len):
                    m.d.sync += t.eq(0)
                    m.next = "ELEM"
                with m.Else():
                    m.d.comb += [ca.want.eq(1), cs.want.eq(1), scale_sel.eq(0),
                                 mul.a.eq(cvt_a.y), mul.b.eq(s32)]
                    with m.If(ca.have & cs.have):
                        m.d.sync += [div_a.eq(mul.y), div_b.eq(s)]
                        m.next = "P8_GO"
            with m.State("P8_GO"):
                m.d.comb += div.start.eq(1)
                m.next = "P8_WAIT"
            with m.State("P8_WAIT"):
                with m.If(div.done):
                    m.d.comb += [codes_w.addr.eq(t), codes_w.data.eq(code), codes_w.en.eq(1)]
                    m.d.sync += t.eq(t + 1)
                    m.next = "P8"
            with m.State("ELEM"):
                m.d.sync += [t.eq(0), acc.eq(0)]
                with m.If(j == v.n):
                    m.d.sync += i.eq(i + 1)
                    m.next = "ROW"
                with m.Elif(~trans & (j >= cols_valid)):     # a padding score column: +0
                    m.d.sync += out16.eq(0)
                    m.next = "WRITE"
                with m.Else():
                    m.next = "TERM"
            with m.State("TERM"):
                self._term(m, t, red_len, int8, i8s, ca, cb, red, mul, cvt_a, cvt_b, a8, b8, acc,
                           p8)
            with m.State("SUM"):
                with m.If(red.done):
                    m.d.sync += total.eq(red.result)
                    m.next = "POST"
            with m.State("GET_SQ"):
                m.d.comb += [cs.want.eq(1), scale_sel.eq(1)]
                with m.If(cs.have):
                    m.d.sync += sq.eq(s32)
                    m.next = "GET_SK"
            with m.State("GET_SK"):
                m.d.comb += [cs.want.eq(1), scale_sel.eq(2)]
                with m.If(cs.have):
                    m.d.sync += sk.eq(s32)
                    m.next = "POST"
            with m.State("POST"):
                with m.If(i8s):                             # (f(acc) * s_q) * s_k, then * c
                    m.d.comb += [mul.a.eq(i2f.y), mul.b.eq(sq)]
                    m.d.sync += x.eq(mul.y)
                    m.next = "POST_SK"
                with m.Elif(int8):                          # f(acc) * s
                    m.d.comb += [mul.a.eq(i2f.y), mul.b.eq(s)]
                    m.d.sync += out16.eq(to16.y)
                    m.next = "WRITE"
                with m.Elif(trans):                         # fp16 values: h(sum)
                    m.d.comb += [mul.a.eq(total), mul.b.eq(ONE)]
                    m.d.sync += out16.eq(to16.y)
                    m.next = "WRITE"
                with m.Else():                              # fp16 scores: sum * c
                    m.d.comb += [mul.a.eq(total), mul.b.eq(c)]
                    m.d.sync += out16.eq(to16.y)
                    m.next = "WRITE"
            with m.State("POST_SK"):
                m.d.comb += [mul.a.eq(x), mul.b.eq(sk)]
                m.d.sync += x.eq(mul.y)
                m.next = "POST_C"
            with m.State("POST_C"):
                m.d.comb += [mul.a.eq(x), mul.b.eq(c)]
                m.d.sync += out16.eq(to16.y)
                m.next = "WRITE"
            with m.State("WRITE"):
                m.d.comb += w.valid.eq(1)
                with m.If(w.ready):
                    m.d.sync += j.eq(j + 1)
                    m.next = "ELEM"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m

    @staticmethod
    def _term(m, t, red_len, int8, i8s, ca, cb, red, mul, cvt_a, cvt_b, a8, b8, acc, p8):
        """One term of the current output element (state TERM)."""
        with m.If(t == red_len):
            with m.If(i8s):
                m.next = "GET_SQ"
            with m.Elif(int8):
                m.next = "POST"
            with m.Elif(red.term.ready):                    # the last term has settled
                m.d.comb += red.finish.eq(1)
                m.next = "SUM"
        with m.Elif(~int8):                                 # fp16: p or q times v or k, exact
            m.d.comb += [ca.want.eq(1), cb.want.eq(1), mul.a.eq(cvt_a.y), mul.b.eq(cvt_b.y),
                         red.term.payload.eq(mul.y), red.term.valid.eq(ca.have & cb.have)]
            with m.If(red.term.valid & red.term.ready):
                m.d.sync += t.eq(t + 1)
        with m.Elif(i8s):                                   # q8 * k8, exact
            m.d.comb += [ca.want.eq(1), cb.want.eq(1)]
            with m.If(ca.have & cb.have):
                m.d.sync += [acc.eq(acc + a8 * b8), t.eq(t + 1)]
        with m.Else():                                      # p8_t * v8, exact
            m.d.comb += cb.want.eq(1)
            with m.If(cb.have):
                m.d.sync += [acc.eq(acc + p8 * b8), t.eq(t + 1)]

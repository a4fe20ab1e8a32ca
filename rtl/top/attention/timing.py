"""Cycle count of the attention engine for one instruction, as its state machine spends them
(``engine.AttentionEngine``), for ``sim.perf`` calibration.

The count runs from the cycle the engine sees ``start`` to its ``done`` pulse, both included
(the top's ``BUSY[q]`` counter for an instruction alone in its queue), with every buffer read and
write granted at once (no other client on ACT/WGT/META/BIAS/OUT in those cycles). It follows the
engine step by step because the cost of a term depends on where its operands lie: each operand
stream has a one-line cache (:class:`.operands.LineCache`), a miss costs 2 cycles, and the
reducer's carry chain (``reducer.StreamingReducer``) takes 1 + (trailing ones of the term count)
cycles per term.

Per instruction: 3 (start, checks, scale step) + for scores ``sqrt + 1 + div`` (c = 1/sqrt(d))
+ per row 1 + per output element 2 (+ padding columns: nothing else) + the terms:

* fp16: per term ``max(operands, reducer)``, then ``finish`` (``ceil(log2 T) + 2``), 1 post;
* INT8 scores: per term 1 (+ misses), then 1 + 3 + 3 (the two row scales) + 3 post steps;
* INT8 values: per row a max pass (1 per token + misses, 1, and ``1 + div`` unless every
  ``u`` is zero) and a code pass (``2 + div`` per token + misses, 1), then per term 1 (+ misses),
  1 post;

and 2 at the end (last row check, ``done``).
"""
from __future__ import annotations

from ....compiler import isa

MISS = 2                         # extra cycles of a line not in an operand's cache


class _Cache:
    def __init__(self) -> None:
        self.tag = None

    def fetch(self, key, now: int) -> int:
        """The cycle from which the element wanted from ``now`` on is there."""
        if self.tag == key:
            return now
        self.tag = key
        return now + MISS


def _trailing_ones(x: int) -> int:
    n = 0
    while x & 1:
        x >>= 1
        n += 1
    return n


def cycles(f: dict, pos0: int, ntok: int, div_latency: int, sqrt_latency: int,
           zero_rows: int = 0) -> int:
    """Cycles of instruction fields ``f`` (an ``isa.Instr``'s values) that passes its checks;
    ``div_latency``/``sqrt_latency``: the ``latency`` of ``rtl.fp``'s Fp32Div/Fp32Sqrt;
    ``zero_rows``: INT8 value rows with valid tokens whose ``u`` are all zero (no division)."""
    L = isa.LINE_BYTES
    rows, n, k, trans = f["m"], f["n"], f["k"], bool(f["b_trans"])
    int8 = f["b_dt"] == isa.DType.INT8
    valid = pos0 + ntok
    red = min(k, valid) if trans else k
    cols = n if trans else min(n, valid)
    ea, eb = (1 if int8 and not trans else 2), (1 if int8 else 2)
    ca, cb, cs = _Cache(), _Cache(), _Cache()

    def a_key(i, t):
        return (f["a_addr"] * L + (i * k + t) * ea) // L

    def b_key(j, t):
        return (f["b_addr"] * L + ((t * n + j) if trans else (j * k + t)) * eb) // L

    def meta_key(x):
        return ("META", (f["t_addr"] * L + 4 * x) // L)

    now = 3                                           # IDLE, CHECK, SCALE
    if not trans:
        now += sqrt_latency + 1 + div_latency         # SQRT, C_GO, C_WAIT
    zero_left = zero_rows
    for i in range(rows):
        now += 1                                      # ROW
        if int8 and trans:                            # PREP: max |p_t * s_v[t]|
            for t in range(red):
                now = max(ca.fetch(a_key(i, t), now), cs.fetch(meta_key(t), now)) + 1
            now += 1
            if red and zero_left:
                zero_left -= 1                        # s = 1, no division
            elif red:
                now += 1 + div_latency                # S_GO, S_WAIT
            for t in range(red):                      # P8: the row's codes, one division each
                now = max(ca.fetch(a_key(i, t), now), cs.fetch(meta_key(t), now)) + 2 \
                    + div_latency
            now += 1
        for j in range(n):
            now += 1                                  # ELEM
            if j >= cols:
                now += 1                              # WRITE of a padding column
                continue
            now = _element(f, i, j, red, int8, trans, now, ca, cb, cs, a_key, b_key, meta_key)
            now += 1                                  # WRITE
        now += 1                                      # ELEM: row done
    return now + 2                                    # ROW: all rows done; DONE


def _element(f, i, j, red, int8, trans, now, ca, cb, cs, a_key, b_key, meta_key):
    """Cycle of WRITE for output (i, j) whose TERM state starts at ``now``."""
    L = isa.LINE_BYTES
    if not int8:
        ready, count = now, 0
        for t in range(red):
            have = max(ca.fetch(a_key(i, t), now), cb.fetch(b_key(j, t), now))
            accept = max(have, ready)
            ready = accept + 2 + _trailing_ones(count)
            count += 1
            now = accept + 1
        fin = max(now, ready)
        done = fin + 1 if count == 0 else fin + (count - 1).bit_length() + 2
        return done + 1 + 1                           # SUM ends at done; POST
    if not trans:
        for t in range(red):
            now = max(ca.fetch(a_key(i, t), now), cb.fetch(b_key(j, t), now)) + 1
        now += 1                                      # TERM: last term done
        now = cs.fetch(("BIAS", (f["s_addr"] * L + 4 * i) // L), now) + 1      # GET_SQ
        now = cs.fetch(meta_key(j), now) + 1                                  # GET_SK
        return now + 3                                # POST, POST_SK, POST_C
    for t in range(red):                              # p8_t (code memory) * v8
        now = cb.fetch(b_key(j, t), now) + 1
    return now + 1 + 1                                # last TERM, POST


def fp_latencies() -> tuple[int, int]:
    """The ``latency`` of the engine's ``Fp32Div`` and ``Fp32Sqrt`` (default arguments), the
    ``div_latency``/``sqrt_latency`` of :func:`cycles`."""
    from ...fp import Fp32Div, Fp32Sqrt
    units = Fp32Div(), Fp32Sqrt()
    for unit in units:
        unit._MustUse__silence = True            # measured, never elaborated
    return units[0].latency, units[1].latency

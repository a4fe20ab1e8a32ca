"""Lowering of one attention core (score MM, causal softmax, value MM) with GQA and a KV cache.

Per KV head ``g`` the K rows ``[S, head_dim]`` are loaded (strided out of the cache, which is
``[positions, kv_dim]``), multiplied with the query rows of the heads that share them, the scores
go through the causal SOFTMAX, then V rows are loaded and multiplied. ``skip_pad`` tells the engine
that KV positions at or beyond ``pos0 + ntok`` are bucket padding; the causal SOFTMAX masks them
too, so one program serves every length in its bucket.

fp16 cache (BitMoD engine): fp16 score and value products (``golden.ops.score_fp16`` /
``value_fp16``, which the ISA simulator calls on each tile). int8 cache (FlightLLM): the query rows
are requantized per head (REQUANT), K/V rows come with their float32 per-position scales (loaded
into META, ``t_addr``) and both MMs run INT8 x INT8 with INT32 accumulation, as
``golden.ops.score_int8`` / ``value_int8`` define (the value MM folds the V scales into the
probabilities). Every product's summation order is fixed per output element, so the prefill row
tile (``Step.attn_rows``, default :func:`_prefill_rows`) may be any size, dividing T or not.

decode: the query heads of one group are contiguous on chip (one token), so one MV pair covers the
group (m = heads per group); prefill: each query head is a [T, head_dim] column slice of the
query rows in HBM, streamed in row tiles.
"""
from __future__ import annotations

from .codegen import Home, Step
from .footprint import nbytes
from .ir import Op
from .isa import Buf, DType, Engine, MiscOp, LINE_BYTES


def _lines(n: int) -> int:
    return -(-n // LINE_BYTES)


class _KV:
    """One KV head's rows (and scales, for int8) loaded on chip."""

    def __init__(self, step: Step, cache: Home, g: int, d: int) -> None:
        self.step, self.dt = step, cache.dt
        eb = nbytes(cache.dt, 1)
        self.lines = _lines(step.S * d * eb)
        self.line = step.alloc(Buf.WGT, step.S * d * eb, "K/V rows of one head")
        step.emit("LD", buf=Buf.WGT, buf_addr=self.line, channel=cache.channel,
                  hbm_addr=cache.addr + g * d * eb, length=d * eb, count1=step.S,
                  stride1=cache.pitch)
        self.scales = 0
        if cache.dt == DType.INT8:
            kvh = cache.cols // d
            self.scales = step.alloc(Buf.META, 4 * step.S, "K/V scales of one head")
            step.emit("LD", buf=Buf.META, buf_addr=self.scales, channel=cache.scale_channel,
                      hbm_addr=cache.scale_addr + 4 * g, length=4, count1=step.S,
                      stride1=4 * kvh)

    def free(self) -> None:
        self.step.free(Buf.WGT, self.line)
        if self.dt == DType.INT8:
            self.step.free(Buf.META, self.scales)


def _query(step: Step, buf: Buf, line: int, rows: int, d: int, int8: bool):
    """(a_dt, a line, scales line, temps) of the query rows for the score MM."""
    if not int8:
        return DType.FP16, line, 0, []
    q8 = step.alloc(Buf.ACT, rows * d, "INT8 query rows")
    sq = step.alloc(Buf.BIAS, 4 * rows, "query scales")
    step.emit("MISC", op=MiscOp.REQUANT, dt_in=DType.FP16, dt_out=DType.INT8, a_buf=buf,
              a_addr=line, b_buf=Buf.BIAS, b_addr=sq, o_buf=Buf.ACT, o_addr=q8, rows=rows,
              cols=d)
    return DType.INT8, q8, sq, [(Buf.ACT, q8), (Buf.BIAS, sq)]


def _core(step: Step, q: tuple, m: int, k: _KV, v: _KV | None, vcache: Home, g: int,
          d: int, pos: int, period: int, o_line: int | None) -> int:
    """Score MM, SOFTMAX, value MM for ``m`` query rows; returns the output line in OUT."""
    S, int8 = step.S, k.dt == DType.INT8
    a_dt, a_line, s_line, temps = _query(step, q[0], q[1], m, d, int8)
    sl = step.alloc(Buf.OUT, m * S * 2, "attention scores")
    step.emit(step.mm, engine=Engine.DENSE, a_dt=a_dt, b_dt=k.dt, o_dt=DType.FP16, m=m, n=S,
              k=d, a_addr=a_line, s_addr=s_line, b_addr=k.line, b_lines=k.lines,
              t_addr=k.scales, o_addr=sl, qk_dim=d, skip_pad=1)
    for buf, line in temps:
        step.free(buf, line)
    pl = step.alloc(Buf.ACT, m * S * 2, "attention probabilities")
    step.emit("MISC", op=MiscOp.SOFTMAX, dt_in=DType.FP16, dt_out=DType.FP16, a_buf=Buf.OUT,
              a_addr=sl, o_buf=Buf.ACT, o_addr=pl, rows=m, cols=S, pos=pos, imm=period)
    step.free(Buf.OUT, sl)
    own_v = v is None
    if own_v:
        v = _KV(step, vcache, g, d)
    ol = step.alloc(Buf.OUT, m * d * 2, "attention output") if o_line is None else o_line
    step.emit(step.mm, engine=Engine.DENSE, a_dt=DType.FP16, b_dt=v.dt, o_dt=DType.FP16, m=m,
              n=d, k=S, a_addr=pl, b_addr=v.line, b_lines=v.lines, t_addr=v.scales, o_addr=ol,
              b_trans=1, skip_pad=1)
    step.free(Buf.ACT, pl)
    if own_v:
        v.free()
    return ol


def _prefill_rows(step: Step, d: int) -> int:
    """Query rows per tile: the largest power of two whose scores, probabilities, query rows and
    outputs fit half the activation and output buffers. Any value is exact (the golden products
    are defined per output element); this one only sets the instruction count."""
    tiling = step.model.tiling
    rows = 1
    while rows * 2 <= step.T and (rows * 2) * (step.S * 2 + d * 3) <= tiling.act_bytes // 2 \
            and (rows * 2) * (step.S + d) * 2 <= tiling.out_bytes // 2:
        rows *= 2
    return rows


def lower_attention(step: Step, score: Op, value: Op) -> None:
    a = score.attrs
    heads, kvh, d = a["heads"], a["kv_heads"], a["head_dim"]
    group = heads // kvh
    q = step.homes[score.inputs[0]]
    kc, vc = step.homes[score.inputs[1]], step.homes[value.inputs[1]]
    eb = nbytes(kc.dt, 1)
    step.model.tiling.check_kv(step.S, d, eb * (2 if step.mode == "prefill" else 1),
                               f"node '{value.node}'")
    if step.mode == "decode":
        out = step.chip_home(value.output, Buf.OUT, heads * d)
        for g in range(kvh):
            q_line, q_temp = step.load(q, 0, 1, Buf.ACT)
            offset = (g * group * d * 2) // LINE_BYTES
            k = _KV(step, kc, g, d)
            _core(step, (Buf.ACT, q_line + offset), group, k, None, vc, g, d, 0, 1,
                  out.line + offset)
            k.free()
            if q_temp:
                step.free(Buf.ACT, q_line)
        return
    out = step.hbm_home(value.output, heads * d)
    rows = step.attn_rows or _prefill_rows(step, d)
    for g in range(kvh):
        k, v = _KV(step, kc, g, d), _KV(step, vc, g, d)
        for h in range(g * group, (g + 1) * group):
            for r0, n in step.row_tiles(rows):
                q_line, _ = step.load(q, r0, n, Buf.ACT, c0=h * d, cols=d)
                ol = _core(step, (Buf.ACT, q_line), n, k, v, vc, g, d, step.row0 + r0, 0,
                           None)
                step.store(out, r0, n, Buf.OUT, ol, c0=h * d, cols=d)
                step.free(Buf.OUT, ol)
                step.free(Buf.ACT, q_line)
        k.free()
        v.free()

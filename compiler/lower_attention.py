"""Lowering of one attention core (score MM, causal softmax, value MM) with GQA and a KV cache.

Per KV head ``g`` the K rows ``[S, head_dim]`` are loaded (strided out of the cache, which is
``[positions, kv_dim]``), multiplied with the query rows of the heads that share them, the scores
go through the causal SOFTMAX, then V rows are loaded and multiplied. ``skip_pad`` tells the engine
that KV positions at or beyond ``pos0 + ntok`` are bucket padding; the causal SOFTMAX masks them
too, so one program serves every length in its bucket.

decode: the query heads of one group are contiguous on chip (one token), so one MV pair covers the
group (m = heads per group); prefill: each query head is a [T, head_dim] column slice of the
query rows in HBM, streamed in row tiles.
"""
from __future__ import annotations

from .codegen import Home, Step
from .footprint import nbytes
from .ir import CompileError, Op
from .isa import Buf, DType, Engine, MiscOp, LINE_BYTES


def _lines(n: int) -> int:
    return -(-n // LINE_BYTES)


def _load_kv(step: Step, cache: Home, g: int, d: int) -> int:
    eb = nbytes(cache.dt, 1)
    line = step.alloc(Buf.WGT, step.S * d * eb, "K/V rows of one head")
    step.emit("LD", buf=Buf.WGT, buf_addr=line, channel=cache.channel,
              hbm_addr=cache.addr + g * d * eb, length=d * eb, count1=step.S,
              stride1=cache.pitch)
    return line


def _score_softmax_value(step: Step, q_line: int, m: int, kl: int, vl: int | None,
                         vcache: Home, g: int, d: int, pos: int, period: int,
                         o_line: int | None = None) -> tuple[int, int]:
    """Emit score MM, SOFTMAX and value MM; returns (out line in OUT, V line used). Without
    ``o_line`` the output goes to a new OUT temporary (the caller frees it)."""
    S, kv_dt = step.S, step.homes_kv_dt
    eb = nbytes(kv_dt, 1)
    sl = step.alloc(Buf.OUT, m * S * 2, "attention scores")
    step.emit(step.mm, engine=Engine.DENSE, a_dt=DType.FP16, b_dt=kv_dt, o_dt=DType.FP16,
              m=m, n=S, k=d, a_addr=q_line, b_addr=kl, b_lines=_lines(S * d * eb), o_addr=sl,
              qk_dim=d, skip_pad=1)
    pl = step.alloc(Buf.ACT, m * S * 2, "attention probabilities")
    step.emit("MISC", op=MiscOp.SOFTMAX, dt_in=DType.FP16, dt_out=DType.FP16, a_buf=Buf.OUT,
              a_addr=sl, o_buf=Buf.ACT, o_addr=pl, rows=m, cols=S, pos=pos, imm=period)
    step.free(Buf.OUT, sl)
    if vl is None:
        vl = _load_kv(step, vcache, g, d)
    ol = step.alloc(Buf.OUT, m * d * 2, "attention output") if o_line is None else o_line
    step.emit(step.mm, engine=Engine.DENSE, a_dt=DType.FP16, b_dt=kv_dt, o_dt=DType.FP16,
              m=m, n=d, k=S, a_addr=pl, b_addr=vl, b_lines=_lines(S * d * eb), o_addr=ol,
              b_trans=1, skip_pad=1)
    step.free(Buf.ACT, pl)
    return ol, vl


def lower_attention(step: Step, score: Op, value: Op) -> None:
    a = score.attrs
    heads, kvh, d = a["heads"], a["kv_heads"], a["head_dim"]
    group = heads // kvh
    q = step.homes[score.inputs[0]]
    kc, vc = step.homes[score.inputs[1]], step.homes[value.inputs[1]]
    step.homes_kv_dt = kc.dt
    if kc.dt != DType.FP16:
        raise CompileError(f"node '{value.node}': attention over an int8 KV cache is not "
                           "lowered yet")
    eb = nbytes(kc.dt, 1)
    step.model.tiling.check_kv(step.S, d, eb * (2 if step.mode == "prefill" else 1),
                               f"node '{value.node}'")
    if step.mode == "decode":
        out = step.chip_home(value.output, Buf.OUT, heads * d)
        for g in range(kvh):
            q_line, q_temp = step.load(q, 0, 1, Buf.ACT)
            q_line += (g * group * d * 2) // LINE_BYTES
            kl = _load_kv(step, kc, g, d)
            _, vl = _score_softmax_value(step, q_line, group, kl, None, vc, g, d, 0, 1,
                                         out.line + (g * group * d * 2) // LINE_BYTES)
            for buf, line in ((Buf.WGT, kl), (Buf.WGT, vl)):
                step.free(buf, line)
            if q_temp:
                step.free(Buf.ACT, q_line - (g * group * d * 2) // LINE_BYTES)
        return
    out = step.hbm_home(value.output, heads * d)
    rows = 1
    while rows * 2 <= step.T and (rows * 2) * (step.S * 2 + d * 2) <= step.model.tiling \
            .act_bytes // 2 and (rows * 2) * (step.S + d) * 2 <= step.model.tiling.out_bytes // 2:
        rows *= 2
    for g in range(kvh):
        kl, vl = _load_kv(step, kc, g, d), _load_kv(step, vc, g, d)
        for h in range(g * group, (g + 1) * group):
            for r0, n in step.row_tiles(rows):
                q_line, _ = step.load(q, r0, n, Buf.ACT, c0=h * d, cols=d)
                ol, _ = _score_softmax_value(step, q_line, n, kl, vl, vc, g, d, r0, 0)
                step.store(out, r0, n, Buf.OUT, ol, c0=h * d, cols=d)
                step.free(Buf.OUT, ol)
                step.free(Buf.ACT, q_line)
        step.free(Buf.WGT, kl)
        step.free(Buf.WGT, vl)

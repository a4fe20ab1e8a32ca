"""Lowering of each IR op kind to instructions (templates, as the FlightLLM compiler uses).

Each ``_lower_<kind>(step, op)`` reads its inputs' homes from ``step.homes``, gives its output a
home and emits the instructions (see :mod:`.codegen` for homes, loads and stores).
"""
from __future__ import annotations

from .codegen import Home, Step
from .footprint import nbytes
from .ir import CompileError, Op
from .isa import Buf, DType, Engine, MiscOp, LINE_BYTES
from .target import logits_block


def _lines(nbytes_: int) -> int:
    return -(-nbytes_ // LINE_BYTES)


def segment_labels(ops: list[Op]) -> list[str | None]:
    """The segment each op starts (None: it continues the current one)."""
    labels: list[str | None] = []
    prev = None
    for op in ops:
        label = None
        if prev is None:
            label = "embed"
        if op.layer is not None and (prev is None or prev.layer != op.layer):
            label = f"L{op.layer}.pre"
        elif op.layer is None and prev is not None and prev.layer is not None:
            label = "head"
        elif op.kind == "attn_score":
            label = f"L{op.layer}.attn"
        elif prev is not None and prev.kind == "attn_value":
            label = f"L{op.layer}.post"
        labels.append(label)
        prev = op
    return labels


def _users(step: Step, name: str) -> list[Op]:
    return [op for op in step.graph.ops if name in op.inputs]


def _output_home(step: Step, op: Op, cols: int, chip_buf: Buf) -> Home:
    """Home of an op's result: the logits rows, a KV cache (prefill), on chip (decode) or HBM
    scratch (prefill)."""
    layout = step.model.layout
    if op.output == step.graph.output:
        region, addr = logits_block(layout, step.row0, step.T)   # rows may span channels
        home = Home(cols, DType.FP16, channel=region.channel, addr=addr, pitch=cols * 2)
        step.homes[op.output] = home
        return home
    users = _users(step, op.output)
    if step.mode == "prefill" and len(users) == 1 and users[0].kind == "kv_append" \
            and layout.kv_dtype == DType.FP16:
        a = users[0].attrs
        region = layout.regions[f"kv.{a['layer']}.{a['which']}"]
        pitch = nbytes(layout.kv_dtype, cols)
        home = Home(cols, layout.kv_dtype, channel=region.channel,
                    addr=region.addr + step.row0 * pitch, pitch=pitch, rel=True)
        step.homes[op.output] = home
        return home
    if step.mode == "decode":
        return step.chip_home(op.output, chip_buf, cols)
    return step.hbm_home(op.output, cols)


def _misc_rows(step: Step, rows_ops: int, cols: int) -> int:
    """Rows per SFU tile in prefill: ``rows_ops`` row-blocks of ``cols`` fp16 in half of ACT."""
    per_row = rows_ops * cols * 2
    if per_row > step.model.tiling.act_bytes:
        raise CompileError(f"{rows_ops} rows of {cols} fp16 elements do not fit the activation "
                           f"buffer ({step.model.tiling.act_bytes} bytes)")
    r = 1
    while r * 2 <= step.T and (r * 2) * per_row <= step.model.tiling.act_bytes // 2:
        r *= 2
    return r


def _rowwise(step: Step, op: Op, misc: MiscOp, inputs: list[Home], cols: int,
             param=None, **fields) -> None:
    """An SFU op applied row by row; ``param(r0, rows) -> (buf, line, temp)`` loads its B."""
    out = _output_home(step, op, cols, Buf.ACT)
    rows = 1 if step.mode == "decode" else _misc_rows(step, len(inputs) + 1, cols)
    for r0, n in step.row_tiles(rows):
        temps = []
        srcs = []
        for home in inputs:
            buf, line, temp = step.source(home, r0, n)
            srcs.append((buf, line))
            if temp:
                temps.append((buf, line))
        if param is not None:
            buf, line, temp = param(r0, n)
            srcs.append((buf, line))
            if temp:
                temps.append((buf, line))
        if out.on_chip:
            o_buf, o_line = out.buf, out.line
        else:
            o_buf, o_line = Buf.ACT, step.alloc(Buf.ACT, n * cols * 2, f"{op.output} tile")
            temps.append((o_buf, o_line))
        b_buf, b_line = srcs[1] if len(srcs) > 1 else (Buf.ACT, 0)
        step.emit("MISC", op=misc, dt_in=DType.FP16, dt_out=DType.FP16, a_buf=srcs[0][0],
                  a_addr=srcs[0][1], b_buf=b_buf, b_addr=b_line, o_buf=o_buf, o_addr=o_line,
                  rows=n, cols=cols, **fields)
        step.store(out, r0, n, o_buf, o_line)
        for buf, line in temps:
            step.free(buf, line)


def _gather_rows(step: Step, op: Op, r0: int, rows: int, buf: Buf, line: int,
                 out: Home | None = None) -> None:
    """Embedding rows of tokens r0..r0+rows of this step into ``buf``/``line``: LD their uint32
    ids from the input region into META, then one gather LD per column slice of the fp16 table
    (a table larger than a channel is split by columns, :func:`.target.place_embedding`).
    Slice ``[c0, c0+w)`` lands at ``line + rows*c0*2`` bytes as a ``[rows, w]`` block, so for one
    row the slices form the row; with ``out`` each block is also stored to its columns there."""
    ids = step.model.layout.regions["input"]
    idx = step.alloc(Buf.META, 4 * rows, "token ids")
    step.emit("LD", buf=Buf.META, buf_addr=idx, channel=ids.channel,
              hbm_addr=ids.addr + 4 * (step.row0 + r0), length=4 * rows, count1=1)
    for table, c0, cols in step.model.layout.embed[op.weight]:
        at = line + rows * c0 * 2 // LINE_BYTES        # c0 is a multiple of 8 columns
        step.emit("LD", buf=buf, buf_addr=at, channel=table.channel, hbm_addr=table.addr,
                  length=2 * cols, count1=rows, stride1=2 * cols, gather=1, idx_addr=idx)
        if out is not None:
            step.store(out, r0, rows, buf, at, c0=c0, cols=cols)
    step.free(Buf.META, idx)


def _lower_embedding(step: Step, op: Op) -> None:
    """The token embedding lookup on the accelerator (gather DMA): the host writes token ids
    only. The table is stored in fp16, as golden's ``fp16(embedding(table, ids))`` rounds it."""
    hidden = op.attrs["hidden"]
    if step.mode == "decode":
        home = step.chip_home(op.output, Buf.ACT, hidden)
        _gather_rows(step, op, 0, 1, Buf.ACT, home.line)
        return
    out = step.hbm_home(op.output, hidden)
    for r0, n in step.row_tiles(_misc_rows(step, 1, hidden)):
        line = step.alloc(Buf.ACT, n * hidden * 2, "embedding rows")
        _gather_rows(step, op, r0, n, Buf.ACT, line, out)
        step.free(Buf.ACT, line)


def _lower_rmsnorm(step: Step, op: Op) -> None:
    x = step.homes[op.inputs[0]]
    region = step.model.layout.regions[op.weight]
    gain = step.alloc(Buf.BIAS, region.size, f"gain of {op.weight}")
    step.emit("LD", buf=Buf.BIAS, buf_addr=gain, channel=region.channel, hbm_addr=region.addr,
              length=region.size)
    _rowwise(step, op, MiscOp.RMSNORM, [x], x.cols, lambda r0, n: (Buf.BIAS, gain, False))
    step.free(Buf.BIAS, gain)


def _lower_rope(step: Step, op: Op) -> None:
    x = step.homes[op.inputs[0]]
    d = op.attrs["head_dim"]
    table = step.model.layout.regions["rope"]

    def rows(r0: int, n: int):
        line = step.alloc(Buf.BIAS, n * d * 2, "RoPE rows")
        step.emit("LD", buf=Buf.BIAS, buf_addr=line, channel=table.channel,
                  hbm_addr=table.addr + (step.row0 + r0) * d * 2, length=d * 2, count1=n,
                  stride1=d * 2, rel=1)
        return Buf.BIAS, line, True
    _rowwise(step, op, MiscOp.ROPE, [x], x.cols, rows, imm=d)


def _lower_kv_append(step: Step, op: Op) -> None:
    """Append this step's K or V rows to the layer's cache (rows from pos0). An fp16 cache in
    prefill was already written by the producer (its home is the cache); an int8 cache stores
    per-(token, head) INT8 codes and their float32 scales (REQUANT, as golden kv_int8)."""
    x = step.homes[op.inputs[0]]
    a = op.attrs
    layout = step.model.layout
    region = layout.regions[f"kv.{a['layer']}.{a['which']}"]
    dt, cols = layout.kv_dtype, x.cols
    pitch = nbytes(dt, cols)
    cache = Home(cols, dt, channel=region.channel, addr=region.addr + step.row0 * pitch,
                 pitch=pitch, rel=True)
    result = Home(cols, dt, channel=region.channel, addr=region.addr, pitch=pitch)
    if dt == DType.INT8:
        d = step.graph.dims.head_dim
        kvh = cols // d
        scale = layout.regions[f"kv.{a['layer']}.{a['which']}.scale"]
        scales = Home(kvh, DType.FP32, channel=scale.channel,
                      addr=scale.addr + step.row0 * 4 * kvh, pitch=4 * kvh, rel=True)
        result.scale_channel, result.scale_addr = scale.channel, scale.addr
        rows = 1 if step.mode == "decode" else _misc_rows(step, 2, cols)
        for r0, n in step.row_tiles(rows):
            src, line, temp = step.source(x, r0, n)
            q8 = step.alloc(Buf.ACT, n * cols, "INT8 K/V rows")
            sl = step.alloc(Buf.BIAS, 4 * n * kvh, "K/V scales")
            step.emit("MISC", op=MiscOp.REQUANT, dt_in=DType.FP16, dt_out=DType.INT8,
                      a_buf=src, a_addr=line, b_buf=Buf.BIAS,
                      b_addr=sl, o_buf=Buf.ACT, o_addr=q8, rows=n * kvh, cols=d)
            step.store(cache, r0, n, Buf.ACT, q8)
            step.store(scales, r0, n, Buf.BIAS, sl)
            for buf, ln in ((Buf.ACT, q8), (Buf.BIAS, sl)) + (((Buf.ACT, line),) if temp else ()):
                step.free(buf, ln)
    elif not (x.channel == cache.channel and x.addr == cache.addr and not x.on_chip):
        for r0, n in step.row_tiles(1 if step.mode == "decode" else step.T):
            src, line, temp = step.source(x, r0, n)
            step.store(cache, r0, n, src, line)
            if temp:
                step.free(Buf.ACT, line)
    step.homes[op.output] = result


def _activation_tile(step: Step, x: Home, plan, r0: int, n: int) -> tuple[int, int, list]:
    """(A line in ACT, scale line or 0, temporaries) of token rows [r0, r0+n) for an MM: fp16
    rows, or INT8 rows with their float32 scales (REQUANT) for an INT8 engine."""
    a_line, a_temp = step.load(x, r0, n, Buf.ACT)
    temps = [(Buf.ACT, a_line)] if a_temp else []
    if plan.a_dt != DType.INT8:
        return a_line, 0, temps
    q_line = step.alloc(Buf.ACT, n * plan.k, "INT8 activations")
    s_line = step.alloc(Buf.BIAS, 4 * n, "activation scales")
    step.emit("MISC", op=MiscOp.REQUANT, dt_in=DType.FP16, dt_out=DType.INT8, a_buf=Buf.ACT,
              a_addr=a_line, b_buf=Buf.BIAS, b_addr=s_line, o_buf=Buf.ACT, o_addr=q_line,
              rows=n, cols=plan.k)
    return q_line, s_line, temps + [(Buf.ACT, q_line), (Buf.BIAS, s_line)]


def _lower_linear(step: Step, op: Op) -> None:
    """Weight tiles stream through two WGT slots. Decode: one token, result tiles side by side
    on chip. Prefill: weight tile outer, token row tiles inner, so each weight byte is loaded
    once per step and the (smaller) activation rows are re-read per weight tile (unless all rows
    are one row tile: then they are loaded and quantized once)."""
    model = step.model
    plan, tiles = model.plans[op.weight], model.tiles[op.weight]
    x = step.homes[op.inputs[0]]
    out = _output_home(step, op, plan.n, Buf.OUT)
    n_tile = tiles[0][1]
    slot_bytes = max(region.size for region, _ in tiles)
    align = (1, 0)
    if plan.engine == Engine.BITMOD:          # its sections start WGT rows (the engine's readers)
        from .passes.packing import wgt_row_lines
        align = (wgt_row_lines(model.cfg), 0)
    slots = [step.alloc(Buf.WGT, slot_bytes, f"weight tile of {op.weight}", align)
             for _ in range(2)]

    def mm(j: int, region, n_rows: int, a_line: int, s_line: int, m: int, o_line: int):
        step.emit(step.mm, engine=plan.engine, a_dt=plan.a_dt, b_dt=plan.b_dt, o_dt=plan.o_dt,
                  m=m, n=n_rows, k=plan.k, a_addr=a_line, b_addr=slots[j % 2],
                  b_lines=_lines(region.size), o_addr=o_line, s_addr=s_line)

    def load_weight(j: int, region) -> None:
        step.emit("LD", buf=Buf.WGT, buf_addr=slots[j % 2], channel=region.channel,
                  hbm_addr=region.addr, length=region.size)
    if step.mode == "decode":
        a_line, s_line, temps = _activation_tile(step, x, plan, 0, 1)
        o_base = out.line if out.on_chip else step.alloc(Buf.OUT, plan.n * 2, "result row")
        for j, (region, n_rows) in enumerate(tiles):
            load_weight(j, region)
            mm(j, region, n_rows, a_line, s_line, 1, o_base + (j * n_tile * 2) // LINE_BYTES)
        step.store(out, 0, 1, Buf.OUT, o_base)
        if not out.on_chip:
            temps.append((Buf.OUT, o_base))
    else:
        rows = model.tiling.token_rows(step.T, plan.k, n_tile, op.weight)
        temps = []
        if rows >= step.T:     # one row tile: load (and quantize) it once for every weight tile
            a_line, s_line, temps = _activation_tile(step, x, plan, 0, step.T)
        for j, (region, n_rows) in enumerate(tiles):
            load_weight(j, region)
            for r0, n in step.row_tiles(rows):
                tile_temps = []
                if rows < step.T:
                    a_line, s_line, tile_temps = _activation_tile(step, x, plan, r0, n)
                o_line = step.alloc(Buf.OUT, n * n_rows * 2, f"{op.output} tile")
                mm(j, region, n_rows, a_line, s_line, n, o_line)
                step.store(out, r0, n, Buf.OUT, o_line, c0=j * n_tile, cols=n_rows)
                for buf, line in tile_temps + [(Buf.OUT, o_line)]:
                    step.free(buf, line)
    for buf, line in temps:
        step.free(buf, line)
    for slot in slots:
        step.free(Buf.WGT, slot)


def _lower_deferred(step: Step, op: Op) -> None:
    step.deferred[op.output] = op


def _lower_attn_value(step: Step, op: Op) -> None:
    from .lower_attention import lower_attention
    soft = step.deferred.pop(op.inputs[0], None)
    score = step.deferred.pop(soft.inputs[0], None) if soft is not None else None
    if soft is None or soft.kind != "softmax" or score is None or score.kind != "attn_score":
        raise CompileError(f"node '{op.node}': attn_value must read softmax(attn_score(...))")
    lower_attention(step, score, op)


def _lower_silu(step: Step, op: Op) -> None:
    users = _users(step, op.output)
    if len(users) == 1 and users[0].kind == "mul":
        step.deferred[op.output] = op          # fused into SWIGLU at the mul
        return
    x = step.homes[op.inputs[0]]
    _rowwise(step, op, MiscOp.SILU, [x], x.cols)


def _lower_mul(step: Step, op: Op) -> None:
    a, b = op.inputs
    if a in step.deferred or b in step.deferred:
        gate_op = step.deferred.pop(a if a in step.deferred else b)
        up = b if a == gate_op.output else a
        gate = step.homes[gate_op.inputs[0]]
        _rowwise(step, op, MiscOp.SWIGLU, [gate, step.homes[up]], gate.cols)
        return
    _rowwise(step, op, MiscOp.MUL, [step.homes[a], step.homes[b]], step.homes[a].cols)


def _lower_add(step: Step, op: Op) -> None:
    a, b = (step.homes[n] for n in op.inputs)
    _rowwise(step, op, MiscOp.ADD, [a, b], a.cols)


LOWER = {"embedding": _lower_embedding, "rmsnorm": _lower_rmsnorm, "rope": _lower_rope,
         "kv_append": _lower_kv_append, "linear": _lower_linear, "attn_score": _lower_deferred,
         "softmax": _lower_deferred, "attn_value": _lower_attn_value, "silu": _lower_silu,
         "mul": _lower_mul, "add": _lower_add}

__all__ = ["LOWER", "segment_labels"]

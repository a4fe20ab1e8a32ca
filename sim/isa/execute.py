"""Semantics of each instruction, with every number computed by golden/ functions.

* MM/MV BITMOD: ``golden.ops.linear_bitmod`` on the tile (the bit-serial engine model).
* MM/MV DENSE/SPARSE with INT8 A: the INT32 accumulators per group (exact integers; dense by a
  float64 product of the golden integer levels, exact below 2^53 as in golden's int_linear, N:M
  by ``golden.sparse.matmul``) then
  ``golden.ops.requantize`` with the activation scales written by REQUANT.
* MM/MV with fp16 A and fp16 B (attention): ``golden.ops.score_fp16`` / ``value_fp16`` on the
  tile; with an INT8 K/V cache ``golden.ops.score_int8`` / ``value_int8``. Their summation order
  is defined per output element, so the result does not depend on the row tiling.
* MISC: ``golden.ops`` rmsnorm_fp16, softmax_fp16, rope_fp16, add_fp16, swiglu_fp16,
  quantize_per_token; COPY moves bytes.
Weight tiles are unpacked with ``compiler.passes.packing.unpack_tile`` (golden unpackers).
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from ...compiler import isa
from ...compiler.footprint import dma_runs, is_gather, misc_b_bytes, nbytes
from ...compiler.isa import Buf, DType, Engine, MiscOp
from ...compiler.passes.packing import unpack_tile
from ...golden import ops
from .machine import Machine, SimError

_NP = {dt: np.dtype(info.numpy).type for dt, info in isa.DTYPES.items() if info.numpy is not None}


def _read(m: Machine, buf: int, line: int, dt: int, shape: tuple[int, ...], what: str):
    if DType(dt) not in _NP:
        raise SimError(f"{what}: element type {DType(dt).name} cannot be read as a tensor")
    count = int(np.prod(shape))
    raw = m.buf_slice(buf, line, nbytes(dt, count), what)
    return torch.from_numpy(np.frombuffer(raw, dtype=_NP[DType(dt)], count=count)
                            .reshape(shape).copy())


def _write(m: Machine, buf: int, line: int, t: torch.Tensor, what: str) -> None:
    data = np.ascontiguousarray(t.numpy()).tobytes()
    m.buf_slice(buf, line, len(data), what)[:] = data


def _dma(m: Machine, instr: isa.Instr, index: int) -> None:
    what = f"#{index} {instr.kind}"
    local = m.buf_slice(instr["buf"], instr["buf_addr"], dma_bytes_of(instr), what)
    ids = None
    if is_gather(instr):                        # row ids (uint32) on chip: embedding lookup
        count = max(instr["count1"], 1)
        ids = np.frombuffer(m.buf_slice(Buf.META, instr["idx_addr"], 4 * count, what),
                            dtype="<u4")
    pos = 0
    for lo, hi in dma_runs(instr, m.pos0, ids):
        n = hi - lo
        if instr.kind == "LD":
            local[pos:pos + n] = bytes(n) if instr["zero_fill"] else \
                m.hbm_slice(instr["channel"], lo, hi, what)
        else:
            m.hbm_slice(instr["channel"], lo, hi, what)[:] = local[pos:pos + n]
        pos += n
    m.count_dma(instr)


def dma_bytes_of(instr: isa.Instr) -> int:
    from ...compiler.footprint import dma_bytes
    return dma_bytes(instr)


def _weight(m: Machine, instr: isa.Instr, what: str):
    raw = bytes(m.buf_slice(Buf.WGT, instr["b_addr"], instr["b_lines"] * isa.LINE_BYTES, what))
    key = raw + bytes((instr["engine"], instr["b_dt"]))
    tile = m.cache.get(key)
    if tile is None:
        tile = unpack_tile(raw, instr["engine"], instr["b_dt"], instr["n"], instr["k"])
        if instr["engine"] == Engine.BITMOD and not isinstance(tile, torch.Tensor):
            from ...golden import bitserial
            tile = bitserial.engine_weight(tile, bitserial.DEFAULT.lanes)
        m.cache[key] = tile
    return tile


def _int_linear(m: Machine, instr: isa.Instr, q: torch.Tensor, w, what: str) -> torch.Tensor:
    sx = _read(m, Buf.BIAS, instr["s_addr"], DType.FP32, (instr["m"], 1), what)
    if instr["engine"] == Engine.SPARSE:
        from ...golden import sparse
        acc = torch.from_numpy(sparse.matmul(w, q.numpy()).astype(np.int64))[..., None]
        scales = torch.from_numpy(np.array(w.scales, dtype=np.float32))[:, None]
    else:
        # integer_levels lives next to golden's int_linear (whatever that module is called)
        integer_levels = sys.modules[ops.int_linear.__module__].integer_levels
        g = w.group_size
        levels = torch.from_numpy(integer_levels(w)).double().view(w.shape[0], -1, g)
        # exact: every product and partial sum is an integer below 2^53
        acc = torch.einsum("tgk,ngk->tng", q.double().view(q.shape[0], -1, g), levels)
        scales = torch.from_numpy(np.array(w.scales, dtype=np.float32))
    return ops.requantize(acc, sx, scales)


def _attention_fp16(m: Machine, instr: isa.Instr, a: torch.Tensor, valid: int,
                    what: str) -> torch.Tensor:
    """The fp16 attention products of this tile by golden's own functions: scores (b_trans 0:
    ``golden.ops.score_fp16`` of query rows A [m, d] and key rows B [n, d]) or values (b_trans 1:
    ``golden.ops.value_fp16`` of probabilities A [m, T] and V rows B [T, d]). Their summation
    order is defined per output element, so any row tiling gives golden's whole-sequence result."""
    rows, n, k = instr["m"], instr["n"], instr["k"]
    if instr["b_trans"]:
        if instr["qk_dim"]:
            raise SimError(f"{what}: a value product (b_trans 1) takes no qk_dim")
        kk = min(k, valid)
        b = _read(m, Buf.WGT, instr["b_addr"], DType.FP16, (k, n), what)
        return ops.value_fp16(a[:, :kk], b[:kk])
    if instr["qk_dim"] != k:
        raise SimError(f"{what}: scores need qk_dim = k = {k}, got {instr['qk_dim']}")
    nn = min(n, valid)
    b = _read(m, Buf.WGT, instr["b_addr"], DType.FP16, (n, k), what)
    out = torch.zeros(rows, n, dtype=torch.float16)
    out[:, :nn] = ops.score_fp16(a, b[:nn])
    return out


def _kv_int8(m: Machine, instr: isa.Instr, rows: int, cols: int, valid: int, what: str):
    """INT8 K/V rows of the cache (codes x stored scale, ``golden.ops.kv_int8``'s values),
    requantized per row as ``golden.ops.attention_int8`` does: (codes, float32 scales)."""
    codes = _read(m, Buf.WGT, instr["b_addr"], DType.INT8, (rows, cols), what)[:valid]
    scales = _read(m, Buf.META, instr["t_addr"], DType.FP32, (rows, 1), what)[:valid]
    return ops.quantize_per_token(ops.dequantize_per_token(codes, scales))


def _attention_int8(m: Machine, instr: isa.Instr, a: torch.Tensor, valid: int,
                    what: str) -> torch.Tensor:
    """The two INT8 products of ``golden.ops.attention_int8``: ``score_int8`` (b_trans 0) and
    ``value_int8`` (b_trans 1) on this tile's rows."""
    rows, n, k = instr["m"], instr["n"], instr["k"]
    out = torch.zeros(rows, n, dtype=torch.float16)
    if not instr["b_trans"]:
        nn = min(n, valid)
        k8, sk = _kv_int8(m, instr, n, k, nn, what)
        sq = _read(m, Buf.BIAS, instr["s_addr"], DType.FP32, (rows, 1), what)
        if instr["qk_dim"] != k:
            raise SimError(f"{what}: INT8 scores need qk_dim = k = {k}, got {instr['qk_dim']}")
        out[:, :nn] = ops.score_int8(a, sq, k8, sk)
        return out
    kk = min(k, valid)
    v8, sv = _kv_int8(m, instr, k, n, kk, what)
    return ops.value_int8(a[:, :kk], v8, sv)


def _matmul(m: Machine, instr: isa.Instr, index: int) -> None:
    what = f"#{index} {instr.kind}"
    rows, n, k = instr["m"], instr["n"], instr["k"]
    a = _read(m, Buf.ACT, instr["a_addr"], instr["a_dt"], (rows, k), what)
    valid = m.pos0 + m.ntok
    if instr["b_dt"] == DType.INT8 and instr["skip_pad"]:
        out = _attention_int8(m, instr, a, valid, what)
    elif instr["b_dt"] == DType.FP16 and instr["skip_pad"]:
        out = _attention_fp16(m, instr, a, valid, what)
    elif instr["b_dt"] == DType.FP16 and instr["a_dt"] == DType.FP16 and instr["engine"] == \
            Engine.DENSE:                         # fp16 linear (scheme fp16 on the csd engine)
        b = _read(m, Buf.WGT, instr["b_addr"], DType.FP16, (n, k), what)
        out = ops.to_fp16(a.float() @ b.float().T)
    else:
        w = _weight(m, instr, what)
        if instr["a_dt"] == DType.INT8:
            out = _int_linear(m, instr, a, w, what)
        elif instr["engine"] == Engine.BITMOD:
            out = ops.linear_bitmod(a, w)
        else:
            raise SimError(f"{what}: engine {Engine(instr['engine']).name} with A "
                           f"{DType(instr['a_dt']).name} is not supported")
    if instr["o_dt"] != DType.FP16:
        raise SimError(f"{what}: result type {DType(instr['o_dt']).name} is not supported")
    if instr["acc"]:
        raise SimError(f"{what}: accumulating MMs are not emitted by the compiler")
    _write(m, Buf.OUT, instr["o_addr"], out.to(torch.float16), what)
    m.counters.macs[Engine(instr["engine"]).name] += rows * n * k


def _misc(m: Machine, instr: isa.Instr, index: int) -> None:
    what = f"#{index} MISC"
    op, rows, cols = MiscOp(instr["op"]), instr["rows"], instr["cols"]
    a = _read(m, instr["a_buf"], instr["a_addr"], instr["dt_in"], (rows, cols), what)

    def b_tensor(dt, shape):
        return _read(m, instr["b_buf"], instr["b_addr"], dt, shape, what)
    if op == MiscOp.COPY:
        out = a
    elif op == MiscOp.ADD:
        out = ops.add_fp16(a, b_tensor(DType.FP16, (rows, cols)))
    elif op == MiscOp.SWIGLU:
        out = ops.swiglu_fp16(a, b_tensor(DType.FP16, (rows, cols)))
    elif op == MiscOp.RMSNORM:
        raw = bytes(m.buf_slice(instr["b_buf"], instr["b_addr"], misc_b_bytes(instr), what))
        gain = torch.from_numpy(np.frombuffer(raw, np.float16, cols).copy())
        eps = float(np.frombuffer(raw, np.float32, 1, 2 * cols)[0])
        out = ops.rmsnorm_fp16(a, gain, eps)
    elif op == MiscOp.ROPE:
        d = instr["imm"]
        table = b_tensor(DType.FP16, (rows, d))
        cos = torch.cat((table[:, :d // 2], table[:, :d // 2]), 1)[:, None, :]
        sin = torch.cat((table[:, d // 2:], table[:, d // 2:]), 1)[:, None, :]
        out = ops.rope_fp16(a.view(rows, cols // d, d), cos, sin).reshape(rows, cols)
    elif op == MiscOp.SOFTMAX:
        period = instr["imm"] or rows
        valid = min(cols, m.pos0 + m.ntok)
        pos = m.pos0 + instr["pos"] + torch.arange(rows) % period
        mask = torch.arange(valid)[None, :] <= pos[:, None]
        out = torch.zeros(rows, cols, dtype=torch.float16)
        out[:, :valid] = ops.softmax_fp16(a[:, :valid].float().masked_fill(~mask,
                                                                           float("-inf")))
    elif op == MiscOp.REQUANT:
        q, scale = ops.quantize_per_token(a)
        _write(m, instr["b_buf"], instr["b_addr"], scale.float().reshape(rows), what)
        out = q
    else:
        raise SimError(f"{what}: MISC {op.name} is not supported by the simulator")
    _write(m, instr["o_buf"], instr["o_addr"], out, what)
    m.counters.sfu_elements[op.name] += rows * cols


def execute(m: Machine, instr: isa.Instr, index: int) -> None:
    kind = instr.kind
    if kind in ("LD", "ST"):
        _dma(m, instr, index)
    elif kind in ("MM", "MV"):
        _matmul(m, instr, index)
    elif kind == "MISC":
        _misc(m, instr, index)

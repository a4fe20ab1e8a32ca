"""Semantics of each instruction, with every number computed by golden/ functions.

* MM/MV BITMOD: ``golden.ops.linear_bitmod`` on the tile (the bit-serial engine model).
* MM/MV DENSE/SPARSE with INT8 A: ``golden.ops.accumulate`` (dense: exact INT32 per group of the
  golden integer levels) or ``int_matmul.sparse_accumulate`` (N:M, ``golden.sparse.matmul``),
  both raising on INT32 overflow, then ``golden.ops.requantize`` with the activation scales
  written by REQUANT.
* MM/MV DENSE with fp16 A and fp16 B: attention products ``golden.ops.score_fp16`` /
  ``value_fp16`` on the tile (``skip_pad``), else the fp16-weight linear
  ``golden.ops.fp16_linear``; with an INT8 K/V cache ``golden.ops.score_int8`` / ``value_int8``
  on the stored codes and scales. Their arithmetic is defined per output element, so the result
  does not depend on the row tiling.
* MISC: :mod:`.misc`, the row functions of ``golden.ops.sfu``.
Weight tiles are unpacked with ``compiler.passes.packing.unpack_tile`` (golden unpackers).
"""
from __future__ import annotations

import numpy as np
import torch

from ...compiler import isa
from ...compiler.footprint import dma_runs, is_gather
from ...compiler.isa import Buf, DType, Engine
from ...compiler.passes.packing import unpack_tile
from ...golden import ops
from ...golden.ops import int_matmul
from .machine import Machine, SimError
from .misc import execute_misc, read, write


def _read(m: Machine, buf: int, line: int, dt: int, shape: tuple[int, ...], what: str):
    return torch.from_numpy(read(m, buf, line, dt, shape, what))


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
    sx = read(m, Buf.BIAS, instr["s_addr"], DType.FP32, (instr["m"],), what)
    try:
        if instr["engine"] == Engine.SPARSE:
            acc = int_matmul.sparse_accumulate(w, q.numpy())
            scales = np.asarray(w.scales, dtype=np.float32)[:, None]
        else:
            acc = ops.accumulate(q.numpy(), int_matmul.integer_levels(w), w.group_size)
            scales = np.asarray(w.scales, dtype=np.float32)
    except ValueError as exc:
        raise SimError(f"{what}: {exc}") from None
    return torch.from_numpy(ops.requantize(acc, sx, scales))


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
    """The INT8 K/V rows of the cache as stored: (int8 codes, binary32 per-row scales), the
    ``golden.ops.kv_int8`` entries the products read directly."""
    codes = _read(m, Buf.WGT, instr["b_addr"], DType.INT8, (rows, cols), what)[:valid]
    scales = _read(m, Buf.META, instr["t_addr"], DType.FP32, (rows, 1), what)[:valid]
    return codes, scales


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
        b = read(m, Buf.WGT, instr["b_addr"], DType.FP16, (n, k), what)
        out = torch.from_numpy(ops.fp16_linear(a.numpy(), b))
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
    write(m, Buf.OUT, instr["o_addr"], out.to(torch.float16).numpy(), what)
    m.counters.macs[Engine(instr["engine"]).name] += rows * n * k


def execute(m: Machine, instr: isa.Instr, index: int) -> None:
    kind = instr.kind
    if kind in ("LD", "ST"):
        _dma(m, instr, index)
    elif kind in ("MM", "MV"):
        _matmul(m, instr, index)
    elif kind == "MISC":
        execute_misc(m, instr, index)

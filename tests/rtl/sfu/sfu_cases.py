"""Jobs for the SFU bench: rows of one MISC op, the element beats the harness takes (every
pass of every row) and the results golden.ops.sfu defines for them.

A job is a dict: ``op``, ``imm``, ``eps`` (binary32 bits), ``cols``, and numpy arrays ``a``
(rows x cols fp16) and the op's operands: ``b`` (ADD/MUL/SWIGLU), ``gain`` (RMSNORM), ``table``
(ROPE, rows x d) and ``vis`` (SOFTMAX, rows x cols bool). ``expected`` gives the results as
(data uint16 [rows, cols], scale uint32 [rows] or None).
"""
from __future__ import annotations

import numpy as np

from bitflight.compiler.isa import MiscOp as Op
from bitflight.golden.ops import causal, sfu
from bitflight.rtl.sfu.layouts import ELEMENT, RESULT
from bitflight.rtl.sfu.params import passes

from sfu_harness import K

ES, RS = ELEMENT.size, RESULT.size
F16 = np.float16

EDGE16 = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400, 0x8400, 0x7BFF, 0xFBFF,
                   0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x3C00, 0xBC00, 0x3800, 0xB800,
                   0x4900, 0xC900, 0x5640, 0xD640, 0x1400, 0x9400], dtype=np.uint16)


def values(rng, shape, kind: str) -> np.ndarray:
    """fp16 arrays: ``normal`` (|x| around 1..100, signs mixed), ``small`` (near subnormal),
    ``bits`` (uniform bit patterns: NaN, inf, subnormals included), ``edge`` (EDGE16)."""
    if kind == "normal":
        x = rng.normal(0, 1, shape) * np.exp2(rng.integers(-4, 7, shape))
        return np.asarray(x, dtype=F16)
    if kind == "small":
        return np.asarray(rng.normal(0, 1, shape) * 2.0 ** -14, dtype=F16)
    if kind == "bits":
        return rng.integers(0, 1 << 16, shape, dtype=np.uint16).view(F16)
    return EDGE16[rng.integers(0, len(EDGE16), shape)].view(F16)


def make_job(rng, op: Op, rows: int, cols: int, kind: str = "normal", **kw) -> dict:
    job = {"op": int(op), "imm": 0, "eps": 0, "cols": cols, "a": values(rng, (rows, cols), kind)}
    if op in (Op.ADD, Op.MUL, Op.SWIGLU):
        job["b"] = values(rng, (rows, cols), kw.get("b_kind", kind))
    elif op == Op.SCALE:
        job["imm"] = int(kw.get("scalar", values(rng, (1,), kind).view(np.uint16)[0]))
    elif op == Op.RMSNORM:
        job["gain"] = values(rng, (cols,), kw.get("b_kind", "normal"))
        eps = np.float32(kw.get("eps", 1e-5))
        job["eps"] = int(np.array([eps], np.float32).view(np.uint32)[0])
    elif op == Op.ROPE:
        d = kw["d"]
        job["imm"] = d
        ang = rng.uniform(-4, 4, (rows, d // 2))
        job["table"] = np.concatenate([np.cos(ang), np.sin(ang)], axis=1).astype(F16)
    elif op == Op.SOFTMAX:
        job["vis"] = kw.get("vis")
        if job["vis"] is None:
            pos0, ntok = rng.integers(0, cols + 1), rng.integers(1, 4)
            pos = rng.integers(0, max(1, ntok))
            job["vis"] = causal.visible(rows, cols, pos0, ntok, pos, rng.integers(0, 3))
    return job


def expected(job) -> tuple[np.ndarray, np.ndarray | None]:
    op, a = Op(job["op"]), job["a"]
    if op == Op.REQUANT:
        codes, scale = sfu.requant_rows(a)
        return codes.astype(np.int16).view(np.uint16), scale.view(np.uint32)
    out = {Op.ADD: lambda: sfu.add_rows(a, job["b"]), Op.MUL: lambda: sfu.mul_rows(a, job["b"]),
           Op.SWIGLU: lambda: sfu.swiglu_rows(a, job["b"]), Op.SILU: lambda: sfu.silu_rows(a),
           Op.SCALE: lambda: sfu.scale_rows(a, job["imm"]),
           Op.ROPE: lambda: sfu.rope_rows(a, job["table"], job["imm"]),
           Op.RMSNORM: lambda: sfu.rmsnorm_rows(
               a, job["gain"], np.array([job["eps"]], np.uint32).view(np.float32)[0]),
           Op.SOFTMAX: lambda: sfu.softmax_rows(a, job["vis"])}[op]()
    return out.view(np.uint16), None


def operands(job) -> np.ndarray:
    """uint16 [rows, cols, 4]: the a, b, c, d fields of every element (layouts.ELEMENT)."""
    op, a = Op(job["op"]), job["a"].view(np.uint16)
    rows, cols = a.shape
    ops = np.zeros((rows, cols, 4), np.uint16)
    ops[..., 0] = a
    if "b" in job:
        ops[..., 1] = job["b"].view(np.uint16)
    if op == Op.RMSNORM:
        ops[..., 1] = job["gain"].view(np.uint16)[None, :]
    if op == Op.ROPE:
        d, half = job["imm"], job["imm"] // 2
        heads = a.reshape(rows, cols // d, d)
        rot = np.concatenate([heads[..., half:] ^ np.uint16(0x8000), heads[..., :half]], axis=-1)
        ops[..., 1] = rot.reshape(rows, cols)
        tab = job["table"].view(np.uint16)
        freq = np.arange(cols) % d % half
        ops[..., 2] = tab[:, freq]
        ops[..., 3] = tab[:, half + freq]
    return ops


def beats(job) -> list[int]:
    """The harness's input beats: every row, ``passes(op)`` times, K elements a beat at most,
    a beat never spanning two passes (the count field says how many elements it holds)."""
    ops = operands(job)
    rows, cols = job["a"].shape
    vis = job.get("vis")
    vis = np.ones((rows, cols), bool) if vis is None else np.broadcast_to(vis, (rows, cols))
    # 64 low bits: a | b << 16 | c << 32 | d << 48; then vis, last
    low = (ops[..., 0].astype(np.uint64) | ops[..., 1].astype(np.uint64) << np.uint64(16)
           | ops[..., 2].astype(np.uint64) << np.uint64(32)
           | ops[..., 3].astype(np.uint64) << np.uint64(48))
    out = []
    for r in range(rows):
        words = [int(lo) | int(v) << 64 for lo, v in zip(low[r], vis[r])]
        words[-1] |= 1 << 65
        for _ in range(passes(job["op"])):
            for s in range(0, cols, K):
                chunk = words[s:s + K]
                beat = len(chunk) << (K * ES)
                for k, w in enumerate(chunk):
                    beat |= w << (k * ES)
                out.append(beat)
    return out


def unpack_results(beat_words: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data uint16, scale uint32, last bool) of every result in the output beats."""
    data, scale, last = [], [], []
    mask = (1 << RS) - 1
    for beat in beat_words:
        for k in range(beat >> (K * RS)):
            r = beat >> (k * RS) & mask
            data.append(r & 0xFFFF)
            scale.append(r >> 16 & 0xFFFFFFFF)
            last.append(r >> 48 & 1)
    return (np.array(data, np.uint16), np.array(scale, np.uint32), np.array(last, bool))


def check(job, got_beats: list[int]) -> None:
    """Assert the harness's results equal golden's, naming the first wrong element."""
    want, want_scale = expected(job)
    rows, cols = job["a"].shape
    data, scale, last = unpack_results(got_beats)
    name = Op(job["op"]).name
    assert len(data) == rows * cols, f"{name}: {len(data)} results for {rows}x{cols}"
    want_last = np.zeros((rows, cols), bool)
    want_last[:, -1] = True
    assert (last == want_last.ravel()).all(), f"{name}: 'last' flags wrong"
    bad = np.nonzero(data != want.ravel())[0]
    if len(bad):
        r, c = divmod(int(bad[0]), cols)
        raise AssertionError(f"{name} {rows}x{cols}: {len(bad)} wrong, first [{r},{c}] "
                             f"a={job['a'].view(np.uint16)[r, c]:#06x} got {data[bad[0]]:#06x} "
                             f"golden {want.ravel()[bad[0]]:#06x}")
    if want_scale is not None:
        got = scale.reshape(rows, cols)[:, -1]
        badr = np.nonzero(got != want_scale)[0]
        assert not len(badr), (f"{name}: scale of row {badr[0]} {got[badr[0]]:#010x}, golden "
                               f"{want_scale[badr[0]]:#010x}")


LENGTHS = (1, 2, 3, 5, 8, 16, 31, 64, 100, 127, 257)


def edge_jobs(rng, op: Op) -> list[dict]:
    """Row lengths 1, odd and non-powers of two; special values (zeros of both signs,
    subnormals, max fp16, inf, NaN) and random bit patterns; for SOFTMAX also fully masked and
    partly masked rows."""
    jobs = []
    for kind in ("edge", "bits", "small"):
        for cols in (1, 3, 6, 17):
            d = 2 if cols % 2 == 0 else None
            if op == Op.ROPE and d is None:
                continue
            jobs.append(make_job(rng, op, 4, cols, kind, d=d, b_kind=kind, eps=1e-5))
    if op == Op.SOFTMAX:
        for vis in (np.zeros((3, 9), bool), causal.visible(3, 9, 2, 3, 0, 0),
                    causal.visible(4, 9, 0, 9, 1, 2)):
            jobs.append(make_job(rng, op, vis.shape[0], 9, "normal", vis=vis))
    if op == Op.SCALE:
        for scalar in (0x0000, 0x8000, 0x7BFF, 0x7C00, 0x7E00, 0x0001):
            jobs.append(make_job(rng, op, 2, 9, "edge", scalar=scalar))
    return jobs


def random_jobs(rng, op: Op, elements: int) -> list[dict]:
    """About ``elements`` seeded random elements of ``op`` in rows of mixed lengths (ROPE:
    heads of 2..16 elements)."""
    jobs, total = [], 0
    while total < elements:
        cols = int(rng.choice(LENGTHS))
        d = None
        if op == Op.ROPE:
            d = int(rng.choice((2, 4, 8, 16)))
            cols = d * max(1, cols // d)
        rows = max(1, min(64, (elements - total) // cols))
        kind = "normal" if rng.random() < 0.8 else str(rng.choice(("bits", "small", "edge")))
        jobs.append(make_job(rng, op, rows, cols, kind, d=d, eps=float(rng.choice((1e-5, 1e-6)))))
        total += rows * cols
    return jobs

"""Stimulus and golden expectations for the BitMoD RTL benches (amaranth.sim and cocotb).

A *job* is a list of dot products run back to back through a rows x cols array (a PE is the 1 x 1
case): per chunk of ``lanes`` weights one weight beat (every row) and one activation beat (every
column). Expectations come from golden.bitserial.dot_accumulator; nothing here re-derives the
arithmetic. Jobs are plain JSON so cocotb modules can load them.
"""
from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np

from bitflight.golden import bitserial as bs
from bitflight.golden import formats

SCHEMES = {
    "bitmod3": formats.BITMOD_CANDIDATES[3], "bitmod4": formats.BITMOD_CANDIDATES[4],
    "fp3": ("fp3",), "fp4": ("fp4_e2m1",), "int4": ("int4",), "int6": ("int6",),
    "int8": ("int8",),
}
EDGE_ACTS = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF,
                      0xFBFF, 0x7800, 0x0200], np.uint16)


def _acts(rng, shape, edge: str | None) -> np.ndarray:
    mag = 2.0 ** rng.uniform(-8, 8, shape)
    bits = (mag * rng.choice([-1.0, 1.0], shape)).astype(np.float16).view(np.uint16)
    if edge == "acts":
        pick = rng.random(shape) < 0.5
        bits[pick] = rng.choice(EDGE_ACTS, int(pick.sum()))
    elif edge == "max":
        bits[...] = rng.choice(np.array([0x7BFF, 0xFBFF], np.uint16), shape)
    elif edge == "zero_scale":
        bits[..., :shape[-1] // 2] = 0x7BFF
    elif edge == "zero_acts":
        bits[...] = 0
    elif edge == "subnormal":
        bits[...] = rng.integers(0, 0x400, shape) | (rng.integers(0, 2, shape) << 15)
    return bits


def _codes(rng, fmt, g: int, edge: str | None) -> np.ndarray:
    codes = rng.choice(fmt.codes, g).astype(np.int64)
    if edge == "special" and fmt.special is not None:
        codes[rng.random(g) < 0.5] = 1 << (fmt.bits - 1)
    if edge == "max":
        extreme = fmt.codes[np.argsort(np.abs(fmt.decode(fmt.codes)))[-2:]]
        codes = rng.choice(extreme, g).astype(np.int64)
    return codes


def make_job(seed: int, scheme: str, rows: int, cols: int, lanes: int, group: int,
             groups: int = 2, dots: int = 2, edge: str | None = None) -> dict:
    """A JSON-able job: beats, expected results and the hardware cycle counts."""
    rng = np.random.default_rng(seed)
    names = SCHEMES[scheme]
    k = groups * group
    w_beats, a_beats, expected = [], [], []
    for _ in range(dots):
        ids = rng.integers(0, len(names), (rows, groups))
        codes = np.zeros((rows, k), np.int64)
        for r in range(rows):
            for g in range(groups):
                zero_group = edge == "zero_groups" and (r + g) % 2 == 0
                fmt = formats.get(names[ids[r, g]])
                codes[r, g * group:(g + 1) * group] = (
                    fmt.encode(np.zeros(group)) if zero_group else _codes(rng, fmt, group, edge))
        scales = rng.integers(0, 256, (rows, groups))
        if edge == "max":
            scales[...] = 255
        if edge == "zero_scale":       # scale-0 groups must not coarsen the cross-group sum
            scales[:, ::2] = 0
        acts = _acts(rng, (cols, k), edge)
        qw = SimpleNamespace(scheme="test", shape=(rows, k), group_size=group, codes=codes,
                             formats=names, dtype_ids=ids, scale_mode="int", zero_points=None,
                             int_scales=scales.astype(np.uint8),
                             row_scales=np.ones(rows, np.float16), scales=None)
        ew = bs.engine_weight(qw, lanes)
        expected.append([[list(bs.dot_accumulator(acts[c], ew, r)[:2]) for c in range(cols)]
                         for r in range(rows)])
        for c0 in range(0, k, lanes):
            g = c0 // group
            row_beats = []
            for r in range(rows):
                name = names[ids[r, g]]
                b = formats.get(name).bits
                packed = sum(int(codes[r, c0 + j]) << (j * b) for j in range(lanes))
                row_beats.append({"codes": packed, "fmt": bs.hw_index(name),
                                  "scale": int(scales[r, g])})
            w_beats.append({"rows": row_beats, "first": int(c0 % group == 0),
                            "last": int((c0 + lanes) % group == 0),
                            "dot_last": int(c0 + lanes == k)})
            a_beats.append([[int(v) for v in acts[c, c0:c0 + lanes]] for c in range(cols)])
    slots = max(bs.term_table(n).slots for n in names)
    return {"scheme": scheme, "w": w_beats, "a": a_beats, "expected": expected,
            "slots": slots, "cycles_per_group": group // lanes * slots}


def dump(jobs: list[dict], path) -> None:
    with open(path, "w") as f:
        json.dump(jobs, f)


def array_jobs(p) -> list[dict]:
    """The array bench's vectors: every scheme (3 groups, 2 dots) plus edge activations; shared
    by the flat and the hierarchical array so both are held to the same cases."""
    jobs = [make_job(300 + i, scheme, p.rows, p.cols, p.lanes, p.group_size, groups=3)
            for i, scheme in enumerate(SCHEMES)]
    jobs.append(make_job(399, "bitmod4", p.rows, p.cols, p.lanes, p.group_size, edge="acts"))
    return jobs


def cocotb_env(target: str, jobs: list[dict], path, p) -> dict[str, str]:
    """Environment for cocotb_bitmod.py: the jobs (written to ``path``), target and params."""
    dump(jobs, path)
    fields = {f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name != "dp"}
    return {"BITMOD_JOBS": str(path), "BITMOD_TARGET": target, "BITMOD_LATENCY": str(p.latency),
            "BITMOD_PARAMS": json.dumps(fields)}

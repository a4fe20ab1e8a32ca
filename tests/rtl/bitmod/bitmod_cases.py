"""Stimulus and golden expectations for the BitMoD RTL benches (amaranth.sim and cocotb).

A *job* is a list of dot-product tiles run back to back through a rows x cols array (a PE is the
1 x 1 case): per chunk of ``lanes`` weights one weight beat (every row) and one activation beat
(every column). The weights are built as a golden.quant QuantizedWeight would hold them, in
either scale mode; golden.bitserial.engine_weight turns them into what a packed tile stores (the
stream's scale fields, row scales, zero-padded partial groups) and golden.bitserial.dot gives
the expected fp16 result of every (row, column): nothing here re-derives the arithmetic. Jobs
are plain JSON so cocotb modules can load them.
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
# activation/weight edge cases, and the output edge cases: "tiny" results that round to fp16
# subnormals (or zero), "overflow" results beyond 65504 (inf); "cancel": every other chunk's
# lanes cancel in pairs (equal large activations, opposite weights), so a zero partial with a
# large exponent meets a group sum at a small one (a zero must not coarsen the sum);
# "cancel_groups": every odd group's sum cancels exactly (equal large activations, its second
# half the negated weights of its first), so a zero group sum, whose exponent the PE leaves
# unspecified, meets a row sum at a small exponent
EDGES = ("acts", "max", "zero_acts", "subnormal", "special", "zero_groups", "zero_scale",
         "tiny", "overflow", "cancel", "cancel_groups")
MODES = ("int", "fp16")


def _acts(rng, shape, edge: str | None, lanes: int, group: int) -> np.ndarray:
    mag = 2.0 ** rng.uniform(-8, 8, shape)
    bits = (mag * rng.choice([-1.0, 1.0], shape)).astype(np.float16).view(np.uint16)
    if edge == "cancel_groups":   # small even groups, 1024.0 throughout the odd ones
        bits = _fp16(rng, shape, 2.0 ** -8, 2.0 ** -4) | rng.integers(0, 2, shape) << 15
        bits[..., (np.arange(shape[-1]) // group) % 2 == 1] = 0x6400
    elif edge == "acts":
        pick = rng.random(shape) < 0.5
        bits[pick] = rng.choice(EDGE_ACTS, int(pick.sum()))
    elif edge in ("max", "overflow"):
        bits[...] = rng.choice(np.array([0x7BFF, 0xFBFF], np.uint16), shape)
    elif edge == "zero_scale":
        bits[..., :shape[-1] // 2] = 0x7BFF
    elif edge == "zero_acts":
        bits[...] = 0
    elif edge in ("subnormal", "tiny"):
        bits[...] = rng.integers(0, 0x400, shape) | (rng.integers(0, 2, shape) << 15)
    elif edge == "cancel":     # odd chunks of `lanes` hold large pairs (a, a, b, b, ...)
        bits[...] = _fp16(rng, shape, 2.0 ** -8, 2.0 ** -4)
        odd = (np.arange(shape[-1]) // lanes) % 2 == 1
        big = _fp16(rng, shape, 2.0 ** 6, 2.0 ** 10)
        big[..., 1::2] = big[..., 0::2]
        bits[..., odd] = big[..., odd]
    return bits


def _codes(rng, fmt, g: int, edge: str | None, odd: bool = False) -> np.ndarray:
    codes = rng.choice(fmt.codes, g).astype(np.int64)
    if edge == "cancel_groups" and odd:     # w_1 .. w_h, then -w_1 .. -w_h
        pairs = _negation_pairs(fmt)
        half = np.array([pairs[i] for i in rng.integers(0, len(pairs), g // 2)], np.int64)
        return np.concatenate([half[:, 0], half[:, 1]])
    if edge == "special" and fmt.special is not None:
        codes[rng.random(g) < 0.5] = 1 << (fmt.bits - 1)
    if edge in ("max", "overflow"):
        extreme = fmt.codes[np.argsort(np.abs(fmt.decode(fmt.codes)))[-2:]]
        codes = rng.choice(extreme, g).astype(np.int64)
    if edge == "cancel":        # pairs (w, -w) of nonzero weights whose negation is a code
        pairs = _negation_pairs(fmt)
        codes = np.array([pairs[i] for i in rng.integers(0, len(pairs), g // 2)],
                         np.int64).ravel()
    return codes


def _negation_pairs(fmt) -> list[tuple[int, int]]:
    """(code of w, code of -w) for every positive weight w whose negation is a code."""
    values = list(fmt.decode(fmt.codes))
    return [(int(c), int(fmt.codes[values.index(-v)])) for c, v in zip(fmt.codes, values)
            if v > 0 and -v in values]


def _fp16(rng, shape, lo: float, hi: float) -> np.ndarray:
    """fp16 bit patterns, log-uniform magnitudes in [lo, hi]."""
    return (2.0 ** rng.uniform(np.log2(lo), np.log2(hi), shape)).astype(np.float16).view(np.uint16)


def _scales(rng, rows: int, groups: int, mode: str, edge: str | None):
    """(stored group scale fields, row scale bits): int mode u8 q and fp16 row scales; fp16
    mode the fp16 bits of the per-level scale (row scales unused: 1.0). "max" takes the largest
    integer (255) or significand (2047) with magnitudes that keep the results finite; "tiny" and
    "overflow" aim the results at fp16 subnormals and beyond 65504."""
    if mode == "int":
        fields = rng.integers(0, 256, (rows, groups))
        lo, hi = {"tiny": (2.0 ** -24, 2.0 ** -12), "overflow": (2.0 ** 10, 65504),
                  "max": (2.0 ** -24, 2.0 ** -18), "acts": (2.0 ** -24, 2.0 ** -14),
                  "zero_scale": (2.0 ** -24, 2.0 ** -14)}.get(edge, (2.0 ** -16, 2.0 ** -6))
        row = _fp16(rng, rows, lo, hi)
        if edge in ("max", "overflow"):
            fields[...] = 255
    else:
        lo, hi = {"tiny": (2.0 ** -24, 2.0 ** -4), "overflow": (2.0 ** 10, 65504),
                  "acts": (2.0 ** -24, 2.0 ** -12), "zero_scale": (2.0 ** -24, 2.0 ** -12)}.get(
            edge, (2.0 ** -20, 2.0 ** -2))
        fields = _fp16(rng, (rows, groups), lo, hi).astype(np.int64)
        if edge == "max":          # significand 2047, exponent fields 1..4
            fields = rng.integers(1, 5, (rows, groups)) << 10 | 0x3FF
        row = np.full(rows, 0x3C00)
    if edge == "zero_scale":       # scale-0 groups must not coarsen the cross-group sum
        fields[:, ::2] = 0
    return fields.astype(np.int64), row.astype(np.uint16)


def _weight(rng, scheme: str, rows: int, k: int, group: int, mode: str, edge: str | None):
    """A QuantizedWeight-shaped namespace of ``rows`` x ``k`` (the last group partial when the
    group does not divide k), as golden.bitserial.engine_weight reads it."""
    names = SCHEMES[scheme]
    groups = -(-k // group)
    ids = rng.integers(0, len(names), (rows, groups))
    codes = np.zeros((rows, groups * group), np.int64)
    for r in range(rows):
        for g in range(groups):
            fmt = formats.get(names[ids[r, g]])
            zero_group = edge == "zero_groups" and (r + g) % 2 == 0
            codes[r, g * group:(g + 1) * group] = (
                fmt.encode(np.zeros(group)) if zero_group else
                _codes(rng, fmt, group, edge, odd=g % 2 == 1))
    fields, row = _scales(rng, rows, groups, mode, edge)
    unit = float(formats.get(names[0]).unit)
    per_level = fields.astype(np.uint16).view(np.float16).astype(np.float64)
    return SimpleNamespace(
        scheme="test", shape=(rows, k), group_size=group, codes=codes[:, :k], formats=names,
        dtype_ids=ids, scale_mode=mode, zero_points=None, int_scales=fields.astype(np.uint8),
        row_scales=row.view(np.float16), scales=(per_level / unit).astype(np.float32))


def make_job(seed: int, scheme: str, rows: int, cols: int, lanes: int, group: int,
             groups: int = 2, dots: int = 2, edge: str | None = None, mode: str = "int",
             k: int | None = None) -> dict:
    """A JSON-able job: beats, expected fp16 results (per tile, per column, per row) and the
    hardware cycle counts. ``k`` < groups x group makes the last group partial."""
    rng = np.random.default_rng(seed)
    k = k or groups * group
    w_beats, a_beats, expected = [], [], []
    for _ in range(dots):
        ew = bs.engine_weight(_weight(rng, scheme, rows, k, group, mode, edge), lanes)
        acts = ew.pad_acts(_acts(rng, (cols, k), edge, lanes, group).astype(np.int64))
        expected.append([[bs.dot(acts[c], ew, r) for r in range(rows)] for c in range(cols)])
        k_pad = ew.codes.shape[1]
        for c0 in range(0, k_pad, lanes):
            g = c0 // group
            row_beats = []
            for r in range(rows):
                table = ew.tables[ew.fmt_index[r, g]]
                b = formats.get(table.name).bits
                packed = sum(int(ew.codes[r, c0 + j]) << (j * b) for j in range(lanes))
                row_beats.append({"codes": packed, "fmt": bs.hw_index(table.name),
                                  "scale": int(ew.scale_fields[r, g]),
                                  "row_scale": int(ew.row_scale_bits[r])})
            w_beats.append({"rows": row_beats, "first": int(c0 % group == 0),
                            "last": int((c0 + lanes) % group == 0),
                            "dot_last": int(c0 + lanes == k_pad),
                            "fp16_scale": int(mode == "fp16")})
            a_beats.append([[int(v) for v in acts[c, c0:c0 + lanes]] for c in range(cols)])
    slots = max(bs.term_table(n).slots for n in SCHEMES[scheme])
    return {"scheme": scheme, "mode": mode, "edge": edge, "w": w_beats, "a": a_beats,
            "expected": expected, "slots": slots, "cycles_per_group": group // lanes * slots}


def dump(jobs: list[dict], path) -> None:
    with open(path, "w") as f:
        json.dump(jobs, f)


def edge_jobs(rows: int, cols: int, lanes: int, group: int, schemes, seed: int) -> list[dict]:
    """Every edge case in both scale modes for each of ``schemes``."""
    return [make_job(seed + i, scheme, rows, cols, lanes, group, edge=edge, mode=mode)
            for i, (scheme, edge, mode) in enumerate(
                (s, e, m) for s in schemes for e in EDGES for m in MODES)]


def array_jobs(p) -> list[dict]:
    """The array bench's vectors: every scheme in both scale modes (3 groups, 2 tiles), edge
    activations, and the shipped policies' group of 128 with a partial last group (K = 320, as
    SmolLM2's 576 ends with half a group); shared by the flat and the hierarchical array."""
    jobs = [make_job(300 + i, scheme, p.rows, p.cols, p.lanes, p.group_size, groups=3, mode=mode)
            for i, (scheme, mode) in enumerate((s, m) for s in SCHEMES for m in MODES)]
    jobs.append(make_job(399, "bitmod4", p.rows, p.cols, p.lanes, p.group_size, edge="acts"))
    jobs += [make_job(398 - i, scheme, p.rows, p.cols, p.lanes, 128, groups=3, dots=1,
                      mode="fp16", k=320) for i, scheme in enumerate(("bitmod4", "bitmod3"))]
    return jobs


def cocotb_env(target: str, jobs: list[dict], path, p) -> dict[str, str]:
    """Environment for cocotb_bitmod.py: the jobs (written to ``path``), target and params."""
    dump(jobs, path)
    fields = {f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name != "dp"}
    return {"BITMOD_JOBS": str(path), "BITMOD_TARGET": target, "BITMOD_PARAMS": json.dumps(fields)}


def tiles(beats: list[tuple[int, list[int], int]]) -> list[list[list[int]]]:
    """Output beats (cycle, fp16 per row, last) -> per tile the list of column results."""
    out, tile = [], []
    for _, rows, last in beats:
        tile.append(rows)
        if last:
            out.append(tile)
            tile = []
    return out


def check_run(job: dict, beats: list, accepts: list[int], result_latency: int,
              latency: int) -> None:
    """Exact results, one chunk every ``slots`` cycles, the group's cycle count, and the first
    and last beat of the first tile at ``result_latency`` / ``latency`` after its last chunk."""
    name = f"{job['scheme']} {job['mode']} {job['edge']}"
    assert tiles(beats) == job["expected"], f"{name}: {tiles(beats)} != {job['expected']}"
    gaps = {b - a for a, b in zip(accepts, accepts[1:])}
    assert gaps == {job["slots"]}, f"{name}: chunk every {gaps} cycles"
    per_group = next(i for i, w in enumerate(job["w"]) if w["last"]) + 1
    measured = accepts[per_group] - accepts[0]      # first chunk of group 0 to that of group 1
    assert measured == job["cycles_per_group"], f"{name}: {measured} cycles per group"
    chunks = len(job["w"]) // len(job["expected"])
    cols = len(job["expected"][0])
    assert beats[0][0] - accepts[chunks - 1] == result_latency, (beats[0][0], accepts)
    assert beats[cols - 1][0] - accepts[chunks - 1] == latency, (beats[cols - 1][0], accepts)

"""Host-side pass schedule: N:M weights and INT8 activations -> CSD passes, and results -> matmul.

This is the feeder the compiler will drive (and what the benches use): it decides which kept pair
goes to which slice, following the dataflow in docs/rtl/csd.md. For a block with N kept per row:
* N <= slices: a pass holds ``R = slices / N`` consecutive rows of the block, row j on slices
  ``j*N .. j*N + N-1``; 16 / R passes cover the 16 rows.
* N > slices (packed chains of 8 DSPs with dense blocks): a row takes ``N / slices`` passes, each a
  partial sum that the output accumulator adds.
* Row-packed (packed chains, a token group of one token, a dense N = M block): the pass carries
  twice its rows, lane 0's in ``w`` and lane 1's in ``w2``, so one token keeps both MACs of
  every DSP busy (docs/rtl/csd.md, "Row-packed MV").
Blocks with N = 0 are skipped. Accumulation over k-blocks (and the optional INT32 bias) happens in
:func:`assemble`, i.e. in the output buffer after the chain.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import ChainGeometry
from .layouts import chain_in_layout, chain_out_layout, mpu_in_layout, mpu_out_layout


@dataclass
class Pass:
    """One chain input beat and where its results go."""
    act: list[list[int]]              # [token][m]
    w: list[int]                      # [slice], signed 8-bit (INT4 in the low nibble when w4)
    idx: list[int]                    # [slice]
    nlog: int
    w4: int
    tokens: list[int]                 # token id of each packed lane (may repeat when padding)
    rows: list[int] = field(default_factory=list)   # output row of result j
    last: int = 0                     # closes its row block (row accumulator order only)
    w2: list[int] | None = None       # row-packed (rows2): lane 1's rows' weights [slice]

    @property
    def rows2(self) -> bool:
        return self.w2 is not None

    def lane(self) -> dict:
        lane = {"w": self.w, "idx": self.idx, "nlog": self.nlog, "w4": self.w4, "last": self.last}
        if self.rows2:
            lane.update(rows2=1, w2=self.w2)
        return lane


def idle_pass(geo: ChainGeometry, act: list[list[int]], tokens: list[int]) -> Pass:
    """A pass with zero weights: keeps lock-stepped VPUs busy without producing results."""
    return Pass(act=act, w=[0] * geo.slices, idx=[0] * geo.slices,
                nlog=max(geo.n_options).bit_length() - 1, w4=0, tokens=tokens, rows=[])


def _weight_byte(value: int, w4: bool, salt: int) -> int:
    """INT4 weights go in the low nibble; the high nibble carries junk the chain must ignore."""
    if not w4:
        return int(value)
    raw = (int(value) & 0xF) | ((salt * 0x5) & 0xF) << 4
    return raw - 256 if raw >= 128 else raw


def chain_passes(geo: ChainGeometry, sp, x: np.ndarray, row_pack: bool = True) -> list[Pass]:
    """All passes of ``x [T, K] @ W.T`` for one chain, k-block by k-block, token group by group
    (``row_pack`` False: a lone token's dense blocks leave the second lane idle instead)."""
    if sp.bits is None:
        raise ValueError("sp: the CSD chain needs integer weights (NMSparse.quantize_int first)")
    n_out, k = sp.shape
    if x.shape[1] != k:
        raise ValueError(f"x: expected [T, {k}] activations, got {tuple(x.shape)}")
    w4 = sp.bits == 4
    passes = []
    for t0 in range(0, x.shape[0], geo.tokens):
        toks = [min(t0 + t, x.shape[0] - 1) for t in range(geo.tokens)]
        for kb in range(k // sp.m):
            act = [[int(v) for v in x[t, kb * sp.m:(kb + 1) * sp.m]] for t in toks]
            for br in range(n_out // sp.block):
                n = int(sp.block_n[br, kb])
                if n == 0:
                    continue
                passes.extend(_block_passes(geo, sp, act, toks, br, kb, n, w4, row_pack))
    return passes


def _block_passes(geo, sp, act, toks, br, kb, n, w4, row_pack=True) -> list[Pass]:
    seg, per_pass = geo.segment(n), geo.results_per_pass(n)
    rows2 = row_pack and geo.packed and len(set(toks)) == 1 and n == sp.m
    rows = list(range(br * sp.block, (br + 1) * sp.block))
    out = []
    step = 2 * per_pass if rows2 else per_pass
    for r0 in range(0, len(rows), step):
        for part in range(geo.passes_per_row(n)):
            chunk = slice(part * seg, (part + 1) * seg)

            def pairs(lane_rows):
                w, idx = [], []
                for row in lane_rows:
                    values, indices = sp.kept(row, kb)
                    w += [_weight_byte(v, w4, row + q) for q, v in enumerate(values[chunk])]
                    idx += [int(i) for i in indices[chunk]]
                return w, idx
            lane0, lane1 = rows[r0:r0 + per_pass], rows[r0 + per_pass:r0 + step]
            w, idx = pairs(lane0)
            # a dense block: lane 1's rows use the same positions, so only their weights travel
            out.append(Pass(act=act, w=w, idx=idx, nlog=n.bit_length() - 1, w4=int(w4),
                            tokens=list(toks), rows=lane0 + lane1,
                            w2=pairs(lane1)[0] if rows2 else None))
    return out


def row_block_passes(geo: ChainGeometry, sp, x: np.ndarray,
                     row_pack: bool = True) -> list[tuple[list[int], int, list[Pass]]]:
    """Passes in row-accumulator order: per token group and row block, every k-block's passes,
    the last one flagged ``last``. A row block whose blocks are all N = 0 gets one idle pass, so
    the accumulator still emits its bias. Returns (tokens, row block, passes) triples."""
    if sp.bits is None:
        raise ValueError("sp: the CSD chain needs integer weights (NMSparse.quantize_int first)")
    n_out, k = sp.shape
    out = []
    for t0 in range(0, x.shape[0], geo.tokens):
        toks = [min(t0 + t, x.shape[0] - 1) for t in range(geo.tokens)]
        for br in range(n_out // sp.block):
            passes = []
            for kb in range(k // sp.m):
                n = int(sp.block_n[br, kb])
                act = [[int(v) for v in x[t, kb * sp.m:(kb + 1) * sp.m]] for t in toks]
                if n:
                    passes.extend(_block_passes(geo, sp, act, toks, br, kb, n, sp.bits == 4,
                                                row_pack))
            if not passes:
                passes = [idle_pass(geo, [[0] * sp.m for _ in toks], toks)]
            passes[-1].last = 1
            out.append((toks, br, passes))
    return out


def mpu_beats(geo: ChainGeometry, vpus: int, passes: list[Pass]) -> list[list[Pass]]:
    """Group passes that share activations into beats of ``vpus`` lanes (idle-padded)."""
    beats, current = [], []
    for p in passes:
        if current and (current[0].act != p.act or len(current) == vpus):
            beats.append(current + [idle_pass(geo, current[0].act, current[0].tokens)] *
                         (vpus - len(current)))
            current = []
        current.append(p)
    if current:
        beats.append(current + [idle_pass(geo, current[0].act, current[0].tokens)] *
                     (vpus - len(current)))
    return beats


def chain_payload(geo: ChainGeometry, p: Pass) -> int:
    return chain_in_layout(geo).const({"act": p.act, "lane": p.lane()}).as_bits()


def mpu_payload(geo: ChainGeometry, beat: list[Pass]) -> int:
    layout = mpu_in_layout(geo, len(beat))
    return layout.const({"act": beat[0].act, "lanes": [p.lane() for p in beat]}).as_bits()


def decode_chain_out(geo: ChainGeometry, bits: int) -> list[list[int]]:
    """``res[token][j]`` of one chain output beat given as raw payload bits."""
    c = chain_out_layout(geo).from_bits(bits)
    return [[c["res"][t][j] for j in range(geo.max_results)] for t in range(geo.tokens)]


def decode_mpu_out(geo: ChainGeometry, vpus: int, bits: int) -> list[list[list[int]]]:
    """Per VPU ``res[token][j]`` of one MPU output beat."""
    c = mpu_out_layout(geo, vpus).from_bits(bits)
    return [[[c["vpu"][v]["res"][t][j] for j in range(geo.max_results)]
             for t in range(geo.tokens)] for v in range(vpus)]


def assemble(geo: ChainGeometry, passes: list[Pass], results: list[list[list[int]]],
             shape: tuple[int, int], bias: np.ndarray | None = None) -> np.ndarray:
    """Output buffer: sum each pass's ``results[pass][token][j]`` into ``out [T, N_out]`` (INT32)."""
    out = np.zeros(shape, dtype=np.int64)
    if bias is not None:
        out += np.asarray(bias, dtype=np.int64)[None, :]
    for p, res in zip(passes, results, strict=True):
        if p.rows2:
            per = len(p.rows) // 2
            for j, row in enumerate(p.rows):
                out[p.tokens[0], row] += res[j // per][j % per]
            continue
        done = set()
        for lane, tok in enumerate(p.tokens):
            if tok in done:          # padding lane of an odd token count
                continue
            done.add(tok)
            for j, row in enumerate(p.rows):
                out[tok, row] += res[lane][j]
    return ((out + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)

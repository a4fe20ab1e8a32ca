"""Block-sparse causal attention masks (FlightLLM prefill attention, 64-token mask blocks).

A mask has a *layout*: boolean ``[heads, nb, nb]`` over (query block, key block), ``nb =
ceil(seq_len / block)``. Only causal blocks (key block <= query block) may be kept, and every
diagonal block is kept so that each query attends to at least itself (a fully masked softmax row
would be undefined). The *element* mask allows query q to attend key j iff ``j <= q`` and the block
``(q // block, j // block)`` is kept; a last, partial block is simply cut at ``seq_len``. The
accelerator's scheduler skips the blocks the layout drops; the golden attention applies the
element mask.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BlockPattern:
    """A structured keep pattern for one head, in blocks.

    ``local``: keep key blocks ``i - local + 1 .. i`` for query block i (a sliding window; None
    keeps every causal block). ``sink``: always keep the first ``sink`` key blocks (global /
    attention-sink columns, as in StreamingLLM and BigBird-style global tokens).
    """
    local: int | None = None
    sink: int = 0

    def __post_init__(self) -> None:
        if self.local is not None and (not isinstance(self.local, int) or self.local < 1):
            raise ValueError(f"local: must be None or an integer >= 1, got {self.local!r}")
        if not isinstance(self.sink, int) or self.sink < 0:
            raise ValueError(f"sink: must be an integer >= 0, got {self.sink!r}")

    def layout(self, n_blocks: int) -> np.ndarray:
        qb = np.arange(n_blocks)[:, None]
        kb = np.arange(n_blocks)[None, :]
        causal = kb <= qb
        window = causal if self.local is None else (qb - kb < self.local)
        return causal & (window | (kb < self.sink))


@dataclass(frozen=True, eq=False)
class BlockMask:
    """A block-sparse causal mask: ``layout [heads, nb, nb]`` of kept blocks (module docstring)."""
    layout: np.ndarray
    seq_len: int
    block: int

    @property
    def heads(self) -> int:
        return self.layout.shape[0]

    @property
    def n_blocks(self) -> int:
        return self.layout.shape[1]

    @property
    def density(self) -> float:
        """Fraction of the causal (lower-triangle) blocks that are kept, over all heads."""
        nb = self.n_blocks
        return float(self.layout.sum()) / (self.heads * nb * (nb + 1) // 2)

    def kept_blocks(self) -> np.ndarray:
        """Kept blocks as int64 rows ``(head, query_block, key_block)`` in that sort order."""
        return np.argwhere(self.layout)

    def dense(self, head: int | None = None) -> torch.Tensor:
        """Element mask, torch.bool ``[heads, seq_len, seq_len]`` (or ``[seq_len, seq_len]`` for one
        head); True = the query may attend the key (the convention of
        ``torch.nn.functional.scaled_dot_product_attention``)."""
        chosen = self.layout if head is None else self.layout[head][None]
        layout = torch.from_numpy(chosen.copy())
        s = self.seq_len
        blocks = layout.repeat_interleave(self.block, 1).repeat_interleave(self.block, 2)[:, :s, :s]
        out = blocks & torch.ones(s, s, dtype=torch.bool).tril()
        return out if head is None else out[0]

    def additive(self, dtype: torch.dtype = torch.float32, head: int | None = None) -> torch.Tensor:
        """0 where allowed and -inf where masked, to add to attention scores before softmax."""
        allowed = self.dense(head)
        out = torch.zeros(allowed.shape, dtype=dtype)
        return out.masked_fill_(~allowed, float("-inf"))


def _check_layout(layout: np.ndarray, n_blocks: int) -> np.ndarray:
    layout = np.asarray(layout)
    if layout.dtype != bool:
        raise ValueError(f"keep: a layout array must be boolean, got {layout.dtype}")
    if layout.ndim == 2:
        layout = layout[None]
    if layout.ndim != 3 or layout.shape[1:] != (n_blocks, n_blocks):
        raise ValueError(f"keep: expected a layout of shape [heads,] {n_blocks} x {n_blocks}, got "
                         f"{layout.shape}")
    upper = np.triu(np.ones((n_blocks, n_blocks), dtype=bool), 1)
    bad = np.argwhere(layout & upper)
    if bad.size:
        h, q, k = bad[0]
        raise ValueError(f"keep: block (head {h}, query block {q}, key block {k}) lies above the "
                         "causal diagonal")
    diag = np.argwhere(~layout[:, np.arange(n_blocks), np.arange(n_blocks)])
    if diag.size:
        h, q = diag[0]
        raise ValueError(f"keep: diagonal block (head {h}, block {q}) is dropped; its queries "
                         "would attend to nothing")
    return layout


def layout_from_scores(probs, block: int = 64, density: float = 0.5) -> np.ndarray:
    """A calibrated layout: per head, the causal blocks holding the most attention mass.

    ``probs``: attention probabilities ``[heads, seq, seq]`` (or ``[seq, seq]``) from a calibration
    run. Each causal block scores the sum of its probabilities; per head the diagonal blocks are
    always kept and the other causal blocks are added in decreasing score order (ties: row-major,
    earlier first) until at least ``density`` of the head's causal blocks are kept. Pass the result
    as ``keep`` to ``causal_block_mask``.
    """
    p = probs.detach().cpu() if isinstance(probs, torch.Tensor) else np.asarray(probs)
    p = p[None] if p.ndim == 2 else p
    if p.ndim != 3 or p.shape[1] != p.shape[2]:
        raise ValueError(f"probs: expected [heads, seq, seq], got {tuple(p.shape)}")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block: must be a positive integer, got {block!r}")
    if not 0 <= density <= 1:
        raise ValueError(f"density: must lie in [0, 1], got {density!r}")
    heads, seq, _ = p.shape
    nb = -(-seq // block)
    mass = np.zeros((heads, nb, nb))
    for h in range(heads):                  # one head at a time: a float64 copy of all is large
        padded = np.zeros((nb * block, nb * block))
        padded[:seq, :seq] = np.tril(np.asarray(p[h], dtype=np.float64))
        mass[h] = padded.reshape(nb, block, nb, block).sum(axis=(1, 3))
    eye = np.eye(nb, dtype=bool)
    candidate = np.tril(np.ones((nb, nb), dtype=bool)) & ~eye
    extra = max(int(np.ceil(density * nb * (nb + 1) / 2 - 1e-9)) - nb, 0)
    score = np.where(candidate, mass, -np.inf).reshape(heads, nb * nb)
    order = np.argsort(-score, axis=1, kind="stable")[:, :extra]
    layout = np.broadcast_to(eye.ravel(), (heads, nb * nb)).copy()
    np.put_along_axis(layout, order, True, axis=1)
    return layout.reshape(heads, nb, nb)


def causal_block_mask(seq_len: int, block: int = 64,
                      keep: BlockPattern | Sequence[BlockPattern] | np.ndarray | None = None,
                      heads: int | None = None) -> BlockMask:
    """Block-sparse causal mask for ``seq_len`` tokens in ``block``-token blocks.

    ``keep``: None (every causal block: the plain causal mask), one ``BlockPattern`` for all
    heads, a sequence of patterns (one per head), or an explicit boolean layout ``[nb, nb]`` or
    ``[heads, nb, nb]``. ``heads`` repeats a single pattern or 2-D layout over that many heads.
    """
    if not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len: must be a positive integer, got {seq_len!r}")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block: must be a positive integer, got {block!r}")
    nb = -(-seq_len // block)
    if keep is None:
        keep = BlockPattern()
    if isinstance(keep, BlockPattern):
        layout = keep.layout(nb)[None]
    elif isinstance(keep, np.ndarray):
        layout = _check_layout(keep, nb)
    elif isinstance(keep, Sequence) and keep and all(isinstance(p, BlockPattern) for p in keep):
        layout = np.stack([p.layout(nb) for p in keep])
    else:
        raise ValueError("keep: expected None, a BlockPattern, a list of them or a boolean "
                         f"layout, got {type(keep).__name__}")
    if heads is not None:
        if not isinstance(heads, (int, np.integer)) or heads < 1:
            raise ValueError(f"heads: must be a positive integer, got {heads!r}")
        if layout.shape[0] == 1:
            layout = np.repeat(layout, heads, axis=0)
        elif layout.shape[0] != heads:
            raise ValueError(f"heads: {heads} disagrees with the {layout.shape[0]} per-head "
                             "patterns")
    layout = np.ascontiguousarray(layout)
    layout.setflags(write=False)
    return BlockMask(layout=layout, seq_len=int(seq_len), block=int(block))

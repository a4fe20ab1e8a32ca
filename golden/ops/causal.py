"""Which score columns the causal SOFTMAX sees (docs/isa.md, MISC SOFTMAX; docs/numerics.md).

The ISA simulator, the RTL bench and the golden model share this one definition. A program step
runs with the launch arguments ``pos0`` (tokens already in the KV cache) and ``ntok`` (valid
tokens of the step); a SOFTMAX instruction covers ``rows`` score rows of ``cols`` key columns,
row 0 being the step's token ``pos``, and ``period`` (``imm``; 0 = every row) rows per head, so
that row ``r`` is token ``pos + (r mod period)``. Column ``c`` of row ``r`` is visible when

    c < pos0 + ntok    and    c <= pos0 + pos + (r mod period)

so the visible columns of a row are always a prefix of it.
"""
from __future__ import annotations

import numpy as np


def visible(rows: int, cols: int, pos0: int, ntok: int, pos: int, period: int) -> np.ndarray:
    """bool [rows, cols]: True where the causal SOFTMAX sees the column."""
    if min(rows, cols, pos0, ntok, pos, period) < 0:
        raise ValueError("causal.visible: every argument must be non-negative")
    r = np.arange(rows) % (period or max(rows, 1))
    last = pos0 + pos + r                               # the row's own position
    c = np.arange(cols)
    return (c[None, :] < pos0 + ntok) & (c[None, :] <= last[:, None])

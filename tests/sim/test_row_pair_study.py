"""The row-pair mask study's agreement measure (sim/bench/row_pair_masks.py) on hand-made rows."""
import numpy as np
import pytest

from bitflight.golden import sparse
from bitflight.sim.bench.row_pair_masks import agreement


def test_agreement_counts_the_positions_both_rows_keep():
    w = np.zeros((2, 32), np.float32)
    w[0, [0, 1, 16, 17]] = 5.0          # row 0 keeps 0, 1 | 16, 17 at N = 2
    w[1, [1, 2, 16, 17]] = 5.0          # row 1 keeps 1, 2 | 16, 17
    w += np.linspace(0.01, 0.02, 32, dtype=np.float32)
    sp = sparse.prune_nm(w, n=2, block=2)
    assert agreement(sp) == pytest.approx(3 / 4)
    assert agreement(sparse.prune_nm(w, n=2, block=2, row_pairs=True)) == 1.0

"""Block-sparse causal attention masks: layouts, element masks, per-head patterns, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bitflight.golden import sparse
from bitflight.golden.sparse import BlockPattern, causal_block_mask


@pytest.mark.parametrize("seq_len", (1, 63, 64, 65, 200, 256))
def test_default_is_plain_causal(seq_len):
    mask = causal_block_mask(seq_len)
    assert mask.n_blocks == -(-seq_len // 64) and mask.heads == 1 and mask.density == 1.0
    expected = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
    assert torch.equal(mask.dense(), expected[None]) and torch.equal(mask.dense(0), expected)


def test_local_window_and_sink_hand_worked():
    mask = causal_block_mask(5 * 64, keep=BlockPattern(local=2, sink=1))
    expected = np.array([[1, 0, 0, 0, 0],
                         [1, 1, 0, 0, 0],
                         [1, 1, 1, 0, 0],
                         [1, 0, 1, 1, 0],
                         [1, 0, 0, 1, 1]], dtype=bool)
    assert np.array_equal(mask.layout[0], expected)
    assert mask.density == 12 / 15
    assert mask.kept_blocks()[:4].tolist() == [[0, 0, 0], [0, 1, 0], [0, 1, 1], [0, 2, 0]]


def test_element_mask_from_layout():
    mask = causal_block_mask(150, block=64, keep=BlockPattern(local=1))   # diagonal blocks only
    d = mask.dense(0).numpy()
    for q in range(150):
        for k in range(150):
            assert d[q, k] == (k <= q and k // 64 == q // 64)


def test_per_head_patterns_and_heads_broadcast():
    pats = [BlockPattern(), BlockPattern(local=1), BlockPattern(local=1, sink=2)]
    mask = causal_block_mask(256, keep=pats)
    assert mask.heads == 3
    for h, p in enumerate(pats):
        assert np.array_equal(mask.layout[h], p.layout(4))
    rep = causal_block_mask(256, keep=BlockPattern(local=2), heads=4)
    assert rep.layout.shape == (4, 4, 4) and np.all(rep.layout == rep.layout[0])
    with pytest.raises(ValueError, match="heads: 2 disagrees with the 3"):
        causal_block_mask(256, keep=pats, heads=2)


def test_explicit_layout_validation():
    good = np.tril(np.ones((3, 3), dtype=bool))
    good[2, 0] = False
    mask = causal_block_mask(130, keep=good, heads=2)
    assert mask.layout.shape == (2, 3, 3) and not mask.layout[1, 2, 0]
    upper = good.copy()
    upper[0, 1] = True
    with pytest.raises(ValueError,
                       match=r"keep: block \(head 0, query block 0, key block 1\) lies above"):
        causal_block_mask(130, keep=upper)
    nodiag = good.copy()
    nodiag[1, 1] = False
    with pytest.raises(ValueError, match=r"keep: diagonal block \(head 0, block 1\) is dropped"):
        causal_block_mask(130, keep=nodiag)
    with pytest.raises(ValueError, match="keep: expected a layout of shape"):
        causal_block_mask(130, keep=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="keep: a layout array must be boolean"):
        causal_block_mask(130, keep=np.ones((3, 3)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(seq_len=0), "seq_len: must be a positive integer"),
    (dict(seq_len=64, block=0), "block: must be a positive integer"),
    (dict(seq_len=64, keep="local"), "keep: expected None, a BlockPattern"),
    (dict(seq_len=64, heads=0), "heads: must be a positive integer"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        causal_block_mask(**kwargs)


def test_pattern_errors():
    with pytest.raises(ValueError, match="local: must be None or an integer >= 1"):
        BlockPattern(local=0)
    with pytest.raises(ValueError, match="sink: must be an integer >= 0"):
        BlockPattern(sink=-1)


def test_masks_drive_attention_like_a_gather():
    """SDPA with the boolean mask (and softmax with the additive mask) equals attention computed per
    query over only the allowed keys."""
    torch.manual_seed(0)
    seq, d = 130, 8
    pats = [BlockPattern(local=2, sink=1), BlockPattern(local=1)]
    mask = causal_block_mask(seq, block=32, keep=pats)
    q, k, v = (torch.randn(2, seq, d, dtype=torch.float64) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.dense())
    scores = q @ k.transpose(-1, -2) / d ** 0.5 + mask.additive(torch.float64)
    assert torch.allclose(out, torch.softmax(scores, -1) @ v, atol=1e-12)
    dense = mask.dense()
    for h in range(2):
        for i in (0, 31, 32, 95, 129):
            keys = torch.nonzero(dense[h, i]).ravel()
            p = torch.softmax(q[h, i] @ k[h, keys].T / d ** 0.5, -1)
            assert torch.allclose(out[h, i], p @ v[h, keys], atol=1e-12)
    assert sparse.BlockMask is type(mask)


def test_layout_from_scores_hand_worked():
    probs = np.zeros((2, 256, 256))
    probs[:, np.arange(256), np.arange(256)] = 0.01
    probs[0, 200, 10] = 0.9                     # block (3, 0)
    probs[0, 150, 70] = 0.5                     # block (2, 1)
    probs[0, 100, 5] = 0.1                      # block (1, 0): third, not kept at density 0.6
    layout = sparse.layout_from_scores(torch.from_numpy(probs), block=64, density=0.6)
    expected = np.eye(4, dtype=bool)
    expected[3, 0] = expected[2, 1] = True
    assert np.array_equal(layout[0], expected)
    # head 1 has no off-diagonal mass: ties go row-major, (1, 0) then (2, 0)
    expected1 = np.eye(4, dtype=bool)
    expected1[1, 0] = expected1[2, 0] = True
    assert np.array_equal(layout[1], expected1)
    mask = causal_block_mask(256, keep=layout)
    assert mask.heads == 2 and mask.density == 0.6
    assert np.array_equal(sparse.layout_from_scores(probs[0], density=0.0)[0], np.eye(4, dtype=bool))
    assert np.array_equal(sparse.layout_from_scores(probs, density=1.0),
                          np.broadcast_to(np.tril(np.ones((4, 4), dtype=bool)), (2, 4, 4)))


def test_layout_from_scores_keeps_the_heaviest_blocks():
    torch.manual_seed(1)
    seq = 300                                   # a partial last block
    scores = torch.randn(3, seq, seq) * 3
    probs = torch.softmax(scores.masked_fill(~torch.ones(seq, seq, dtype=torch.bool).tril(),
                                             float("-inf")), -1)
    layout = sparse.layout_from_scores(probs, block=64, density=0.5)
    nb = 5
    assert layout.shape == (3, nb, nb)
    need = int(np.ceil(0.5 * 15))
    pad = torch.zeros(3, nb * 64, nb * 64, dtype=torch.float64)
    pad[:, :seq, :seq] = probs.double()
    mass = pad.reshape(3, nb, 64, nb, 64).sum((2, 4)).numpy()
    off = np.tril(np.ones((nb, nb), dtype=bool), -1)
    for h in range(3):
        assert layout[h].sum() == need and np.all(np.diag(layout[h]))
        kept, dropped = mass[h][off & layout[h]], mass[h][off & ~layout[h]]
        assert kept.min() >= dropped.max()
    causal_block_mask(seq, keep=layout)         # a valid layout


def test_layout_from_scores_errors():
    with pytest.raises(ValueError, match=r"probs: expected \[heads, seq, seq\]"):
        sparse.layout_from_scores(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="density: must lie in"):
        sparse.layout_from_scores(np.zeros((4, 4)), density=1.5)
    with pytest.raises(ValueError, match="block: must be a positive integer"):
        sparse.layout_from_scores(np.zeros((4, 4)), block=0)

"""FlightLLM N:M weight sparsity and block-sparse attention masks (golden definitions).

- ``prune_nm`` / ``allocate_block_n``: N:M magnitude pruning, M = 16, one N per 16x16 block
  (prune.py)
- ``NMSparse``: the container with ``to_dense``, ``kept``, ``pack``/``unpack``
  (nmsparse.py, packing.py)
- ``beats``: the pair stream cut into the 16-pair beats a 16-MAC CSD chain consumes per cycle
- ``quantize_int``: INT8/INT4 values for hardware, golden.quant int_sym per row (intquant.py)
- ``matmul``: packed INT weights x INT8 activations -> INT32, by index gather (matmul.py)
- ``causal_block_mask``, ``layout_from_scores``: 64-token block-sparse causal attention masks,
  structured or calibrated from attention probabilities (attention.py)

docs/sparsity.md describes the scheme and the packed layout bit by bit.
"""
from .attention import BlockMask, BlockPattern, causal_block_mask, layout_from_scores
from .intquant import quantize_int
from .matmul import matmul
from .nmsparse import NMSparse, unpack
from .packing import Beats, beats, pack
from .prune import DEFAULT_N_OPTIONS, allocate_block_n, prune_nm

__all__ = ["Beats", "BlockMask", "BlockPattern", "DEFAULT_N_OPTIONS", "NMSparse",
           "allocate_block_n", "beats", "causal_block_mask", "layout_from_scores", "matmul", "pack",
           "prune_nm", "quantize_int", "unpack"]

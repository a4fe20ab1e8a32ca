"""Accelerator-numerics ops: the definition (docs/numerics.md) that the ISA simulator and the RTL
reuse. Every number is a fixed sequence of IEEE binary32 operations on numpy arrays.

Row functions on raw numpy arrays (the API of the RTL benches):

- :mod:`.binary32` — the elementary operations: fp16 rounding ``h``, widening ``f``, canonical
  NaNs, the fixed reduction ``tree`` (and its streaming form), the totalOrder ``amax``, ``rint``.
- :mod:`.expo` — the exp unit ``E(t)`` (``exp_nonpos``), its 65-entry table and constants.
- :mod:`.sfu` — every MISC op per row: ADD, MUL, SCALE, COPY, SILU, SWIGLU, ROPE, RMSNORM,
  SOFTMAX (explicit visibility), REQUANT.
- :mod:`.causal` — the causal visibility of a SOFTMAX instruction (pos0, ntok, pos, period).
- :mod:`.products` — ``tree_matmul`` (the fp32 adder-tree product), exact ``int_dot`` (INT32,
  overflow is an error), ``fp16_linear``.
- :mod:`.rope_table` — the host-side RoPE tables (float64 ``math``, rounded once to fp16).

Torch-facing ops of the golden LLM (tensors in, fp16 tensors out, computed by the above):

- :mod:`.fp16` — RMSNorm, softmax, SwiGLU, SiLU, MUL, RoPE, residual add.
- :mod:`.act_int8` — per-token symmetric INT8 activations (REQUANT).
- :mod:`.int_matmul` — FlightLLM linears: ``accumulate`` (exact INT32) + ``requantize``.
- :mod:`.bitmod_linear` — BitMoD linears (golden.bitserial), fp16-weight linears.
- :mod:`.attention` — attention products (fp16 and INT8), the int8 KV cache.

Error bounds against float64, derived in docstrings and tested: :mod:`.sfu_bounds`,
:mod:`.attention_bounds`, :mod:`.int_matmul_bounds` (the only modules here that compute in
float64; they are references, never executed by an engine).
"""
from .act_int8 import dequantize_per_token, quantize_per_token
from .attention import (attention_fp16, attention_int8, kv_int8, kv_unpack, kv_values,
                        score_fp16, score_int8, score_scale, value_fp16, value_int8)
from .bitmod_linear import linear_bitmod
from .fp16 import (add_fp16, mul_fp16, rmsnorm_fp16, rope_fp16, silu_fp16, softmax_fp16,
                   swiglu_fp16, to_fp16)
from .int_matmul import accumulate, int_linear, requantize, sparse_linear
from .products import fp16_linear, int_dot, tree_matmul

__all__ = ["accumulate", "add_fp16", "attention_fp16", "attention_int8", "dequantize_per_token",
           "fp16_linear", "int_dot", "int_linear", "kv_int8", "kv_unpack", "kv_values",
           "linear_bitmod", "mul_fp16", "quantize_per_token", "requantize", "rmsnorm_fp16",
           "rope_fp16", "score_fp16", "score_int8", "score_scale", "silu_fp16", "softmax_fp16",
           "sparse_linear", "swiglu_fp16", "to_fp16", "tree_matmul", "value_fp16", "value_int8"]

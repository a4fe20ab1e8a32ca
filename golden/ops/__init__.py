"""Accelerator-numerics ops: the specification that the ISA simulator and the RTL reuse.

Each op is a small function with a float counterpart and a derived error bound against it
(docstrings; tests/golden/test_ops*.py check every bound).

- :mod:`.fp16` — the fp16 SFU / vector ops (RMSNorm, softmax, SwiGLU, RoPE, residual add):
  fp16 in, float32 inside, fp16 out (round to nearest even).
- :mod:`.act_int8` — per-token symmetric INT8 activations (absmax / 127).
- :mod:`.int_matmul` — FlightLLM linears: INT8 activations x INT weights, INT32 accumulation
  (dense, or N:M sparse via golden.sparse.matmul), requantization to fp16.
- :mod:`.bitmod_linear` — BitMoD linears: fp16 activations x any bit-serial quantized weight
  through golden.bitserial.linear.
- :mod:`.attention` — attention in fp16 (BitMoD engine) and with INT8 Q/K/V/P (FlightLLM), its
  score and value products (defined summation order, exact under any row tiling), and the int8
  KV-cache storage.
"""
from .act_int8 import dequantize_per_token, quantize_per_token
from .attention import (attention_fp16, attention_int8, kv_int8, score_fp16, score_int8,
                        sum_fp32, value_fp16, value_int8)
from .bitmod_linear import linear_bitmod
from .fp16 import add_fp16, rmsnorm_fp16, rope_fp16, softmax_fp16, swiglu_fp16, to_fp16
from .int_matmul import int_linear, requantize, sparse_linear

__all__ = ["add_fp16", "attention_fp16", "attention_int8", "dequantize_per_token", "int_linear",
           "kv_int8", "linear_bitmod", "quantize_per_token", "requantize", "rmsnorm_fp16",
           "rope_fp16", "score_fp16", "score_int8", "softmax_fp16", "sparse_linear", "sum_fp32",
           "swiglu_fp16", "to_fp16", "value_fp16", "value_int8"]

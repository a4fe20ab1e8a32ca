"""Bit-accurate model of the BitMoD bit-serial engine (docs/references.md#bitmod-2;
docs/rtl/bitmod.md).

* :mod:`.params`  — widths, the internal (mantissa, exponent) format, fp16 field decoding
* :mod:`.terms`   — weight code -> per-cycle term slots (the RTL decoder's table)
* :mod:`.weights` — a golden.quant QuantizedWeight as integer scales and term tables
* :mod:`.scalar`  — the cycle-by-cycle scalar reference (for RTL benches)
* :mod:`.output`  — the output conversion to fp16 (integer algorithm and float64 reference)
* :mod:`.vector`  — ``linear(x_fp16, qw)``: identical bits, vectorized
* :mod:`.bound`   — derived error bound against an exact float64 product
"""
from .bound import error_bound
from .output import finalize, finalize_float64, round_fp16
from .params import DEFAULT, Datapath, fp16_fields
from .scalar import (accumulate, dequant, dot, dot_accumulator, group_sum, lane_cycle,
                     linear_scalar)
from .terms import HW_FORMATS, hw_index, slot_terms, term_table
from .vector import linear
from .weights import EngineWeight, engine_weight

__all__ = ["DEFAULT", "Datapath", "EngineWeight", "HW_FORMATS", "accumulate", "dequant", "dot",
           "dot_accumulator", "engine_weight", "error_bound", "finalize", "finalize_float64",
           "fp16_fields",
           "group_sum", "hw_index", "lane_cycle", "linear", "linear_scalar", "round_fp16",
           "slot_terms", "term_table"]

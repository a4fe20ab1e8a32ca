"""Golden weight quantizers: BitMoD per-group datatype mixture and the baselines.

``quantize(weight, scheme, bits, group_size=128, scale_mode="fp16", pad=False)`` returns a
:class:`QuantizedWeight` (contract: notes/quant_api.md; layout: docs/formats.md).

Modules: ``search`` (the BitMoD artifact's absmax grid rounding and per-group search),
``schemes`` (one entry per scheme), ``scales`` (the 8-bit x per-row fp16 "int" scale mode),
``qweight`` (the result type, its pack/unpack), ``packing`` (the binary layout), ``api``.
"""
from .api import quantize
from .qweight import QuantizedWeight
from .schemes import SCHEMES

__all__ = ["quantize", "QuantizedWeight", "SCHEMES"]

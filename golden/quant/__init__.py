"""Golden weight quantizers: BitMoD per-group datatype mixture and the baselines.

``quantize(weight, scheme, bits, group_size=128, scale_mode="fp16", pad=False)`` returns a
:class:`QuantizedWeight` (contract: notes/quant_api.md; layout: docs/formats.md).

Modules: ``search`` (the BitMoD artifact's absmax grid rounding and per-group search),
``schemes`` (one entry per scheme), ``scales`` (the 8-bit x per-row fp16 "int" scale mode),
``qweight`` (the result type, its pack/unpack), ``packing`` (the binary layout), ``api``,
``names`` (the scheme names).
"""
from .names import SCHEME_NAMES

__all__ = ["quantize", "QuantizedWeight", "SCHEMES", "SCHEME_NAMES"]


def __getattr__(name: str):
    # The quantizers import torch; the names above do not, so importing the package for them
    # (the CLI's --help, the policy schema) stays light.
    if name == "quantize":
        from .api import quantize
        return quantize
    if name == "QuantizedWeight":
        from .qweight import QuantizedWeight
        return QuantizedWeight
    if name == "SCHEMES":
        from .schemes import SCHEMES
        return SCHEMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

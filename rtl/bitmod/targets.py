"""Registry targets of the BitMoD engine, sized by the config's ``bitmod`` section."""
from __future__ import annotations

from ..registry import Target


def _pe(cfg):
    from .params import EngineParams
    from .pe import BitmodPe
    return BitmodPe(EngineParams.from_config(cfg))


def _array(cfg):
    from .array import BitmodArray
    from .params import EngineParams
    # the PE as one module (rtl/bitmod/hier.py); the row and column units stay in the top's
    # netlist, which Yosys maps smaller (BitmodArray's docstring)
    return BitmodArray(EngineParams.from_config(cfg), hierarchical="pe")


TARGETS = [
    Target("bitmod-pe", _pe, "BitMoD bit-serial 4-lane PE (1 x 1 array: PE, decoders, dequant, output unit)"),
    Target("bitmod-array", _array, "BitMoD PE array (bitmod.prefill_array rows x cols), stream ports"),
]

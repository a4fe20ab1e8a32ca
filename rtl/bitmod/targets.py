"""Registry targets of the BitMoD engine, sized by the config's ``bitmod`` section."""
from __future__ import annotations

from ..registry import Target


def _pe(cfg):
    from .params import EngineParams
    from .pe import BitmodPe
    return BitmodPe(EngineParams.from_config(cfg))


def _array(cfg, hierarchical="pe"):
    from .array import BitmodArray
    from .params import EngineParams
    # flattened: the PE as one module (rtl/bitmod/hier.py); the row and column units stay in the
    # top's netlist, which Yosys maps smaller (BitmodArray's docstring)
    return BitmodArray(EngineParams.from_config(cfg), hierarchical=hierarchical)


def _array_modular(cfg):
    # module by module every unit is mapped alone anyway; as one module per kind each kind is
    # mapped once (a 32-row column: 21 s against 196 s, 9 LUT more of 27 786)
    return _array(cfg, hierarchical=True)


TARGETS = [
    Target("bitmod-pe", _pe, "BitMoD bit-serial 4-lane PE (1 x 1 array: PE, decoders, dequant, output unit)"),
    Target("bitmod-array", _array, "BitMoD PE array (bitmod.prefill_array rows x cols), stream ports",
           modular_build=_array_modular),
]

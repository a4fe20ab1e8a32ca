"""Registry targets of the floating-point units (the hardware config does not size them)."""
from __future__ import annotations

from ..registry import Target


def _units(cfg):
    from .units import Fp32Units
    return Fp32Units(stages=2)


def _unit(name):
    def build(cfg):
        from . import Fp32Add, Fp32Div, Fp32Mul, Fp32Sqrt
        return {"add": Fp32Add, "mul": Fp32Mul, "div": Fp32Div, "sqrt": Fp32Sqrt}[name]()
    return build


TARGETS = [
    Target("fp32-units", _units, "every binary32/binary16 unit of rtl/fp side by side "
           "(add, mul, max, conversions, rint: 2 pipeline stages; div, sqrt: 1 bit per cycle)"),
    Target("fp32-add", _unit("add"), "binary32 adder, combinational"),
    Target("fp32-mul", _unit("mul"), "binary32 multiplier, combinational"),
    Target("fp32-div", _unit("div"), "binary32 divider, radix-2 restoring, 29 cycles"),
    Target("fp32-sqrt", _unit("sqrt"), "binary32 square root, radix-2 restoring, 28 cycles"),
]

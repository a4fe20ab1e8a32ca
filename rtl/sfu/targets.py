"""Registry target of the SFU (rtl/sfu), sized by SfuParams."""
from __future__ import annotations

from ..registry import Target


def _sfu(cfg):
    from .params import SfuParams
    from .sfu import Sfu
    return Sfu(SfuParams.from_config(cfg))


def _exp(cfg):
    from .exp import ExpUnit
    return ExpUnit()


def _unit(kind):
    def build(cfg):
        from ..fp.units import Registered
        from .params import SfuParams
        return Registered(getattr(SfuParams.from_config(cfg), kind)())
    return build


# each binary32 unit as the SFU builds it under the config (sfu.add_stages, sfu.mul_stages),
# between port registers: the unit's own routed timing (docs/rtl/sfu.md "Pipelining")
UNITS = {"add": "adder", "mul": "multiplier", "div": "divider", "sqrt": "square root",
         "rint": "round to int32", "to_f32": "int32 to binary32", "to_f16": "binary32 to fp16"}

TARGETS = [
    Target("sfu", _sfu, "special-function unit: every MISC op but COPY, one element per cycle, "
           "streams in and out"),
    Target("sfu-exp", _exp, "the SFU's exp unit E(t), t <= 0 (docs/numerics.md)"),
    *(Target(f"sfu-{kind.replace('_', '-')}", _unit(kind),
             f"the SFU's binary32 {what} at the config's depth, every port registered")
      for kind, what in UNITS.items()),
]

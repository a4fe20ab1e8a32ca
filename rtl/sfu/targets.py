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


TARGETS = [
    Target("sfu", _sfu, "special-function unit: every MISC op but COPY, one element per cycle, "
           "streams in and out"),
    Target("sfu-exp", _exp, "the SFU's exp unit E(t), t <= 0 (docs/numerics.md)"),
]

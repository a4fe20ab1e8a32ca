"""Registry targets of the CSD engine: one chain (VPU) and one MPU, sized by the config."""
from __future__ import annotations

from ..registry import Target


def _chain(cfg):
    from .chain import CsdChain
    from .geometry import ChainGeometry
    return CsdChain(ChainGeometry.from_config(cfg))


def _vpu(cfg):
    from .geometry import ChainGeometry
    from .vpu import Vpu
    return Vpu(ChainGeometry.from_config(cfg))


def _mpu(cfg):
    from .geometry import ChainGeometry
    from .mpu import Mpu
    return Mpu(ChainGeometry.from_config(cfg), cfg.csd.vpus_per_mpu)


TARGETS = [
    Target("csd-chain", _chain, "FlightLLM CSD chain (one VPU): sparse muxes, DSP groups, reduction nodes"),
    Target("csd-vpu", _vpu, "FlightLLM VPU: CSD chain plus row accumulator (k-block sums, INT32 bias)"),
    Target("csd-mpu", _mpu, "FlightLLM MPU: csd.vpus_per_mpu CSD chains sharing activations"),
]

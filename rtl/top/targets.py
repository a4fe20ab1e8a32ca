"""Registry target of the accelerator top, sized by the config."""
from __future__ import annotations

from ..registry import Target


def _accelerator(cfg):
    from .engines import built_engines
    from .params import TopParams
    from .top import Accelerator
    return Accelerator(TopParams.from_config(cfg), built_engines(cfg))


TARGETS = [
    Target("accelerator", _accelerator,
           "accelerator top: fetch, six token queues, LD/ST DMA on AXI4, buffers, engines, "
           "AXI4-Lite control"),
]

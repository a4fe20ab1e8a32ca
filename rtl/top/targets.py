"""Registry target of the accelerator top, sized by the config."""
from __future__ import annotations

from ..registry import Target


def _accelerator(cfg):
    from .engines import built_engines
    from .params import TopParams
    from .top import Accelerator
    return Accelerator(TopParams.from_config(cfg), built_engines(cfg))


def _shell(cfg):
    from .copy_engine import CopyEngine
    from .engines import EngineSet
    from .params import TopParams
    from .top import Accelerator
    from ...compiler import isa
    misc = lambda p: EngineSet(isa.Queue.MISC, p, [CopyEngine(p)])  # noqa: E731
    return Accelerator(TopParams.from_config(cfg), {isa.Queue.MISC: misc})


def _bitmod_engine(queue_name):
    def build(cfg):
        from ...compiler import isa
        from .bitmod.standalone import standalone
        return standalone(cfg, isa.Queue[queue_name])
    return build


TARGETS = [
    Target("accelerator", _accelerator,
           "accelerator top: fetch, six token queues, LD/ST DMA on AXI4, buffers, engines, "
           "AXI4-Lite control", synth_flatten=False),
    Target("accelerator-shell", _shell,
           "the accelerator top without its compute engines (COPY only): fetch, queues, DMA, "
           "buffers, control; the top's own paths for timing"),
    Target("bitmod-engine-mm", _bitmod_engine("MM"),
           "the top's BITMOD engine on the prefill array (MM), its buffer clients as ports"),
    Target("bitmod-engine-mv", _bitmod_engine("MV"),
           "the top's BITMOD engine on the decode array (MV), its buffer clients as ports"),
]

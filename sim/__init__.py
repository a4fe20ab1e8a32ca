"""Simulation: the ISA simulator (isa), the performance model (perf), Verilator/cocotb builds,
interactive stepping and RTL calibration runners (hdl), benchmarks (bench).

This package imports none of them, so importing ``bitflight.sim.isa`` or ``bitflight.sim.perf``
never loads Verilator tooling, Amaranth or fpga/ (tests/test_import_contracts.py checks it)."""

"""cocotb modules the RTL calibration (sim/perf/calibrate*.py) runs against Verilator builds."""

"""cocotb modules the RTL calibration (sim/hdl/calibrate*.py) runs against Verilator builds."""

"""Running compiled programs on the Verilated accelerator top (rtl/top) under cocotb."""

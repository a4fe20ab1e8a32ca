"""FlightLLM configurable sparse DSP chain (CSD chain): VPU and MPU in Amaranth (docs/rtl/csd.md)."""

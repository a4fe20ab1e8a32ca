"""bitflight: design, compile for and verify LLM accelerators.

The folders of the repository are subpackages of this namespace: ``bitflight.golden`` (number
formats, quantizers, reference LLM), ``bitflight.compiler`` (ISA and compiler), ``bitflight.sim``
(ISA simulator, performance model, testbenches), ``bitflight.rtl`` (Amaranth components) and
``bitflight.fpga`` (Verilog export, synthesis reports).
"""
__version__ = "0.1.0"

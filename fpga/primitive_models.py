"""Simulation models of the vendor primitives the RTL may instantiate (Verilator has none).

:func:`attach` appends to a design's Verilog the model of every primitive it instantiates; the
Verilator builds (sim.hdl) use it, the lint stubs the primitives' ports, the exported Verilog does not (a vendor tool
brings the real primitive)."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent / "models"
MODELS = {"DSP48E2": HERE / "dsp48e2.v"}


def used(verilog: str) -> list[str]:
    """The modelled primitives that ``verilog`` instantiates and does not define."""
    return [name for name in MODELS
            if re.search(rf"^\s*{name}\s*(#|\w)", verilog, re.M)
            and not re.search(rf"^module {name}\b", verilog, re.M)]


def attach(verilog: str) -> str:
    """``verilog`` followed by the models of the primitives it uses."""
    return verilog + "".join("\n" + MODELS[name].read_text() for name in used(verilog))

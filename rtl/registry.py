"""Named hardware targets: the components the CLI can export, lint, synthesize and simulate.

Each RTL package (``rtl/bitmod/``, ``rtl/csd/``, ...) declares its targets in its own
``targets.py`` as ``TARGETS: list[Target]``; this module discovers them by walking the
subpackages of :mod:`bitflight.rtl`, so adding a component never edits a shared file.

Example ``rtl/mypkg/targets.py``::

    from ..registry import Target
    from .counter import Counter

    TARGETS = [Target("my-counter", lambda cfg: Counter(cfg.csd.acc_bits), "a plain counter")]
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from ..base.errors import UsageError

if TYPE_CHECKING:
    from amaranth.lib import wiring

    from ..base.config import Config


@dataclass(frozen=True)
class Target:
    """One buildable top-level component."""
    name: str                                      # CLI name, e.g. "bitmod-pe", "csd-chain"
    build: Callable[["Config"], "wiring.Component"]  # elaborates from the hardware config
    doc: str                                       # one line for --help
    # `bitflight synth` flattens unless this is False: a design as large as the accelerator is
    # mapped module by module (fpga/synth.py), or ABC9 gets one network too large to finish
    synth_flatten: bool = True
    # what a module-by-module synthesis elaborates instead of `build`, when it differs: the same
    # logic with every repeated unit one Verilog module, so Yosys maps each kind once instead of
    # once per instance (fpga.export.elaborate)
    modular_build: Callable[["Config"], "wiring.Component"] | None = None

    @property
    def top(self) -> str:
        """The Verilog module name: the target name with '-' turned into '_'."""
        return self.name.replace("-", "_")


def _discover(package_name: str) -> dict[str, Target]:
    package = importlib.import_module(package_name)
    found: dict[str, Target] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module_name = f"{package_name}.{info.name}.targets"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # the package simply has no targets.py
                continue
            raise
        declared = getattr(module, "TARGETS", None)
        if not isinstance(declared, (list, tuple)):
            raise ValueError(f"{module_name}: TARGETS must be a list of Target")
        for target in declared:
            if not isinstance(target, Target):
                raise ValueError(f"{module_name}: TARGETS holds {target!r}, not a Target")
            if target.name in found:
                raise ValueError(f"{module_name}: target '{target.name}' is already declared "
                                 "by another package")
            found[target.name] = target
    return found


def targets() -> dict[str, Target]:
    """Every target declared by a ``bitflight.rtl.<pkg>.targets`` module, by name (sorted)."""
    return dict(sorted(_discover(__package__).items()))


def get(name: str) -> Target:
    """The target called ``name``; ValueError naming it and the known targets otherwise."""
    known = targets()
    if name not in known:
        names = ", ".join(known) or "none"
        raise UsageError(f"unknown target '{name}' (known targets: {names})")
    return known[name]

"""The import contracts of .importlinter hold (layers, no cycles, no HDL under the models).

The folders are subpackages of one namespace mapped from separate top-level folders
(pyproject's package-dir), which import-linter cannot walk: it finds ``bitflight`` and looks only
inside ``bitflight/``. So the test lays the namespace out as one tree of symlinks, the way an
installed wheel lays it out, and runs ``lint-imports`` on that tree.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"


def _namespace_tree(dest: Path) -> Path:
    """``dest/bitflight`` holding every folder of the namespace as a symlink."""
    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = dest / "bitflight"
    top.mkdir()
    for entry in (ROOT / dirs["bitflight"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for name, folder in dirs.items():
        if name != "bitflight":
            (top / name.split(".", 1)[1]).symlink_to(ROOT / folder)
    return dest


def _lint(tree: Path, config: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(tree))
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--config", str(config), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return _namespace_tree(tmp_path_factory.mktemp("namespace"))


def test_contracts_are_kept(tree):
    result = _lint(tree, CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    # The graph must be the whole project, not the few modules under bitflight/.
    analyzed = int(re.search(r"Analyzed (\d+) files", result.stdout).group(1))
    sources = sum(1 for folder in ("bitflight", "golden", "compiler", "sim", "rtl", "fpga")
                  for _ in (ROOT / folder).rglob("*.py"))
    assert analyzed >= sources


def test_a_cycle_or_an_upward_import_would_be_caught(tree, tmp_path):
    """The same tool on the same tree refuses contracts the code breaks (so 'kept' above means
    something): golden below compiler is true, compiler below golden is not."""
    inverted = tmp_path / "inverted.ini"
    inverted.write_text("[importlinter]\nroot_package = bitflight\n\n"
                        "[importlinter:contract:upside-down]\nname = upside down\ntype = layers\n"
                        "layers =\n    bitflight.golden\n    bitflight.compiler\n")
    result = _lint(tree, inverted)
    assert result.returncode != 0 and "upside down BROKEN" in result.stdout


HDL_MODULES = ("amaranth", "cocotb", "pyverilator", "bitflight.fpga", "bitflight.sim.hdl",
               "bitflight.rtl")


@pytest.mark.parametrize("package", ["bitflight.sim.isa", "bitflight.sim.perf"])
def test_importing_the_models_loads_no_hdl_tooling(package):
    """Every module of the ISA simulator / the performance model, imported in a fresh process,
    leaves Amaranth, cocotb, pyverilator, fpga/, rtl/ and the Verilator runners unloaded."""
    code = (f"import importlib, pkgutil, sys\nimport {package} as p\n"
            "for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.'):\n"
            "    importlib.import_module(m.name)\n"
            f"print(sorted(n for n in sys.modules if n.split('.')[0] in {HDL_MODULES[:3]!r} "
            f"or n.startswith({HDL_MODULES[3:]!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert out.strip() == "[]"

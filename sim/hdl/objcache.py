"""Verilator's ``OBJCACHE`` for bitflight's builds: the Verilator runtime compiled once.

verilated.mk puts ``$(OBJCACHE)`` in front of every compile. Each build compiles the same
runtime sources (``verilated.cpp``, ``verilated_vpi.cpp``, ... from Verilator's include folder)
with the same flags, about 9 s of CPU on the 2-core sandbox: most of a small design's build, and
a few minutes of a test run that builds some sixty designs on a machine without ccache. This
script keeps those objects under a digest of the compile command and the source, and hands every
other compile (the model's own C++, and cocotb's ``verilator.cpp``, which includes the model's
header) to ccache when there is one, or straight to the compiler.

Usage (the value of the ``OBJCACHE`` make variable, then make appends the compile command)::

    python objcache.py CACHE_DIR (ccache|-) CXX ARGS...

It runs as a script once per compile, so it imports nothing from bitflight.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RUNTIME_MARK = "verilated.mk"   # the folder holding it is Verilator's runtime include folder


def runtime_source(args: list[str]) -> Path | None:
    """The runtime source this compile builds, or None for any other compile: only ``-c -o``
    compiles of an absolute ``.cpp`` path in the folder that holds verilated.mk qualify."""
    if "-c" not in args or "-o" not in args:
        return None
    source = Path(args[-1])
    if source.suffix != ".cpp" or not source.is_absolute():
        return None
    return source if (source.parent / RUNTIME_MARK).is_file() else None


def digest(cxx: str, args: list[str], source: Path) -> str:
    """The compile's identity: the compiler (path, size, mtime), every argument but the output
    name, and the source's bytes."""
    out = args.index("-o")
    compiler = shutil.which(cxx) or cxx
    stat = os.stat(compiler) if os.path.exists(compiler) else None
    h = hashlib.sha256()
    for part in [os.path.realpath(compiler), repr(stat and (stat.st_size, stat.st_mtime_ns)),
                 *args[:out], *args[out + 2:]]:
        h.update(part.encode() + b"\0")
    h.update(source.read_bytes())
    return h.hexdigest()[:32]


def _store(path: Path, target: Path) -> None:
    """Copy ``path`` to ``target`` through a temporary sibling, so a reader never sees half."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def compile_cached(cache: Path, launcher: str, cxx: str, args: list[str]) -> int:
    """Run one compile as verilated.mk asked; the exit status."""
    command = ([launcher] if launcher != "-" else []) + [cxx, *args]
    source = runtime_source(args)
    if source is None:
        return subprocess.call(command)
    obj = Path(args[args.index("-o") + 1])
    dep = obj.with_suffix(".d")           # -MMD writes it beside the object
    entry = cache / digest(cxx, args, source)
    if (entry / "obj").is_file():
        shutil.copyfile(entry / "obj", obj)
        if (entry / "dep").is_file():
            shutil.copyfile(entry / "dep", dep)
        return 0
    status = subprocess.call([cxx, *args])
    if status == 0:
        entry.mkdir(parents=True, exist_ok=True)
        if dep.is_file():
            _store(dep, entry / "dep")
        _store(obj, entry / "obj")        # last: an entry with "obj" is whole
    return status


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("objcache: usage: objcache.py CACHE_DIR (ccache|-) CXX ARGS...", file=sys.stderr)
        return 2
    cache, launcher, cxx, *args = argv
    return compile_cached(Path(cache), launcher, cxx, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

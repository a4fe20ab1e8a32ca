"""sim/hdl/objcache.py, Verilator's OBJCACHE: a runtime source (a .cpp beside verilated.mk) is
compiled once per command and source, whatever the build folder; the model's own compiles
always reach the compiler. A fake compiler counts its calls and writes what it was given."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bitflight.rtl.examples.counter import Counter
from bitflight.sim import hdl
from bitflight.sim.hdl import objcache

SCRIPT = Path(objcache.__file__)
HERE = Path(__file__).resolve().parent


def _fake_compiler(tmp: Path) -> Path:
    """A 'compiler' that appends its source to calls.log and writes '<flags> <source bytes>' to
    the -o file and a .d beside it (as -MMD does)."""
    cxx = tmp / "fake-cxx"
    cxx.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys
        from pathlib import Path
        args = sys.argv[1:]
        with open({str(tmp / 'calls.log')!r}, "a") as log:
            log.write(args[-1] + "\\n")
        if "fail" in args:
            sys.exit(3)
        out = Path(args[args.index("-o") + 1])
        flags = " ".join(a for a in args if a.startswith("-D"))
        out.write_text(flags + " " + Path(args[-1]).read_text())
        out.with_suffix(".d").write_text(out.name + ": " + args[-1] + "\\n")
        """))
    cxx.chmod(0o755)
    return cxx


def _setup(tmp_path):
    runtime = tmp_path / "include"
    runtime.mkdir()
    (runtime / "verilated.mk").write_text("# marks the runtime folder\n")
    (runtime / "verilated.cpp").write_text("runtime v1")
    return _fake_compiler(tmp_path), runtime / "verilated.cpp", tmp_path / "objects"


def _compile(cxx, cache, build_dir: Path, source: Path, *flags) -> int:
    build_dir.mkdir(exist_ok=True)
    return subprocess.call([sys.executable, str(SCRIPT), str(cache), "-", str(cxx), "-Os",
                            *flags, "-c", "-o", "verilated.o", str(source)], cwd=build_dir)


def _calls(tmp_path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().split() if log.exists() else []


def test_runtime_object_is_compiled_once_and_copied_into_every_build(tmp_path):
    cxx, source, cache = _setup(tmp_path)
    for name in ("build-a", "build-b", "build-c"):
        assert _compile(cxx, cache, tmp_path / name, source, "-DVM_TRACE=0") == 0
    assert _calls(tmp_path) == [str(source)]
    for name in ("build-a", "build-b", "build-c"):
        assert (tmp_path / name / "verilated.o").read_text() == "-DVM_TRACE=0 runtime v1"
        assert (tmp_path / name / "verilated.d").read_text().startswith("verilated.o: ")


def test_other_flags_or_other_source_bytes_compile_again(tmp_path):
    cxx, source, cache = _setup(tmp_path)
    _compile(cxx, cache, tmp_path / "a", source, "-DVM_TRACE=0")
    _compile(cxx, cache, tmp_path / "b", source, "-DVM_TRACE=1")
    assert (tmp_path / "b" / "verilated.o").read_text() == "-DVM_TRACE=1 runtime v1"
    source.write_text("runtime v2")
    _compile(cxx, cache, tmp_path / "c", source, "-DVM_TRACE=0")
    assert (tmp_path / "c" / "verilated.o").read_text() == "-DVM_TRACE=0 runtime v2"
    assert len(_calls(tmp_path)) == 3


def test_model_sources_and_failed_compiles_are_never_kept(tmp_path):
    cxx, source, cache = _setup(tmp_path)
    build = tmp_path / "build"
    build.mkdir()
    model = build / "Vtop__ALL.cpp"      # not beside verilated.mk: the model's own C++
    model.write_text("model")
    for _ in range(2):
        assert subprocess.call([sys.executable, str(SCRIPT), str(cache), "-", str(cxx), "-c",
                                "-o", "Vtop__ALL.o", str(model)], cwd=build) == 0
    assert _calls(tmp_path) == [str(model)] * 2
    assert _compile(cxx, cache, tmp_path / "x", source, "fail") == 3
    assert _compile(cxx, cache, tmp_path / "y", source, "fail") == 3   # compiled again
    assert not any(cache.rglob("obj")) if cache.exists() else True


def test_runtime_source_is_recognised_only_beside_verilated_mk(tmp_path):
    _, source, _ = _setup(tmp_path)
    assert objcache.runtime_source(["-c", "-o", "v.o", str(source)]) == source
    assert objcache.runtime_source(["-c", str(source)]) is None          # no -o: a model rule
    assert objcache.runtime_source(["-c", "-o", "v.o", "verilated.cpp"]) is None  # relative
    other = tmp_path / "verilator.cpp"   # cocotb's main includes the model's header
    other.write_text("main")
    assert objcache.runtime_source(["-c", "-o", "v.o", str(other)]) is None


@pytest.mark.verilator
def test_two_verilator_builds_share_the_runtime_objects(monkeypatch, tmp_path):
    """Real builds: the first fills <cache root>/objects, the second (another design) takes
    every runtime object from it (no entry added or rewritten) and still simulates."""
    monkeypatch.setenv("BITFLIGHT_BUILD_CACHE", str(tmp_path))
    monkeypatch.delenv("OBJCACHE", raising=False)
    hdl.build(lambda: Counter(8), top="counter", key="objcache-a")
    entries = {p: p.stat().st_mtime_ns for p in (tmp_path / "objects").glob("*/obj")}
    assert {p.parent.name for p in entries} and len(entries) >= 3   # vpi, dpi, threads, ...
    second = hdl.build(lambda: Counter(5), top="counter", key="objcache-b")
    assert not second.cache_hit
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "objects").glob("*/obj")} == entries
    hdl.run(second, "cocotb_counter", test_dir=HERE, testcase="test_counts",
            env={"COUNT_CYCLES": "20"})   # 14 enabled edges: no wrap at 5 bits

"""bitflight.sim.hdl: content-hashed shared Verilator builds; cocotb runs that fail as asserts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bitflight.rtl.examples.counter import Counter
from bitflight.sim import hdl

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.verilator


@pytest.fixture(scope="module")
def counter_build():
    return hdl.build(lambda: Counter(8), top="counter", key="test-counter8")


def test_counter_counts_enabled_edges(counter_build):
    hdl.run(counter_build, "cocotb_counter", test_dir=HERE, testcase="test_counts",
            env={"COUNT_CYCLES": "50"})


def test_second_build_of_same_design_is_a_cache_hit(counter_build):
    again = hdl.build(Counter(8), top="counter", key="test-counter8")
    assert again.cache_hit
    assert again.directory == counter_build.directory and again.digest == counter_build.digest
    assert (again.directory / hdl.STAMP).is_file()
    hdl.run(again, "cocotb_counter", test_dir=HERE, testcase="test_wrap_flag")


def test_failing_cocotb_test_raises_assertion_error_with_its_message(counter_build):
    with pytest.raises(AssertionError,
                       match=r"cocotb_counter\.test_counts: count 14 != expected 15"):
        hdl.run(counter_build, "cocotb_counter", test_dir=HERE, testcase="test_counts",
                env={"COUNT_CYCLES": "20", "EXPECT_OFFSET": "1"})


def test_missing_cocotb_module_is_a_value_error(counter_build):
    with pytest.raises(ValueError, match=r"cocotb_nothing\.py does not exist"):
        hdl.run(counter_build, "cocotb_nothing", test_dir=HERE)


def test_waves_need_a_tracing_build(counter_build):
    with pytest.raises(ValueError, match="has no tracing"):
        hdl.run(counter_build, "cocotb_counter", test_dir=HERE, waves=True)


VISIBILITY = """module vis(input clk, input [7:0] a, output [7:0] y);
  reg [7:0] seen;
  always @(posedge clk) seen <= y;
  sub inner(.clk(clk), .a(a), .y(y));
endmodule
module sub(input clk, input [7:0] a, output [7:0] y);
  reg [7:0] secret;
  reg [7:0] mem_x [0:3];
  always @(posedge clk) begin secret <= a + 8'd1; mem_x[a[1:0]] <= secret; end
  assign y = mem_x[0] + secret;
endmodule
"""


@pytest.mark.parametrize("public, ports_only, visible", [
    ((), False, "seen"), (("mem_*",), False, "seen,mem_x"), (None, False, "seen,secret,mem_x"),
    ((), True, ""), (("mem_*",), True, "mem_x")])
def test_public_patterns_choose_what_the_bench_reaches_inside(public, ports_only, visible):
    """The top's own signals (``seen``) unless ``ports_only``; inside, what ``public`` names."""
    built = hdl.build(VISIBILITY, top="vis", key="test-visibility", public=public,
                      ports_only=ports_only)
    hdl.run(built, "cocotb_visibility", test_dir=HERE, env={"VISIBLE": visible})


def test_ports_only_with_everything_public_is_refused():
    with pytest.raises(ValueError, match="ports_only narrows the public signals"):
        hdl.build(VISIBILITY, top="vis", key="test-visibility", public=None, ports_only=True)


def test_a_public_pattern_with_other_characters_is_refused():
    with pytest.raises(ValueError, match=r"public pattern 'mem\* \+x' may hold only"):
        hdl.build(VISIBILITY, top="vis", key="test-visibility", public=("mem* +x",))


def test_digest_follows_every_input():
    base = hdl._digest("module a; endmodule", "a", ["-Wno-fatal"], None)
    assert base == hdl._digest("module a; endmodule", "a", ["-Wno-fatal"], None)
    variants = [hdl._digest("module a ; endmodule", "a", ["-Wno-fatal"], None),
                hdl._digest("module a; endmodule", "b", ["-Wno-fatal"], None),
                hdl._digest("module a; endmodule", "a", ["-Wno-fatal", "-O3"], None),
                hdl._digest("module a; endmodule", "a", ["-Wno-fatal"], "vcd")]
    assert len({base, *variants}) == 5


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BITFLIGHT_BUILD_CACHE", str(tmp_path))
    assert hdl.cache_root() == tmp_path
    monkeypatch.delenv("BITFLIGHT_BUILD_CACHE")
    assert hdl.cache_root() == Path.home() / ".cache" / "bitflight" / "verilator"


def test_vcd_waveform_records_the_counter(tmp_path):
    traced = hdl.build(lambda: Counter(8), top="counter", key="test-counter8-vcd", waves="vcd")
    path = hdl.run(traced, "cocotb_counter", test_dir=HERE, testcase="test_counts", waves=True,
                   waves_path=tmp_path / "counter.vcd", env={"COUNT_CYCLES": "20"})
    assert path == tmp_path / "counter.vcd"
    values = _vcd_values(path.read_text(), "count")
    # 20 cycles with every third edge skipped: 14 enabled edges, counted up one by one.
    assert values[0] == 0 and values[-1] == 14 and sorted(set(values)) == list(range(15))


def _vcd_values(text: str, signal: str) -> list[int]:
    """Successive values of the first top-level vector called ``signal`` in a VCD file."""
    code = next(line.split()[3] for line in text.splitlines()
                if line.split()[:1] == ["$var"] and line.split()[4] == signal)
    return [int(line[1:].split()[0], 2) for line in text.splitlines()
            if line.startswith("b") and line.split()[1] == code]


_BUILD_IN_CHILD = """
import sys
from bitflight.sim import hdl
from bitflight.rtl.examples.counter import Counter
b = hdl.build(lambda: Counter(5), top="counter5", key="race")
print("HIT" if b.cache_hit else "COMPILED")
"""


@pytest.mark.slow
def test_concurrent_builds_compile_once(tmp_path):
    """Two processes asking for the same new build: one compiles, the other waits and reuses it."""
    env = dict(os.environ, BITFLIGHT_BUILD_CACHE=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD_IN_CHILD], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(2)]
    outputs = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    assert outputs == ["COMPILED", "HIT"]
    builds = [d for d in tmp_path.iterdir() if d.is_dir() and d.name != "objects"]
    assert len(builds) == 1     # (objects: the shared Verilator runtime, test_objcache.py)


def test_fst_request_is_checked_against_the_lz4_header(monkeypatch):
    monkeypatch.setattr(hdl, "_have_lz4_header", lambda: False)
    with pytest.raises(ValueError, match=r"FST tracing needs the liblz4 headers.*waves='vcd'"):
        hdl.build("module m; endmodule\n", top="m", key="fst", waves="fst")
    with pytest.raises(ValueError, match="waves must be"):
        hdl.build("module m; endmodule\n", top="m", key="fst", waves="lxt")


def test_build_target_uses_the_registry_and_shares_the_cache(counter_build):
    from_registry = hdl.build_target("example-counter", "tiny")
    assert from_registry.top == "example_counter" and from_registry.key == "example-counter-tiny"
    hdl.run(from_registry, "cocotb_counter", test_dir=HERE, testcase="test_counts")


def test_env_overrides_the_callers_environment_and_is_restored(counter_build, monkeypatch):
    monkeypatch.setenv("EXPECT_OFFSET", "7")  # would make test_counts fail if it won
    hdl.run(counter_build, "cocotb_counter", test_dir=HERE, testcase="test_counts",
            env={"EXPECT_OFFSET": 0, "COUNT_CYCLES": 9})
    assert os.environ["EXPECT_OFFSET"] == "7" and "COUNT_CYCLES" not in os.environ


def test_a_cocotb_module_that_fails_to_import_quotes_the_error(counter_build, tmp_path):
    (tmp_path / "cocotb_broken.py").write_text("import cocotb\nimport no_such_module_xyz\n")
    with pytest.raises(AssertionError, match=r"ended without results.*ModuleNotFoundError: "
                                             r"No module named 'no_such_module_xyz'"):
        hdl.run(counter_build, "cocotb_broken", test_dir=tmp_path)


def test_a_testcase_filter_matching_nothing_is_an_error(counter_build):
    with pytest.raises(AssertionError, match="ran no test matching 'no_such_case'"):
        hdl.run(counter_build, "cocotb_counter", test_dir=HERE, testcase="no_such_case")


def test_a_build_folder_without_stamp_is_rebuilt_from_empty(tmp_path):
    folder = tmp_path / "half-built"
    folder.mkdir()
    (folder / "junk.o").write_text("left by a killed build")
    seen = []

    def make(directory):
        seen.append(sorted(p.name for p in directory.iterdir()))
        (directory / "model").write_text("built")

    assert hdl.cached_build(folder, make, {"key": "k"}) is False
    assert seen == [[]]  # make() got an empty folder
    assert hdl.cached_build(folder, make, {"key": "k"}) is True and len(seen) == 1
    assert json.loads((folder / hdl.STAMP).read_text())["key"] == "k"


def test_a_failing_make_leaves_no_stamp(tmp_path):
    folder = tmp_path / "fails"

    def make(directory):
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        hdl.cached_build(folder, make, {})
    assert not (folder / hdl.STAMP).exists()

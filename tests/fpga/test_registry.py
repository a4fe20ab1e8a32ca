"""Target discovery: every bitflight.rtl.<pkg>.targets module's TARGETS, by name."""
import sys
import textwrap

import pytest

import bitflight.rtl
from bitflight.base.config import load
from bitflight.fpga import export
from bitflight.rtl import registry


@pytest.fixture
def fake_rtl_package(tmp_path, monkeypatch):
    """Adds a package folder to bitflight.rtl's search path; yields a function that writes one."""
    monkeypatch.setattr(bitflight.rtl, "__path__", [*bitflight.rtl.__path__, str(tmp_path)])
    created = []

    def make(pkg: str, targets_source: str | None) -> None:
        folder = tmp_path / pkg
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        if targets_source is not None:
            (folder / "targets.py").write_text(textwrap.dedent(targets_source))
        created.append(pkg)

    yield make
    for pkg in created:
        for name in (f"bitflight.rtl.{pkg}", f"bitflight.rtl.{pkg}.targets"):
            sys.modules.pop(name, None)


COUNTER_TARGETS = """
    from bitflight.rtl.registry import Target
    from bitflight.rtl.examples.counter import Counter
    TARGETS = [Target("fake-counter", lambda cfg: Counter(cfg.csd.chain_macs), "a test counter")]
"""


def test_discovers_targets_module_of_a_new_package(fake_rtl_package):
    fake_rtl_package("infratest_a", COUNTER_TARGETS)
    fake_rtl_package("infratest_none", None)  # a package without targets.py is skipped
    found = registry.targets()
    assert "fake-counter" in found and "example-counter" in found
    target = registry.get("fake-counter")
    assert target.top == "fake_counter"
    component = target.build(load("tiny"))
    assert component.width == load("tiny").csd.chain_macs == 16
    assert "output [15:0] count;" in export.verilog_text(component, target.top)


def test_unknown_target_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown target 'no-such'.*example-counter"):
        registry.get("no-such")


def test_duplicate_target_name_is_an_error(fake_rtl_package):
    fake_rtl_package("infratest_b", COUNTER_TARGETS)
    fake_rtl_package("infratest_c", COUNTER_TARGETS)
    with pytest.raises(ValueError, match=r"infratest_c.targets: target 'fake-counter' is already"):
        registry.targets()


def test_targets_must_hold_target_objects(fake_rtl_package):
    fake_rtl_package("infratest_d", "TARGETS = ['not a target']\n")
    with pytest.raises(ValueError, match=r"infratest_d.targets: TARGETS holds 'not a target'"):
        registry.targets()


def test_broken_import_inside_targets_module_propagates(fake_rtl_package):
    fake_rtl_package("infratest_e", "import bitflight.rtl.infratest_e.missing_module\n")
    with pytest.raises(ModuleNotFoundError, match="missing_module"):
        registry.targets()

"""export.target_verilog + fpga.verilog_cache: registry Verilog elaborated once per source state
and config."""
from __future__ import annotations

import pytest

from bitflight.base import config
from bitflight.fpga import export, verilog_cache


@pytest.fixture
def counting(monkeypatch, tmp_path):
    """The cache in tmp_path, and a list that grows by one per real elaboration."""
    monkeypatch.setenv("BITFLIGHT_VERILOG_CACHE", str(tmp_path))
    calls = []
    real = export.elaborate

    def elaborate(target, cfg):
        calls.append(target)
        return real(target, cfg)
    monkeypatch.setattr(export, "elaborate", elaborate)
    return calls


def test_same_text_as_the_backend_and_elaborated_once(counting):
    text, top = export.target_verilog("example-counter", "tiny")
    component, want_top = export.elaborate("example-counter", "tiny")
    assert (text, top) == (export.verilog_text(component, want_top), want_top)
    assert export.target_verilog("example-counter", config.load("tiny")) == (text, top)
    assert counting == ["example-counter", "example-counter"]   # ours, and the cache's first


def test_a_source_edit_or_another_config_elaborates_again(counting, monkeypatch):
    export.target_verilog("example-counter", "tiny")
    monkeypatch.setattr(verilog_cache, "source_digest", lambda: "an edited tree")
    export.target_verilog("example-counter", "tiny")
    export.target_verilog("example-counter", "tiny")
    export.target_verilog("example-counter", "bitmod-asic")
    assert len(counting) == 3


def test_source_digest_follows_the_files(tmp_path, monkeypatch):
    before = verilog_cache.source_digest()
    assert before == verilog_cache.source_digest()
    verilog_cache.source_digest.cache_clear()
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(verilog_cache, "PACKAGES", (*verilog_cache.PACKAGES, "fakepkg"))
    with_file = verilog_cache.source_digest()
    verilog_cache.source_digest.cache_clear()
    (pkg / "__init__.py").write_text("X = 2\n")
    edited = verilog_cache.source_digest()
    verilog_cache.source_digest.cache_clear()
    assert len({before, with_file, edited}) == 3


def test_only_the_newest_files_are_kept(counting, monkeypatch, tmp_path):
    for k in range(verilog_cache.KEEP + 2):
        monkeypatch.setattr(verilog_cache, "source_digest", lambda k=k: f"tree {k}")
        export.target_verilog("example-counter", "tiny")
    assert len(list(tmp_path.glob("example-counter-tiny-*.v"))) == verilog_cache.KEEP

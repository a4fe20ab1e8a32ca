"""golden.atomic_file: results appear whole or not at all, and failures name the user's path."""
import os

import pytest

from bitflight.golden.atomic_file import save_figure, write_atomic


def test_write_creates_parents_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    assert write_atomic(target, b"\x01\x02") == target
    assert target.read_bytes() == b"\x01\x02"
    write_atomic(target, "text")                         # str is written as UTF-8, replacing
    assert target.read_text() == "text"
    assert sorted(os.listdir(target.parent)) == ["out.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failure_names_the_target_not_the_temporary(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"^.*file/out.bin: cannot write \(") as info:
        write_atomic(blocker / "out.bin", b"")           # a parent that is a file
    assert ".tmp" not in str(info.value)


def test_save_figure_by_suffix(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, _ = plt.subplots()
    save_figure(fig, tmp_path / "f.svg")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"f.xyz: cannot save a figure as '.xyz'"):
        save_figure(fig, tmp_path / "f.xyz")
    assert not (tmp_path / "f.xyz").exists()
    plt.close(fig)

"""bitflight.base.atomic_file: results appear whole or not at all, and failures name the user's path."""
import errno
import os

import pytest

from bitflight.base.atomic_file import replacing_folder, save_figure, write_atomic


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
    expected = r"^.*file/out.bin: cannot write \(a parent is not a folder\)$"
    with pytest.raises(ValueError, match=expected) as info:
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


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "no space left on device"),
                                         (errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "permission denied")])
def test_os_failure_keeps_the_old_file_and_names_path_and_cause(tmp_path, monkeypatch, code,
                                                                cause):
    target = tmp_path / "out.bin"
    write_atomic(target, b"old")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), "/tmp/.out.bin.x1y2.tmp")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ValueError) as info:
        write_atomic(target, b"new")
    assert str(info.value) == f"{target}: cannot write ({cause})"
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_folder_is_built_beside_and_swapped_in_whole(tmp_path):
    dest = tmp_path / "result"
    with replacing_folder(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".result.")
        (tmp / "a.txt").write_text("one")
    assert (dest / "a.txt").read_text() == "one"
    assert dest.stat().st_mode & 0o777 == 0o777 & ~_umask()
    with replacing_folder(dest, replaceable=lambda p: (p / "a.txt").is_file()) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(os.listdir(dest)) == ["b.txt"] and os.listdir(tmp_path) == ["result"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("bad model")])
def test_failed_folder_leaves_the_old_one_and_no_temporary(tmp_path, failure):
    dest = tmp_path / "result"
    dest.mkdir()
    (dest / "a.txt").write_text("old")
    with pytest.raises((ValueError, RuntimeError)) as info:
        with replacing_folder(dest, replaceable=lambda p: True) as tmp:
            (tmp / "a.txt").write_text("new")
            raise failure
    if isinstance(failure, OSError):
        assert str(info.value) == f"{dest}: cannot write (no space left on device)"
    assert (dest / "a.txt").read_text() == "old" and os.listdir(tmp_path) == ["result"]


def test_cli_reports_os_errors_as_path_and_cause(monkeypatch, capsys):
    from bitflight import cli
    from bitflight.commands import asm

    def fail(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/prog.s")
    monkeypatch.setattr(asm, "handler", fail)
    assert cli.main(["asm", "x.s", "-o", "y.bfp"]) == 2
    assert capsys.readouterr().err == "bitflight asm: error: /data/prog.s: permission denied\n"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

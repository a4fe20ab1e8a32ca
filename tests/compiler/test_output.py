"""A compiled output folder is whole or absent, and damaged files are refused by their readers."""
import errno
import hashlib
import json
import os

import pytest

from bitflight import cli
from bitflight.compiler import output
from bitflight.compiler.target import Target

COMPILE = ["compile", "--model", "tiny-golden", "--config", "tiny", "--policy", "flightllm",
           "--max-len", "32"]


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def compiled(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main([*COMPILE, "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_manifest_lists_every_file_with_length_and_checksum(compiled):
    manifest = json.loads((compiled / "manifest.json").read_text())
    assert manifest["format"] == output.FORMAT
    on_disk = {k: v for k, v in _snapshot(compiled).items() if k != "manifest.json"}
    assert set(manifest["files"]) == set(on_disk) and "segments.bin" in on_disk
    assert any(name.startswith("image/ch") for name in on_disk)
    for name, data in on_disk.items():
        assert manifest["files"][name] == {"bytes": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest()}
    # modes of any other output, and nothing left beside the folder
    assert compiled.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert (compiled / "segments.bin").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert os.listdir(compiled.parent) == ["out"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     KeyboardInterrupt()])
def test_interrupted_compile_leaves_the_old_folder_intact(compiled, monkeypatch, capsys, failure):
    before = _snapshot(compiled)

    def fail(self):
        raise failure
    monkeypatch.setattr(Target, "image", fail)      # after segments.bin is written
    code = cli.main([*COMPILE, "--max-len", "48", "-o", str(compiled)])
    err = capsys.readouterr().err.strip()
    if isinstance(failure, OSError):
        assert code == 2
        assert err == (f"bitflight compile: error: {compiled}: cannot write "
                       "(no space left on device)")
    else:
        assert code == 130
    assert _snapshot(compiled) == before
    assert os.listdir(compiled.parent) == ["out"]


def test_recompiling_replaces_the_whole_folder(compiled, capsys):
    assert cli.main([*COMPILE, "--no-weights", "-o", str(compiled)]) == 0
    assert not (compiled / "image").exists()
    assert set(json.loads((compiled / "manifest.json").read_text())["files"]) == {"segments.bin"}


def test_folders_that_are_not_outputs_are_not_replaced(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert cli.main([*COMPILE, "--no-weights", "-o", str(mine)]) == 2
    assert "does not hold an earlier result; refusing to replace it" in capsys.readouterr().err
    assert os.listdir(mine) == ["notes.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main([*COMPILE, "--no-weights", "-o", str(afile)]) == 2
    assert "a file of that name exists" in capsys.readouterr().err
    assert cli.main([*COMPILE, "--no-weights", "-o", str(afile / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("afile/sub: cannot write (a parent is not a folder)") and "Errno" not in err


def _damage(folder, change):
    path = folder / "segments.bin"
    data = bytearray(path.read_bytes())
    path.write_bytes(change(data))


@pytest.mark.parametrize("change, message", [
    (lambda d: bytes(d[:-4]), r"segments\.bin: \d+ bytes, manifest\.json says \d+ \(truncated"),
    (lambda d: bytes(d) + b"\0" * 4, r"truncated or extended"),
    (lambda d: bytes(d[:100]) + bytes([d[100] ^ 1]) + bytes(d[101:]),
     r"segments\.bin: SHA-256 differs from manifest\.json"),
])
def test_damaged_segments_file_is_refused(compiled, capsys, change, message):
    _damage(compiled, change)
    with pytest.raises(ValueError, match=message):
        output.read_program(compiled, "decode:32")
    assert cli.main(["disasm", str(compiled), "--bucket", "decode:32"]) == 2
    err = capsys.readouterr().err
    assert "segments.bin" in err and err.count("\n") == 1


def test_manifest_slices_are_checked_against_the_file(compiled):
    path = compiled / "manifest.json"
    manifest = json.loads(path.read_text())
    first = manifest["programs"]["decode:32"][0]
    manifest["segments"][first]["offset"] = manifest["files"]["segments.bin"]["bytes"] - 4
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"manifest\.json: bucket 'decode:32' segment \d+ does "
                                         r"not lie inside segments\.bin \(\d+ bytes\)"):
        output.read_program(compiled, "decode:32")
    manifest["programs"]["decode:32"] = [len(manifest["segments"])]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not lie inside"):
        output.read_program(compiled, "decode:32")


def test_bad_manifest_json_names_the_file(compiled):
    (compiled / "manifest.json").write_text('{"format": ')
    with pytest.raises(ValueError, match=r"out/manifest\.json: not valid JSON \(line 1\)"):
        output.read_program(compiled, "decode:32")
    (compiled / "manifest.json").write_text('{"format": "bitflight-compiled/1"}')
    with pytest.raises(ValueError, match=r"manifest\.json: format 'bitflight-compiled/1', this "
                                         r"bitflight reads 'bitflight-compiled/2'"):
        output.read_program(compiled, "decode:32")


def test_perf_reads_what_compile_writes(compiled, tmp_path, capsys):
    """perf --program on the folder and bucket times the same program as on the program file
    that disasm + asm make of it."""
    src, prog = tmp_path / "p.s", tmp_path / "p.bfp"
    assert cli.main(["disasm", str(compiled), "--bucket", "decode:32", "--no-offsets",
                     "-o", str(src)]) == 0
    assert cli.main(["asm", str(src), "-o", str(prog)]) == 0
    capsys.readouterr()
    assert cli.main(["perf", "--program", str(compiled), "--bucket", "decode:32", "--config",
                     "tiny", "--json"]) == 0
    from_folder = json.loads(capsys.readouterr().out)
    assert cli.main(["perf", "--program", str(prog), "--config", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == from_folder and from_folder["cycles"] > 0
    assert cli.main(["perf", "--program", str(compiled), "--config", "tiny"]) == 2
    assert "name a program with --bucket (buckets: " in capsys.readouterr().err

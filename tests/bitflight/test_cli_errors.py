"""User errors are one line and a non-zero exit; anything else is a bug and keeps its traceback.

Each case feeds the CLI one kind of bad input and checks the whole of stderr: a single line
``bitflight CMD: error: ...`` naming the input at fault, exit status 2. The injected internal
errors check the other half of the contract: they are not swallowed into a one-liner.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bitflight import cli
from bitflight.base import errors


def _one_line(capsys, argv: list[str]) -> str:
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bitflight {argv[0]}: error: "), err
    return lines[0]


def test_bad_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nclock_mhz: 100\nno_such_key: 1\n")
    line = _one_line(capsys, ["config", "validate", str(bad)])
    assert str(bad) in line


def test_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + bytes(20))
    line = _one_line(capsys, ["compile", "--model", str(bad), "--config", "tiny",
                              "--policy", "flightllm", "-o", str(tmp_path / "out")])
    assert str(bad) in line and "GGUF" in line
    assert not (tmp_path / "out").exists()


def test_bad_policy_file(tmp_path, capsys):
    bad = tmp_path / "policy.yaml"
    bad.write_text("name: bad\nengine: csd\nactivations: int8\nkv_cache: int8\n"
                   "default: {scheme: bitmod, bits: 4}\n")
    line = _one_line(capsys, ["perf", "--model", "smollm2-135m", "--config", "tiny",
                              "--policy", str(bad)])
    assert str(bad) in line and "engine csd cannot compute bitmod" in line


def test_bad_program_file(tmp_path, capsys):
    bad = tmp_path / "junk.bfp"
    bad.write_bytes(b"not a program at all")
    line = _one_line(capsys, ["disasm", str(bad)])
    assert str(bad) in line


def test_bad_argument_value(tmp_path, capsys):
    weights = tmp_path / "w.npy"
    np.save(weights, np.ones((4, 128), np.float32))
    line = _one_line(capsys, ["quantize", str(weights), "--scheme", "no-such-scheme",
                              "--bits", "4"])
    assert "--scheme" in line and "no-such-scheme" in line


def test_missing_input_file_names_the_path(tmp_path, capsys):
    line = _one_line(capsys, ["disasm", str(tmp_path / "absent.bfp")])
    assert "absent.bfp" in line


@pytest.mark.parametrize("internal", [KeyError("scale"), AssertionError("tile rows"),
                                      ValueError("plain value error")])
def test_an_internal_error_is_not_turned_into_a_one_liner(monkeypatch, capsys, internal):
    from bitflight.base import config

    def broken(name):
        raise internal
    monkeypatch.setattr(config, "load", broken)
    with pytest.raises(type(internal)):
        cli.main(["config", "show", "tiny"])
    assert "error:" not in capsys.readouterr().err


def test_an_internal_error_prints_its_traceback():
    code = ("import sys\nfrom bitflight import cli\nfrom bitflight.base import config\n"
            "def broken(name):\n    raise KeyError('internal')\n"
            "config.load = broken\nsys.exit(cli.main(['config', 'show', 'tiny']))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr and "KeyError: 'internal'" in run.stderr


def test_every_user_error_class_is_a_bitflight_error():
    """The hierarchy is one tree: the CLI's single except clause covers every class."""
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert len(classes) >= 10
    assert all(issubclass(c, errors.BitflightError) for c in classes)

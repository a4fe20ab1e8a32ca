"""A regular (non-editable) wheel install works from any folder: configs, policies and model shapes
are found inside the installed package (importlib.resources), not next to the source tree."""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sh(*argv, cwd=None, env=None):
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, f"{argv}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installed_into_a_fresh_venv_configs_compiles_and_runs(tmp_path):
    # the checkout's files (committed or not) copied away, so the build cannot see anything else
    src = tmp_path / "src"
    files = _sh("git", "ls-files", "-co", "--exclude-standard", cwd=ROOT).splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    _sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "-q", "-w", tmp_path / "dist", src)
    wheel = next((tmp_path / "dist").glob("bitflight-*.whl"))
    shutil.rmtree(src)

    # A fresh venv that sees the project venv's dependencies (torch is GBs) but not its editable
    # bitflight: `--system-site-packages` only exposes the base interpreter's packages, so the
    # project venv's site-packages is added as a plain .pth path (its own .pth files, including
    # the editable-install hook, are not processed from there).
    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", "--system-site-packages", venv)
    py = venv / "bin" / "python"
    site = Path(_sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .strip())
    (site / "project_venv_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _sh(py, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
        wheel)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _sh(py, "-c", "import bitflight.configs as c; print(c.__file__)", cwd=work, env=env)
    assert Path(where.strip()).is_relative_to(site)          # the wheel, not the checkout
    bitflight = venv / "bin" / "bitflight"
    listing = _sh(bitflight, "config", "list", cwd=work, env=env)
    assert "tiny" in listing and "u280" in listing
    _sh(bitflight, "compile", "--model", "tiny-golden", "--config", "tiny", "--policy",
        "flightllm", "--max-len", "16", "-o", "out", cwd=work, env=env)
    assert (work / "out" / "manifest.json").is_file() and (work / "out" / "segments.bin").is_file()
    out = _sh(bitflight, "run", "--model", "tiny-golden", "--config", "tiny", "--policy",
              "bitmod-w4", "--ids", "1,2,3", "--tokens", "1", cwd=work, env=env)
    assert "generated (1 tokens): " in out
    shapes = _sh(py, "-c", "from bitflight.golden import model_shapes, policy; "
                 "print(model_shapes.available(), policy.POLICIES_DIR.is_dir())", cwd=work, env=env)
    assert "smollm2-135m" in shapes and shapes.strip().endswith("True")

"""End-to-end sweeps with synthesis and perplexity (slow): the shipped CI spec, and the same
sweep on a local Ray runtime (2 CPUs) giving the local executor's results."""
import math

import pytest
import yaml

from bitflight.cli import main
from bitflight.sim.dse.store import Store

from dse_helpers import CI_SPEC, comparable, perf_only_spec

pytestmark = [pytest.mark.slow, pytest.mark.synth]


def _area_spec(tmp_path):
    """The CI spec with area (1x1, 2-row band and one-chain syntheses) but no perplexity."""
    spec = perf_only_spec(tmp_path)
    data = yaml.safe_load(spec.read_text())
    data["metrics"]["area"] = yaml.safe_load(CI_SPEC.read_text())["metrics"]["area"]
    spec.write_text(yaml.safe_dump(data))
    return spec


def test_ray_local_runtime_gives_the_local_executors_results(tmp_path, monkeypatch, capsys):
    """Ray runs the syntheses and the points; the local run after it reuses the syntheses from
    the file cache (one remote-call path serves every task kind) but computes every point again,
    which is what the two runs are compared on."""
    spec = _area_spec(tmp_path)
    monkeypatch.setenv("BITFLIGHT_CACHE", str(tmp_path / "cache"))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "ray"), "--ray", "local",
                 "--ray-cpus", "2", "--no-progress"]) == 0
    assert "tasks run now: 10 point, 3 synth, 0 perplexity" in capsys.readouterr().out
    assert main(["sweep", str(spec), "-o", str(tmp_path / "local"), "--workers", "2",
                 "--no-progress"]) == 0
    assert "tasks run now: 10 point, 0 synth, 0 perplexity" in capsys.readouterr().out
    local, ray = (Store(tmp_path / d).records() for d in ("local", "ray"))
    assert comparable(local) == comparable(ray)
    assert sum(r.get("lut") is not None for r in ray) == 10


def test_ci_spec_end_to_end(tmp_path, monkeypatch, capsys):
    import torch

    from bitflight.golden.llm import load_model, load_tokenizer
    from bitflight.golden.llm.accel import accelerator_model
    from bitflight.golden.llm.corpus import corpus_tokens
    from bitflight.golden.llm.perplexity import perplexity
    from bitflight.golden.policy import load_policy
    from bitflight.golden.llm.loader import cache_dir
    tokenizers = cache_dir() / "tokenizers"     # fresh DSE caches, the user's tokenizer cache
    tokenizers.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "tokenizers").symlink_to(tokenizers, target_is_directory=True)
    monkeypatch.setenv("BITFLIGHT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["sweep", str(CI_SPEC), "-o", str(out), "--workers", "2", "--no-progress"]) == 0
    # 3 syntheses serve every point (a 1x1 BitMoD prefill array, tiny's decode column as one
    # band of 2 rows, a one-chain MPU); 3 perplexity jobs (bitmod-w4, flightllm at MLP density
    # 0.5 and 1.0); the perf-only points have none
    assert "tasks run now: 10 point, 3 synth, 3 perplexity" in capsys.readouterr().out
    store = Store(out)
    recs = {r["key"]: r for r in store.records()}
    synth = {k: dict(zip(("target", "resources"), (t, res))) for k, t, res in store.db.execute(
        "SELECT key, target, resources FROM synth_cache")}
    luts = {}
    for v in synth.values():
        luts.setdefault(v["target"], []).append(yaml.safe_load(v["resources"])["lut"])
    one_pe, band = sorted(luts["bitmod-array"])       # the 2-row column is the larger
    bm = next(r for r in recs.values() if r["params"].get("bitmod.prefill_array.rows") == 4)
    # tiny has both engines, and the top builds both BitMoD arrays: the 4 x 2 prefill array as
    # 8 x the 1x1 array, the 8 x 1 decode column as 4 x the 2-row band, and 2 chains x the
    # one-chain MPU
    assert bm["lut"] == 8 * one_pe + 4 * band + 2 * luts["csd-mpu"][0]
    assert "decode: 2x1 of 8x1 PEs" in bm["area_note"]
    assert bm["decode_tokens_per_s_per_klut"] == bm["decode_tokens_per_s"] / (bm["lut"] / 1000)
    nm = [r for r in recs.values() if r["space"] == "bitmod-nm"]
    assert len(nm) == 2 and all(r["perplexity_note"].startswith("n/a: perf-only") for r in nm)
    # perplexity: the golden accelerator numerics computed here, independently of the sweep
    torch.set_num_threads(1)
    model = load_model("smollm2")
    tokens = corpus_tokens(load_tokenizer("smollm2"), 64)
    want = perplexity(accelerator_model(model, load_policy("bitmod-w4"), linear="dequant"),
                      tokens, 32)
    got = {r["perplexity"] for r in recs.values() if r.get("policy") == "bitmod-w4"}
    assert got == {want} and math.isfinite(want)
    report = (out / "report.md").read_text()
    assert "## Chosen design" in report and "pareto-perplexity-decode_tokens_per_s.png" in report
    # a new results folder re-synthesizes and re-measures nothing (the shared file caches)
    assert main(["sweep", str(CI_SPEC), "-o", str(tmp_path / "again"), "--workers", "2",
                 "--no-progress"]) == 0
    assert "tasks run now: 10 point, 0 synth, 0 perplexity" in capsys.readouterr().out
    assert comparable(Store(tmp_path / "again").records()) == comparable(list(recs.values()))

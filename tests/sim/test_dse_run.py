"""Running sweeps: metrics equal the perf model's, reruns resume, interruptions lose nothing
finished, the report is redrawn from the store, NSGA-II continues its study."""
from pathlib import Path

import pytest
import yaml

from bitflight.base import config
from bitflight.cli import main
from bitflight.golden.model_shapes import load_shape
from bitflight.sim.dse.executors import LocalExecutor
from bitflight.sim.dse.runner import Sweep
from bitflight.sim.dse.spec import load_spec
from bitflight.sim.dse.store import Store
from bitflight.sim.perf.analyze import analyze
from bitflight.sim.perf.policy_loader import load_policy

from dse_helpers import CI_SPEC, comparable, perf_only_spec


def run(spec_path: Path, out: Path, executor=None) -> Sweep:
    spec = load_spec(spec_path)
    executor = executor or LocalExecutor(2)
    sweep = Sweep(spec, spec_path.read_text(), spec_path.parent, out, executor, progress=False)
    try:
        sweep.run()
    finally:
        executor.close()
    return sweep


class StopAfter:
    """An executor that is interrupted (KeyboardInterrupt) after ``n`` results."""

    def __init__(self, n: int):
        self.inner, self.n, self.name = LocalExecutor(2), n, "stop-after"

    def run(self, tasks):
        for i, item in enumerate(self.inner.run(tasks)):
            if i == self.n:
                raise KeyboardInterrupt
            yield item

    def close(self):
        self.inner.close()


def test_metrics_are_the_perf_models_and_a_rerun_computes_nothing(tmp_path):
    spec = perf_only_spec(tmp_path)
    first = run(spec, tmp_path / "out")
    records = first.store.records()
    assert first.ran == {"point": 10, "synth": 0, "perplexity": 0}
    assert sorted(r["status"] for r in records) == ["invalid"] * 2 + ["ok"] * 10
    # an independent expectation: the 4x2 BitMoD array at 200 MHz, built by hand
    raw = yaml.safe_load((CI_SPEC.parents[1] / "tiny.yaml").read_text())
    raw["buffers"].update(weight_kb=512, act_kb=64, output_kb=256)
    # the sweep sets the decode column's rows; tiny's tile of 2 rows and band of 2 stay
    raw["bitmod"].update(prefill_array={"rows": 4, "cols": 2},
                         decode_array={"rows": 8, "cols": 1, "tile": {"rows": 2, "cols": 1},
                                       "band": 2})
    raw["clock_mhz"] = 200.0
    shape = load_shape("smollm2-135m")
    expected = analyze(shape, config.Config.model_validate(raw), load_policy("bitmod-w4", shape),
                       16, 8)
    rec = next(r for r in records if r["params"].get("bitmod.prefill_array.rows") == 4
               and r["params"]["clock_mhz"] == 200)
    assert rec["decode_tokens_per_s"] == expected.decode_tokens_per_second
    assert rec["prefill_tokens_per_s"] == 16 / expected.prefill_seconds
    assert rec["policy"] == "bitmod-w4" and rec["engine"] == "bitmod"
    again = run(spec, tmp_path / "out")
    assert again.ran == {"point": 0, "synth": 0, "perplexity": 0}
    assert comparable(again.store.records()) == comparable(records)


def test_an_interrupted_sweep_keeps_what_finished_and_the_rerun_does_the_rest(tmp_path):
    spec = perf_only_spec(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(spec, tmp_path / "out", StopAfter(3))
    store = Store(tmp_path / "out")
    assert store.counts().get("ok") == 3            # plus the 2 invalid, recorded up front
    store.close()
    rest = run(spec, tmp_path / "out")
    assert rest.ran["point"] == 7
    # a lost row (a worker that died) is recomputed alone
    rest.store.db.execute("DELETE FROM points WHERE rowid = (SELECT MAX(rowid) FROM points "
                          "WHERE status = 'ok')")
    rest.store.db.commit()
    assert run(spec, tmp_path / "out").ran["point"] == 1


def test_cli_writes_and_redraws_the_report(tmp_path, capsys):
    spec = perf_only_spec(tmp_path, report={"fronts": [{"x": "prefill_s", "y":
                                                        "decode_tokens_per_s"}]})
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "-o", str(out), "--workers", "2", "--no-progress"]) == 0
    assert "points 10 ok, 2 invalid" in capsys.readouterr().out
    png = out / "pareto-prefill_s-decode_tokens_per_s.png"
    text = (out / "report.md").read_text()
    assert png.read_bytes()[:4] == b"\x89PNG" and png.name in text
    assert "config tiny: bitmod: prefill_array and decode_array must have the same" in text
    csv_lines = (out / "points.csv").read_text().splitlines()
    assert len(csv_lines) == 13 and csv_lines[0].startswith("key,space,status,reason,config")
    png.unlink()
    (out / "report.md").unlink()
    assert main(["sweep", "--report", str(out)]) == 0
    assert png.is_file() and (out / "report.md").read_text() == text.replace(
        text[text.index("Wall time"):text.index("\n", text.index("Wall time")) + 1], "")


def test_report_of_a_folder_without_results_is_one_line(tmp_path, capsys):
    assert main(["sweep", "--report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"bitflight sweep: error: {tmp_path / 'results.sqlite'}: no sweep results here"


def test_nsga2_asks_generations_and_a_rerun_continues_the_study(tmp_path):
    import optuna
    search = {"method": "nsga2", "samples": 8, "population": 4, "seed": 1,
              "objectives": [{"metric": "decode_tokens_per_s"}, {"metric": "prefill_s"}]}
    spec = perf_only_spec(tmp_path, search=search)
    first = run(spec, tmp_path / "out")
    url = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    trials = optuna.load_study(study_name="ci-tiny", storage=url).trials
    assert len(trials) == 8
    keys = set(first.store.point_status())
    assert {t.user_attrs["point"] for t in trials} <= keys
    # every invalid point became a failed trial, every valid one a completed trial
    status = first.store.point_status()
    for t in trials:
        ok = status[t.user_attrs["point"]] == "ok"
        assert (t.state == optuna.trial.TrialState.COMPLETE) == ok
    spec.write_text(spec.read_text().replace("samples: 8", "samples: 12"))
    more = run(spec, tmp_path / "out")
    assert len(optuna.load_study(study_name="ci-tiny", storage=url).trials) == 12
    assert more.ran["point"] <= 4                  # repeated points come from the store


def test_random_search_draws_the_same_points_for_a_seed_and_resumes(tmp_path):
    data = yaml.safe_load(perf_only_spec(tmp_path).read_text())
    data["space"] = [{"name": "csd", "axes": {
        "policy": "flightllm", "clock_mhz": {"uniform": [100.0, 300.0]},
        "policy.rules.0.weight.sparsity.density": [0.25, 0.5, 1.0]}}]
    data["search"] = {"method": "random", "samples": 5, "seed": 3}
    spec = tmp_path / "random.yaml"
    spec.write_text(yaml.safe_dump(data))
    first = run(spec, tmp_path / "out")
    drawn = first.candidates()
    assert drawn == run(spec, tmp_path / "other").candidates()
    assert len(drawn) == 5 and all(100.0 <= p["clock_mhz"] <= 300.0 for _, p in drawn)
    clocks = {r["params"]["clock_mhz"] for r in first.store.records()}
    assert clocks == {p["clock_mhz"] for _, p in drawn}
    assert run(spec, tmp_path / "out").ran["point"] == 0

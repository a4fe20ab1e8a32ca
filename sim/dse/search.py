"""Multi-objective search with Optuna's NSGA-II sampler (``search.method: nsga2``).

Trials are asked one generation (``population``) at a time, their points evaluated together by
the runner (so the executor runs a generation in parallel and cached points cost nothing), then
told: the objectives' values, or FAIL for an invalid point or a missing objective metric. The
spec's constraints become NSGA-II constraints (a point outside them loses to any point inside).
The study lives in the results store (Optuna's own tables in the same SQLite file), so a rerun
continues it: trials a killed run left RUNNING are marked FAIL and not counted.

With several sub-spaces the trial first picks one (``space``), then that sub-space's axes,
named ``<space>/<axis>`` so that equal keys in two sub-spaces do not clash.
"""
from __future__ import annotations

from . import space as space_mod


def _constraint_values(record: dict, constraints: dict) -> list[float]:
    """NSGA-II convention: <= 0 is satisfied."""
    out = []
    for name, b in constraints.items():
        v = record.get(name)
        if b.max is not None:
            out.append(float("inf") if v is None else v - b.max)
        if b.min is not None:
            out.append(float("inf") if v is None else b.min - v)
    return out


def run_nsga2(sweep) -> None:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.spec
    s = spec.search
    constraints = spec.constraints

    n_constraints = len(_constraint_values({}, constraints))

    def constraints_func(trial):
        return trial.user_attrs.get("constraints", [0.0] * n_constraints)

    sampler = optuna.samplers.NSGAIISampler(
        population_size=s.population, seed=s.seed,
        constraints_func=constraints_func if constraints else None)
    study = optuna.create_study(
        storage=f"sqlite:///{sweep.store.path}", study_name=spec.name, sampler=sampler,
        load_if_exists=True,
        directions=["maximize" if o.direction == "max" else "minimize" for o in s.objectives])
    running = optuna.trial.TrialState.RUNNING
    for t in study.get_trials(deepcopy=False, states=(running,)):   # left by a killed run
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
    # a trial counts once its point is recorded (the attribute is set just before tell)
    counted = [t for t in study.get_trials(deepcopy=False) if "point" in t.user_attrs]
    subspaces = {sub.name: sub for sub in spec.space}
    names = list(subspaces)
    done = len(counted)
    while done < s.samples:
        batch = []
        for _ in range(min(s.population, s.samples - done)):
            trial = study.ask()
            name = trial.suggest_categorical("space", names) if len(names) > 1 else names[0]
            prefix = f"{name}/" if len(names) > 1 else ""
            batch.append((trial, name, space_mod.suggest(trial, subspaces[name].parsed, prefix)))
        points = [sweep.resolver.resolve(name, params) for _, name, params in batch]
        records = sweep.evaluate(points)
        for (trial, _, _), p in zip(batch, points):
            record = records[p.key]
            trial.set_user_attr("point", p.key)
            values = [record.get(o.metric) for o in s.objectives]
            if record["status"] != "ok" or any(v is None for v in values):
                trial.set_user_attr("reason", record.get("reason") or "objective missing")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            if constraints:
                trial.set_user_attr("constraints", _constraint_values(record, constraints))
            study.tell(trial, values)
        done += len(batch)

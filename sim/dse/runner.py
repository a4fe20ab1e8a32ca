"""Runs a sweep: points from the spec's search, their tasks on an executor, results into the
store, and never a task whose result the store (or the shared synthesis cache) already holds.

Per point the runner resolves (:mod:`.points`: invalid points are recorded at once), plans its
area (one synthesis per distinct engine Verilog, :mod:`.area`) and its perplexity job (one per
quality model x policy), and links the point to them; then it runs the missing tasks, longest
kinds first, with a progress bar (ETA) on stderr.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import area as area_mod
from . import evaluate, space
from .executors import Task
from .points import Invalid, Point, Resolver
from .store import FINAL, Store
from .file_cache import ResultFileCache


class Sweep:
    def __init__(self, spec, spec_text: str, spec_dir: Path, results: Path, executor,
                 progress: bool = True):
        self.spec, self.executor, self.progress = spec, executor, progress
        self.store = Store(results)
        self.store.set_meta("spec", spec_text)
        self.resolver = Resolver(spec, spec_dir)
        self.files = {kind: ResultFileCache(kind) for kind in ("synth", "perplexity")}
        self.ran: dict[str, int] = {"point": 0, "synth": 0, "perplexity": 0}

    # -- which points ---------------------------------------------------------------------------
    def candidates(self) -> list[tuple[str, dict]]:
        """(sub-space, params) of every point of a grid or random search."""
        s = self.spec.search
        if s.method == "grid":
            return [(sub.name, p) for sub in self.spec.space for p in space.grid(sub.parsed)]
        import numpy as np
        rng = np.random.default_rng(s.seed)
        out = []
        for _ in range(s.samples):
            sub = self.spec.space[int(rng.integers(len(self.spec.space)))]
            out.append((sub.name, space.sample(sub.parsed, rng)))
        return out

    def run(self) -> None:
        if self.spec.search.method == "nsga2":
            from .search import run_nsga2
            run_nsga2(self)
        else:
            self.evaluate([self.resolver.resolve(s, p) for s, p in self.candidates()])

    # -- planning -------------------------------------------------------------------------------
    def _area_links(self, p: Point, jobs: dict) -> list | dict | None:
        spec = self.spec.metrics.area
        if spec is None:
            return None
        provider = area_mod.PROVIDERS[spec.provider]
        try:
            links = []
            for part in provider.plan(p.cfg, spec.options):
                job = area_mod.synth_job(part, spec.family)
                jobs.setdefault(job.key, job)
                links.append({"key": job.key, "scale": part.scale, "target": part.target,
                              "note": part.note})
            return links
        except ValueError as exc:
            return {"error": f"area: {evaluate.one_line(exc)}"}

    def _perplexity_link(self, p: Point, jobs: dict) -> str | None:
        spec = self.spec.metrics.perplexity
        if spec is None:
            return None
        if p.project is None:
            return ("n/a: perf-only policy (golden.policy cannot express it, so golden "
                    "numerics cannot run it)")
        job = evaluate.perplexity_job(p.project, spec)
        jobs.setdefault(job.key, job)
        return job.key

    # -- running --------------------------------------------------------------------------------
    def evaluate(self, points: list[Point | Invalid]) -> dict[str, dict]:
        """Record, plan and run every point (duplicates once); the joined records by key."""
        status = self.store.point_status()
        unique = {p.key: p for p in points}
        synth_jobs: dict = {}
        ppl_jobs: dict = {}
        tasks, links = [], {}
        for key, p in unique.items():
            if isinstance(p, Invalid):
                if status.get(key) not in FINAL:
                    self.store.put_point(key, p.space, "invalid", p.reason, p.params)
                continue
            links[key] = (self._area_links(p, synth_jobs), self._perplexity_link(p, ppl_jobs))
            if status.get(key) in FINAL:
                self.store.link(key, *links[key])
            else:
                tasks.append(Task(key, "point", p, self.spec.cpus.point))
        self._schedule("synth", synth_jobs, self.store.synth_done(), tasks)
        self._schedule("perplexity", ppl_jobs, self.store.perplexity_done(), tasks)
        self._run(tasks, unique, links)
        wanted = set(unique)
        return {r["key"]: r for r in self.store.records() if r["key"] in wanted}

    def _schedule(self, kind: str, jobs: dict, done: set, tasks: list[Task]) -> None:
        """Queue the jobs neither the store nor the shared file cache holds, longest kinds
        first (a synthesis or a perplexity run takes minutes, a point a fraction of a second)."""
        for key, job in jobs.items():
            if key in done:
                continue
            cached = self.files[kind].get(key)
            if cached is not None:
                self._store_job(kind, job, cached)
            else:
                cpus = self.spec.cpus.synth if kind == "synth" else float(job.threads)
                tasks.insert(0, Task(key, kind, job, cpus))

    def _store_job(self, kind: str, job, result: dict) -> None:
        if kind == "synth":
            self.store.put_synth(job.key, job.target, job.family, result)
        else:
            self.store.put_perplexity(job, result)

    def _run(self, tasks: list[Task], points: dict, links: dict) -> None:
        if not tasks:
            return
        from tqdm import tqdm
        kinds = {k: sum(t.kind == k for t in tasks) for k in self.ran}
        bar = tqdm(total=len(tasks), desc=self.spec.name, unit="task", file=sys.stderr,
                   disable=not self.progress, smoothing=0.05)
        done = dict.fromkeys(kinds, 0)
        try:
            for task, result in self.executor.run(tasks):
                self._record(task, result, points, links)
                done[task.kind] += 1
                self.ran[task.kind] += 1
                bar.set_postfix_str(", ".join(f"{k} {done[k]}/{n}" for k, n in kinds.items()
                                              if n), refresh=False)
                bar.update()
        finally:
            bar.close()

    def _record(self, task: Task, result: dict, points: dict, links: dict) -> None:
        if task.kind == "point":
            p: Point = points[task.id]
            area, ppl = links[task.id]
            self.store.put_point(task.id, p.space, result["status"], result.get("reason"),
                                 p.params, p.names, result.get("metrics"), area, ppl,
                                 result.get("seconds"))
        else:
            self._store_job(task.kind, task.payload, result)
            self.files[task.kind].put(task.payload.key, result)

    def close(self) -> None:
        self.store.close()

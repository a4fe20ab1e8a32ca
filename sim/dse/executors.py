"""Where sweep tasks run: a local process pool (default) or a Ray cluster (``--ray ADDRESS``).

Both take :class:`Task` s and yield ``(task, result)`` as tasks finish, in any order; the result
is :func:`.evaluate.run_task`'s dict. A task whose worker process dies is retried on a fresh
worker; after :data:`ATTEMPTS` deaths its result is ``error: worker process died``, so a crash
costs that task only. Ray is imported only when asked for (it is a heavy import).
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from .evaluate import run_task

ATTEMPTS = 3


class Task(NamedTuple):
    id: str
    kind: str             # point | synth | perplexity
    payload: Any
    cpus: float = 1.0


def _died(task: Task, detail: str) -> dict:
    return {"status": "error", "reason": f"worker process died {ATTEMPTS} times ({detail})",
            "seconds": None}


class LocalExecutor:
    """``workers`` spawned processes (spawn: no inherited threads or torch state). A task asks
    for ``ceil(cpus)`` of them in the sense that at most ``workers`` CPUs' worth of tasks run at
    once; here every task takes one worker."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.name = f"local process pool ({self.workers} workers)"
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, tasks: Iterable[Task], fn: Callable = run_task) -> Iterator[tuple[Task, dict]]:
        # A dead worker breaks the whole pool and fails every task in flight; those tasks are
        # then rerun one at a time ("suspects"), so a death is only counted against the task
        # that was alone when it happened.
        pending, suspects, inflight, deaths = deque(tasks), deque(), {}, {}
        self._pool = self._pool or self._new_pool()
        try:
            while pending or suspects or inflight:
                if suspects and not inflight:
                    task = suspects.popleft()
                    inflight[self._pool.submit(fn, task.kind, task.payload)] = task
                while not suspects and pending and len(inflight) < 2 * self.workers:
                    task = pending.popleft()
                    inflight[self._pool.submit(fn, task.kind, task.payload)] = task
                solo = len(inflight) == 1
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    task = inflight.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        deaths[task.id] = deaths.get(task.id, 0) + solo
                        if deaths[task.id] >= ATTEMPTS:
                            yield task, _died(task, str(exc).split(".")[0])
                        else:
                            suspects.append(task)
                        continue
                    yield task, result
                if broken:
                    suspects.extend(inflight.values())
                    inflight.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
        finally:
            if inflight:                          # interrupted: do not wait for the stragglers
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Tasks as Ray remote functions with ``num_cpus=task.cpus``. ``address``: ``local`` starts
    a private Ray runtime on this machine with ``cpus`` CPUs; anything else is passed to
    ``ray.init(address=...)`` (``auto``, ``ray://head:10001``, ``head:6379``), and the cluster
    decides where tasks run. Every node needs the same bitflight installed (docs/dse.md)."""

    def __init__(self, address: str, cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise ValueError("--ray: Ray is not installed (pip install 'bitflight[dse]')") \
                from None
        self._ray = ray
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address == "local":
            kwargs["num_cpus"] = cpus or os.cpu_count() or 1
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ValueError(f"--ray {address}: cannot start or reach Ray "
                             f"({str(exc).splitlines()[0]})") from None
        total = int(ray.cluster_resources().get("CPU", 0))
        self.name = f"Ray ({'local runtime' if address == 'local' else address}, {total} CPUs)"
        self._remote = ray.remote(max_retries=ATTEMPTS - 1)(_ray_call)

    def run(self, tasks: Iterable[Task], fn: Callable = run_task) -> Iterator[tuple[Task, dict]]:
        ray = self._ray
        refs = {self._remote.options(num_cpus=t.cpus).remote(fn, t.kind, t.payload): t
                for t in tasks}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    task = refs.pop(ref)
                    try:
                        yield task, ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        yield task, _died(task, type(exc).__name__)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        self._ray.shutdown()


def _ray_call(fn: Callable, kind: str, payload: Any) -> dict:
    return fn(kind, payload)

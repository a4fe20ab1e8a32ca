"""Where sweep tasks run: a local process pool (default) or a Ray cluster (``--ray ADDRESS``).

Both take :class:`Task` s and yield ``(task, result)`` as tasks finish, in any order; the result
is :func:`.evaluate.run_task`'s dict. A task whose worker process dies is retried on a fresh
worker; after :data:`ATTEMPTS` deaths its result is ``error: worker process died``, so a crash
costs that task only (a local worker runs one task at a time, so every death is attributed).
Ray is imported only when asked for (it is a heavy import).
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from multiprocessing import connection
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ...base.errors import UsageError
from .evaluate import run_task

ATTEMPTS = 3


class Task(NamedTuple):
    id: str
    kind: str             # point | synth | perplexity
    payload: Any
    cpus: float = 1.0


def _died(detail: str) -> dict:
    return {"status": "error", "reason": f"worker process died {ATTEMPTS} times ({detail})",
            "seconds": None}


class _Worker:
    """One spawned process running one task at a time (spawn: no inherited threads or torch
    state), so a death is always the death of one known task."""

    def __init__(self, ctx, fn: Callable):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, fn), daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.conn.close()


def _serve(conn, fn: Callable) -> None:
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        conn.send(fn(*item))


class LocalExecutor:
    """``workers`` processes on this machine (default: the CPU count), each running one task at
    a time; a task's ``cpus`` is not enforced here (it is on Ray)."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.name = f"local process pool ({self.workers} workers)"
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._fn: Callable | None = None

    def run(self, tasks: Iterable[Task], fn: Callable = run_task) -> Iterator[tuple[Task, dict]]:
        if fn is not self._fn:                    # workers are bound to one function
            self.close()
            self._fn = fn
        pending, busy, deaths = deque(tasks), {}, {}
        try:
            while pending or busy:
                while pending and len(busy) < self.workers:
                    w = self._idle.pop() if self._idle else _Worker(self._ctx, fn)
                    try:
                        w.conn.send((pending[0].kind, pending[0].payload))
                    except OSError:               # it died while idle: not the task's fault
                        w.proc.join()
                        w.conn.close()
                        continue
                    w.task = pending.popleft()
                    busy[w.conn] = w
                for conn in connection.wait(list(busy)):
                    w = busy.pop(conn)
                    try:
                        result = conn.recv()
                    except (EOFError, OSError):   # the process died with the task
                        w.proc.join()
                        n = deaths[w.task.id] = deaths.get(w.task.id, 0) + 1
                        if n < ATTEMPTS:
                            pending.appendleft(w.task)
                        else:
                            yield w.task, _died(f"exit code {w.proc.exitcode}")
                        w.conn.close()
                        continue
                    task, w.task = w.task, None
                    self._idle.append(w)
                    yield task, result
        finally:
            for w in busy.values():              # interrupted: stop the tasks in flight
                w.proc.terminate()
                w.proc.join()
                w.conn.close()

    def close(self) -> None:
        for w in self._idle:
            w.stop()
        self._idle = []


class RayExecutor:
    """Tasks as Ray remote functions with ``num_cpus=task.cpus``. ``address``: ``local`` starts
    a private Ray runtime on this machine with ``cpus`` CPUs; anything else is passed to
    ``ray.init(address=...)`` (``auto``, ``ray://head:10001``, ``head:6379``), and the cluster
    decides where tasks run. Every node needs the same bitflight installed (docs/dse.md)."""

    def __init__(self, address: str, cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise UsageError("--ray: Ray is not installed (pip install 'bitflight[dse]')") \
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
            raise UsageError(f"--ray {address}: cannot start or reach Ray "
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
                        result = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                            ray.exceptions.OutOfMemoryError) as exc:
                        result = _died(type(exc).__name__)
                    except ray.exceptions.RayError as exc:  # e.g. a payload that cannot load
                        result = {"status": "error", "seconds": None,
                                  "reason": f"Ray: {type(exc).__name__}: "
                                            f"{str(exc).strip().splitlines()[-1]}"}
                    yield task, result
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        self._ray.shutdown()


def _ray_call(fn: Callable, kind: str, payload: Any) -> dict:
    return fn(kind, payload)

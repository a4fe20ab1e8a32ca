"""Executors: every task's result comes back once; a worker that dies costs only its task."""
from bitflight.sim.dse.executors import ATTEMPTS, LocalExecutor, Task

from dse_helpers import die_on_request


def test_local_pool_returns_every_result_and_survives_a_dying_worker():
    tasks = [Task(str(i), "point", i) for i in range(10)]
    tasks.insert(4, Task("bad", "point", "die"))
    ex = LocalExecutor(2)
    try:
        results = {t.id: r for t, r in ex.run(tasks, fn=die_on_request)}
        again = {t.id: r for t, r in ex.run([Task("after", "point", 42)], fn=die_on_request)}
    finally:
        ex.close()
    assert set(results) == {t.id for t in tasks}
    assert all(results[str(i)] == {"status": "ok", "echo": i, "kind": "point"} for i in range(10))
    assert results["bad"]["status"] == "error"
    assert results["bad"]["reason"].startswith(f"worker process died {ATTEMPTS} times")
    assert again["after"]["echo"] == 42            # the pool was rebuilt after the deaths

"""Worker functions for tests/sim/test_dse_executors.py (importable by spawned workers)."""
import os


def die_on_request(kind: str, payload) -> dict:
    """Echo the payload; kill the worker process outright when it is "die"."""
    if payload == "die":
        os._exit(3)
    return {"status": "ok", "echo": payload, "kind": kind}

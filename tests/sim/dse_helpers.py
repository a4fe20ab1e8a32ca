"""Shared by the sweep tests: the CI spec and its fast variant, record comparison, and a worker
function for the executor tests (a module, so spawned workers can import it)."""
import os
from pathlib import Path

import yaml

CI_SPEC = Path(__file__).resolve().parents[2] / "configs" / "sweeps" / "ci-tiny.yaml"


def perf_only_spec(tmp_path: Path, **changes) -> Path:
    """The CI spec without area and perplexity (fast), with ``changes`` to its top level."""
    data = yaml.safe_load(CI_SPEC.read_text())
    data["metrics"] = {"compile": True}
    data.pop("choose")
    data.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def comparable(records: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in r.items() if k != "seconds"} for r in records),
                  key=lambda r: r["key"])


def die_on_request(kind: str, payload) -> dict:
    """Echo the payload; kill the worker process outright when it is "die"."""
    if payload == "die":
        os._exit(3)
    return {"status": "ok", "echo": payload, "kind": kind}

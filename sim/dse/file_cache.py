"""Synthesis and perplexity results shared by every sweep on this machine:
``<cache>/dse-<kind>/<key>.json`` (``$BITFLIGHT_CACHE`` or ``~/.cache/bitflight``), keyed like the
store's caches by content hash (:func:`.area.synth_job`, :func:`.evaluate.perplexity_job`). A new
results folder, or a colleague's sweep, reuses what any earlier sweep computed. Only ``ok``
results are kept; files are written atomically; an unreadable file is a miss.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...base.atomic_file import write_atomic


class ResultFileCache:
    def __init__(self, kind: str, root: Path | None = None):
        if root is None:
            from ...golden.llm.loader import cache_dir
            root = cache_dir()
        self.root = Path(root) / f"dse-{kind}"

    def get(self, key: str) -> dict | None:
        try:
            data = json.loads((self.root / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("status") == "ok" else None

    def put(self, key: str, result: dict) -> None:
        if result.get("status") != "ok":
            return
        try:
            write_atomic(self.root / f"{key}.json", json.dumps(result, sort_keys=True))
        except ValueError:
            pass          # a read-only cache folder costs a recomputation later, nothing else

"""Synthesis results shared by every sweep on this machine: ``<cache>/dse-synth/<key>.json``
(``$BITFLIGHT_CACHE`` or ``~/.cache/bitflight``), keyed like the store's ``synth_cache`` by the
content hash of the Verilog, the top, the family, the Yosys version and the flow version
(:func:`.area.synth_job`). A new results folder, or a colleague's sweep, reuses a synthesis that
any earlier sweep ran. Files are written atomically; an unreadable file is a miss.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...golden.atomic_file import write_atomic


class SynthFileCache:
    def __init__(self, root: Path | None = None):
        if root is None:
            from ...golden.llm.loader import cache_dir
            root = cache_dir() / "dse-synth"
        self.root = Path(root)

    def get(self, key: str) -> dict | None:
        try:
            data = json.loads((self.root / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("status") == "ok" else None

    def put(self, key: str, result: dict) -> None:
        try:
            write_atomic(self.root / f"{key}.json", json.dumps(result, sort_keys=True))
        except ValueError:
            pass          # a read-only cache folder costs a re-synthesis later, nothing else

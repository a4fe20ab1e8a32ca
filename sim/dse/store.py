"""The results store: one SQLite file (``RESULTS/results.sqlite``) that survives interruption.

Only the process that runs the sweep writes it, one committed transaction per finished task, so
a killed sweep loses at most the tasks in flight, and a rerun skips every point whose key is
already there (``ok`` or ``invalid``; ``error`` rows are retried). Tables:

* ``points``: one row per point key: status, reason, the axis parameters, the names it was built
  from, the perf metrics (JSON), and links to its area parts and perplexity job;
* ``synth_cache`` and ``perplexity_cache``: one row per content key of a synthesis or a
  perplexity measurement, shared by every point that needs it (failures are retried on rerun);
* ``meta``: the spec text of the last run (``--report`` redraws from it).

With ``search.method: nsga2`` Optuna keeps its study in the same file (its own tables).
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from ...base.errors import OutputError, UsageError
from . import metrics as M

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS points (
  key TEXT PRIMARY KEY, space TEXT, status TEXT, reason TEXT, params TEXT, names TEXT,
  metrics TEXT, area TEXT, perplexity_key TEXT, seconds REAL, finished REAL);
CREATE TABLE IF NOT EXISTS synth_cache (
  key TEXT PRIMARY KEY, target TEXT, family TEXT, status TEXT, reason TEXT, resources TEXT,
  seconds REAL);
CREATE TABLE IF NOT EXISTS perplexity_cache (
  key TEXT PRIMARY KEY, model TEXT, policy TEXT, tokens INTEGER, seq_len INTEGER, status TEXT,
  reason TEXT, value REAL, seconds REAL);
"""
FILE = "results.sqlite"
FINAL = ("ok", "invalid")


class Store:
    def __init__(self, folder: str | Path, create: bool = True):
        self.folder = Path(folder)
        self.path = self.folder / FILE
        if not create and not self.path.is_file():
            raise UsageError(f"{self.path}: no sweep results here")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=60)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"{self.path}: cannot open the results store ({exc})") from None

    def close(self) -> None:
        self.db.close()

    # -- meta -----------------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- points ---------------------------------------------------------------------------------
    def point_status(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, status FROM points"))

    def put_point(self, key: str, space: str, status: str, reason: str | None, params: dict,
                  names: dict | None = None, metrics: dict | None = None,
                  area: list | None = None, perplexity_key: str | None = None,
                  seconds: float | None = None) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, space, status, reason, json.dumps(params, sort_keys=True),
                 _dumps(names), _dumps(metrics), _dumps(area), perplexity_key, seconds,
                 time.time()))

    def link(self, key: str, area: list | None, perplexity_key: str | None) -> None:
        """Point an existing row at its area parts and perplexity job (the spec's metric
        settings may have changed since the row was written)."""
        with self.db:
            self.db.execute("UPDATE points SET area = ?, perplexity_key = ? WHERE key = ?",
                            (_dumps(area), perplexity_key, key))

    # -- caches ---------------------------------------------------------------------------------
    def synth_done(self) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT key FROM synth_cache WHERE status = 'ok'")}

    def put_synth(self, key: str, target: str, family: str, result: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO synth_cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (key, target, family, result["status"], result.get("reason"),
                             _dumps(result.get("resources")), result.get("seconds")))

    def perplexity_done(self) -> set[str]:
        return {k for (k,) in
                self.db.execute("SELECT key FROM perplexity_cache WHERE status = 'ok'")}

    def put_perplexity(self, job, result: dict) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO perplexity_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.key, job.model, job.policy.model_dump_json(), job.tokens, job.seq_len,
                 result["status"], result.get("reason"), result.get("perplexity"),
                 result.get("seconds")))

    def counts(self) -> dict[str, int]:
        out = dict(self.db.execute("SELECT status, COUNT(*) FROM points GROUP BY status"))
        for table in ("synth_cache", "perplexity_cache"):
            out[table] = self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return out

    # -- joined records -------------------------------------------------------------------------
    def records(self) -> list[dict]:
        """Every point as one flat record: key, space, status, reason, the names it was built
        from, ``params``, its perf metrics, its area (summed over engines, scaled) or an
        ``area_note``, its ``perplexity`` or a ``perplexity_note``, and the derived metrics."""
        synth = {k: {"status": s, "reason": r, "resources": _loads(res)} for k, s, r, res in
                 self.db.execute("SELECT key, status, reason, resources FROM synth_cache")}
        ppl = {k: (s, r, v) for k, s, r, v in
               self.db.execute("SELECT key, status, reason, value FROM perplexity_cache")}
        out = []
        for key, space, status, reason, params, names, mets, area, pkey, secs in \
                self.db.execute("SELECT key, space, status, reason, params, names, metrics, "
                                "area, perplexity_key, seconds FROM points ORDER BY rowid"):
            rec = {"key": key, "space": space, "status": status, "reason": reason,
                   **(_loads(names) or {}), "params": json.loads(params), "seconds": secs}
            if status == "ok":
                rec.update(_loads(mets))
                _join_area(rec, _loads(area), synth)
                _join_perplexity(rec, pkey, ppl)
                M.derive(rec)
            out.append(rec)
        return out


def _join_area(rec: dict, parts: list | dict | None, synth: dict) -> None:
    if parts is None:
        rec["area_note"] = "area not requested"
    elif isinstance(parts, dict):                  # {"error": why}: the RTL refused the config
        rec["area_note"] = parts["error"]
    else:
        resources, note = M.area_of(parts, synth)
        rec.update(resources or {})
        rec["area_note"] = note or "; ".join(f"{p['target']}: {p['note']}" for p in parts)


def _join_perplexity(rec: dict, pkey: str | None, ppl: dict) -> None:
    if pkey is None or pkey.startswith("n/a:"):
        rec["perplexity_note"] = pkey or "perplexity not requested"
        return
    status, reason, value = ppl.get(pkey, ("pending", "perplexity pending", None))
    if status == "ok":
        rec["perplexity"] = value
    else:
        rec["perplexity_note"] = reason


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _loads(text: str | None):
    return None if text is None else json.loads(text)

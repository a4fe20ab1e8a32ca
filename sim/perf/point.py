"""One design point's performance metrics as a flat record (for ``bitflight sweep``, docs/dse.md).

The numbers are :func:`.analyze.analyze`'s (docs/perf.md conventions: one prefill of
``prompt_len`` tokens, ``gen_len`` decode steps, batch 1); this module only names them:

* ``prefill_tokens_per_s`` = prompt_len / prefill seconds; ``decode_tokens_per_s`` = gen_len /
  decode seconds;
* ``energy_j`` the whole run (prefill + decode), ``energy_per_token_j`` = energy_j / gen_len
  (the prompt's energy is charged to the tokens it produces), ``decode_energy_per_token_j`` =
  decode energy / gen_len; all None when the config gives no energies for the engine;
* ``footprint_gb`` off-chip bytes / 1e9 (weights, embedding, K/V cache at the final length).
"""
from __future__ import annotations

from .analyze import analyze
from .result import RunTiming


def run_metrics(run: RunTiming) -> dict[str, float | str | bool | None]:
    gen = len(run.decode)
    energy = run.energy_pj
    return {
        "prefill_tokens_per_s": run.prefill.tokens / run.prefill_seconds,
        "decode_tokens_per_s": run.decode_tokens_per_second if gen else None,
        "prefill_s": run.prefill_seconds,
        "decode_s": run.decode_seconds,
        "total_s": run.total_seconds,
        "prefill_cycles": run.prefill.cycles,
        "prefill_limit": run.prefill.limiting_unit,
        "decode_limit": run.decode[-1].limiting_unit if gen else None,
        "energy_j": energy["total"] * 1e-12 if energy else None,
        "energy_per_token_j": energy["total"] * 1e-12 / gen if energy and gen else None,
        "decode_energy_per_token_j": energy["decode"] * 1e-12 / gen if energy and gen else None,
        "footprint_gb": run.footprint_bytes / 1e9,
        "fits_memory": run.fits_memory,
    }


def point_metrics(shape, cfg, policy, prompt_len: int, gen_len: int) -> dict:
    """:func:`run_metrics` of ``analyze(shape, cfg, policy, prompt_len, gen_len)``."""
    return run_metrics(analyze(shape, cfg, policy, prompt_len, gen_len))

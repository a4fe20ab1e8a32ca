"""The metrics a sweep records, their units and which way is better, and the record of one point
joined from the store (perf metrics, scaled area, perplexity, derived ratios).

Area comes from :mod:`.area` (synthesis at a reduced shape times a scale, one entry per engine);
a point's area is the sum over its engines. Perplexity comes from golden accelerator numerics on
the spec's quality model (docs/dse.md). Derived metrics are ratios of the two.
"""
from __future__ import annotations

from typing import NamedTuple


class Metric(NamedTuple):
    unit: str
    goal: str            # "max" or "min": which way is better
    source: str          # perf | area | perplexity | derived
    text: str


METRICS: dict[str, Metric] = {
    "prefill_tokens_per_s": Metric("tokens/s", "max", "perf", "prompt tokens / prefill time"),
    "decode_tokens_per_s": Metric("tokens/s", "max", "perf", "generated tokens / decode time"),
    "prefill_s": Metric("s", "min", "perf", "prefill time"),
    "decode_s": Metric("s", "min", "perf", "time of all decode steps"),
    "total_s": Metric("s", "min", "perf", "prefill + decode time"),
    "energy_j": Metric("J", "min", "perf", "energy of the run (config energies)"),
    "energy_per_token_j": Metric("J/token", "min", "perf", "run energy / generated tokens"),
    "decode_energy_per_token_j": Metric("J/token", "min", "perf",
                                        "decode energy / generated tokens"),
    "footprint_gb": Metric("GB", "min", "perf", "off-chip weights + embedding + K/V cache"),
    "lut": Metric("LUT", "min", "area", "LUT1-6 + INV (Yosys)"),
    "ff": Metric("FF", "min", "area", "flip-flops (Yosys)"),
    "carry": Metric("CARRY", "min", "area", "CARRY4/8 (Yosys)"),
    "dsp": Metric("DSP", "min", "area", "DSP48 slices (Yosys)"),
    "bram": Metric("BRAM36", "min", "area", "36 Kb block RAMs (Yosys)"),
    "uram": Metric("URAM", "min", "area", "URAM288 (Yosys)"),
    "lutram": Metric("cells", "min", "area", "LUT RAM and SRL cells (Yosys)"),
    "perplexity": Metric("", "min", "perplexity", "golden accelerator numerics, quality model"),
    "decode_tokens_per_s_per_klut": Metric("tokens/s/kLUT", "max", "derived",
                                           "decode tokens/s per 1000 LUTs"),
    "prefill_tokens_per_s_per_klut": Metric("tokens/s/kLUT", "max", "derived",
                                            "prefill tokens/s per 1000 LUTs"),
}
AREA_FIELDS = ("lut", "ff", "carry", "dsp", "bram", "uram", "lutram")


def area_of(parts: list[dict], synth: dict[str, dict]) -> tuple[dict | None, str | None]:
    """(scaled area, None) when every engine's synthesis is done and ok; (None, why) else.

    ``parts``: the point's ``[{"key", "scale", "target"}]``; ``synth``: area-cache rows by key."""
    total = dict.fromkeys(AREA_FIELDS, 0.0)
    for part in parts:
        row = synth.get(part["key"])
        if row is None:
            return None, f"{part['target']}: synthesis pending"
        if row["status"] != "ok":
            return None, f"{part['target']}: {row['reason']}"
        for f in AREA_FIELDS:
            total[f] += row["resources"][f] * part["scale"]
    return total, None


def derive(record: dict) -> None:
    """Add the ratio metrics to a joined record (in place) where their inputs exist."""
    lut = record.get("lut")
    for stage in ("prefill", "decode"):
        tps = record.get(f"{stage}_tokens_per_s")
        record[f"{stage}_tokens_per_s_per_klut"] = (tps / (lut / 1000)
                                                    if tps is not None and lut else None)


def within(record: dict, bounds: dict) -> tuple[bool, str | None]:
    """Whether ``record`` meets every ``{metric: {min, max}}`` bound; else the first violation
    (a missing metric violates its bound)."""
    for name, b in bounds.items():
        value = record.get(name)
        if value is None:
            return False, f"{name} unknown"
        if b.min is not None and value < b.min:
            return False, f"{name} {value:.4g} < {b.min:.4g}"
        if b.max is not None and value > b.max:
            return False, f"{name} {value:.4g} > {b.max:.4g}"
    return True, None

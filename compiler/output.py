"""Writing and reading a compiled model: ``OUT/manifest.json``, ``OUT/segments.bin`` (the program
store: every distinct segment's instruction words) and ``OUT/image/ch<N>.bin`` (the memory image,
absent with ``--no-weights``). Every file is written to a temporary name and renamed.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import isa
from .build import ProgramStore
from .progfile import write_atomic
from .target import Target

FORMAT = "bitflight-compiled/1"


def stats(store: ProgramStore, seconds: float, target: Target) -> dict:
    per_bucket = {}
    for name, seg_ids in store.programs.items():
        count = dict.fromkeys(isa.TYPES, 0)
        for i in seg_ids:
            for k, v in store.counts[i].items():
                count[k] += v
        per_bucket[name] = {"bytes": sum(len(store.segments[i]) for i in seg_ids),
                            "instructions": count}
    unshared = sum(b["bytes"] for b in per_bucket.values())
    return {"program_bytes": store.store_bytes, "unshared_program_bytes": unshared,
            "compile_seconds": round(seconds, 3), "instructions": store.instructions(),
            "buckets": len(store.programs), "segments": len(store.segments),
            "image_bytes": target.layout.hbm.total, "per_bucket": per_bucket}


def write(out: Path, target: Target, store: ProgramStore, info: dict, weights: bool) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    offsets, pos = [], 0
    for seg in store.segments:
        offsets.append(pos)
        pos += len(seg)
    write_atomic(out / "segments.bin", b"".join(store.segments))
    image_files = {}
    if weights:
        for ch, data in target.image().items():
            name = f"image/ch{ch}.bin"
            write_atomic(out / name, data)
            image_files[str(ch)] = name
    manifest = {
        "format": FORMAT, "isa_version": isa.ISA_VERSION, **info,
        "prefill_step": store.prefill_step, "decode_step": store.decode_step,
        "segments": [{"offset": o, "bytes": len(s), "label": lbl, "instructions": c}
                     for o, s, lbl, c in zip(offsets, store.segments, store.labels,
                                             store.counts)],
        "programs": store.programs,
        "regions": {r.name: {"channel": r.channel, "addr": r.addr, "size": r.size}
                    for r in target.layout.hbm.regions.values()},
        "channel_bytes": {str(ch): n for ch, n in enumerate(target.layout.hbm.used) if n},
        "image": image_files,
    }
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def read_program(out: Path, bucket: str) -> bytes:
    """Instruction words of one bucket program of a compiled output folder."""
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{out}: no manifest.json (not a `bitflight compile` output)")
    manifest = json.loads(manifest_path.read_text())
    if bucket not in manifest["programs"]:
        known = ", ".join(list(manifest["programs"])[:6])
        raise ValueError(f"{out}: no bucket '{bucket}' (buckets: {known}, ...)")
    data = (out / "segments.bin").read_bytes()
    parts = []
    for i in manifest["programs"][bucket]:
        seg = manifest["segments"][i]
        parts.append(data[seg["offset"]:seg["offset"] + seg["bytes"]])
    return b"".join(parts)

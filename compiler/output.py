"""Writing and reading a compiled model: ``OUT/manifest.json``, ``OUT/segments.bin`` (the program
store: every distinct segment's instruction words) and ``OUT/image/ch<N>.bin`` (the memory image,
absent with ``--no-weights``).

The folder is whole or absent: it is built as a temporary sibling and renamed over ``OUT`` at the
end (bitflight.base.atomic_file.replacing_folder), so a failed compile leaves the previous output
intact
and never mixes new and old files. The manifest records every file's length and SHA-256; readers
refuse a file that was truncated, extended or altered, and every segment slice must lie inside
``segments.bin``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..base.errors import ProgramError
from ..base.atomic_file import os_cause, replacing_folder
from . import isa
from .build import ProgramStore
from .target import Target

FORMAT = "bitflight-compiled/2"     # /2: the manifest lists files with lengths and checksums


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


def is_output(folder: Path) -> bool:
    """True for a folder an earlier ``bitflight compile`` wrote (it may be replaced)."""
    return (Path(folder) / "manifest.json").is_file()


def write(out: Path, target: Target, store: ProgramStore, info: dict, weights: bool) -> dict:
    """Write the compiled model to the folder ``out`` (replacing an earlier output whole)."""
    with replacing_folder(out, is_output) as tmp:
        files: dict[str, dict] = {}

        def put(name: str, data: bytes) -> None:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
            files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

        offsets, pos = [], 0
        for seg in store.segments:
            offsets.append(pos)
            pos += len(seg)
        put("segments.bin", b"".join(store.segments))
        image_files = {}
        if weights:
            for ch, data in target.image().items():
                image_files[str(ch)] = name = f"image/ch{ch}.bin"
                put(name, data)
        manifest = {
            "format": FORMAT, "isa_version": isa.ISA_VERSION, **info,
            "prefill_step": store.prefill_step, "decode_step": store.decode_step,
            "files": files,
            "segments": [{"offset": o, "bytes": len(s), "label": lbl, "instructions": c}
                         for o, s, lbl, c in zip(offsets, store.segments, store.labels,
                                                 store.counts)],
            "programs": store.programs,
            "regions": {r.name: {"channel": r.channel, "addr": r.addr, "size": r.size}
                        for r in target.layout.hbm.regions.values()},
            "channel_bytes": {str(ch): n for ch, n in enumerate(target.layout.hbm.used) if n},
            "image": image_files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def read_manifest(out: Path) -> dict:
    """The manifest of a compiled folder; one-line errors naming the file."""
    out = Path(out)
    path = out / "manifest.json"
    if not path.is_file():
        raise ProgramError(f"{out}: no manifest.json (not a `bitflight compile` output)")
    try:
        manifest = json.loads(path.read_text())
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read ({os_cause(exc)})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ProgramError(f"{path}: not valid JSON{line}") from None
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT:
        raise ProgramError(f"{path}: format {found!r}, this bitflight reads {FORMAT!r} "
                         "(compile the model again)")
    for key in ("files", "segments", "programs"):
        if not isinstance(manifest.get(key), (dict, list)):
            raise ProgramError(f"{path}: field '{key}' missing or malformed")
    return manifest


def read_file(out: Path, manifest: dict, name: str) -> bytes:
    """A file of the folder, checked against the length and SHA-256 in the manifest."""
    path = Path(out) / name
    record = manifest["files"].get(name)
    if not isinstance(record, dict) or not {"bytes", "sha256"} <= set(record):
        raise ProgramError(f"{Path(out) / 'manifest.json'}: no length and checksum for '{name}'")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read ({os_cause(exc)})") from None
    if len(data) != record["bytes"]:
        raise ProgramError(f"{path}: {len(data)} bytes, manifest.json says {record['bytes']} "
                         "(truncated or extended; compile again)")
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ProgramError(f"{path}: SHA-256 differs from manifest.json (the file was altered; "
                         "compile again)")
    return data


def read_program(out: Path, bucket: str) -> bytes:
    """Instruction words of one bucket program of a compiled output folder."""
    out = Path(out)
    manifest = read_manifest(out)
    programs, segments = manifest["programs"], manifest["segments"]
    if bucket not in programs:
        known = ", ".join(list(programs)[:6])
        raise ProgramError(f"{out}: no bucket '{bucket}' (buckets: {known}, ...)")
    data = read_file(out, manifest, "segments.bin")
    parts = []
    for i in programs[bucket]:
        seg = segments[i] if isinstance(i, int) and 0 <= i < len(segments) else None
        start, size = (seg.get("offset"), seg.get("bytes")) if isinstance(seg, dict) else (0, 0)
        if seg is None or not isinstance(start, int) or not isinstance(size, int) or start < 0 \
                or size < 0 or size % 4 or start + size > len(data):
            raise ProgramError(f"{out / 'manifest.json'}: bucket '{bucket}' segment {i} does not "
                             f"lie inside segments.bin ({len(data)} bytes)")
        parts.append(data[start:start + size])
    return b"".join(parts)


def program_file(path: str | Path, bucket: str | None = None) -> bytes:
    """A program file's bytes: ``path`` is a program file (.bfp), or a compiled folder together
    with ``bucket`` (its program wrapped as a program file)."""
    from .encoding import wrap
    from .progfile import read_bytes
    p = Path(path)
    if p.is_dir():
        if not bucket:
            buckets = ", ".join(list(read_manifest(p)["programs"])[:6])
            raise ProgramError(f"{p} is a compiled folder: name a program with --bucket "
                             f"(buckets: {buckets}, ...)")
        return wrap(read_program(p, bucket))
    if bucket:
        raise ProgramError(f"--bucket {bucket}: {p} is a program file, not a compiled folder")
    return read_bytes(p, "program file")

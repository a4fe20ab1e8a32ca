"""Length-adaptive compilation: one program per bucket, built from shared segments.

Buckets (docs/references.md#flightllm-5.3, the artifact's rule): prefill lengths rounded up to
multiples of
``prefill_step`` (128) and decode KV lengths rounded up to multiples of ``decode_step`` (16), up to
the maximum context. Prefill buckets are made of 128-row chunks, each shared by every bucket that
contains it. A program is a list of segments (:mod:`.codegen`); segments are scheduled
on their own (each is wrapped in SYS barriers), encoded, and stored once per distinct content, so
the layer bodies that do not depend on the length (every decode linear, norm, RoPE, MLP) are
shared by all decode buckets.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from ..base.errors import CompileError
from . import encoding, isa
from .codegen import Step
from .lower import segments
from .passes import tokens
from .target import Target

PREFILL_STEP = 128
DECODE_STEP = 16


def buckets(max_len: int, prefill_step: int = PREFILL_STEP,
            decode_step: int = DECODE_STEP) -> list[tuple[str, int, int]]:
    """(name, tokens, keys) of every bucket up to ``max_len``."""
    out = []
    for t in range(prefill_step, -(-max_len // prefill_step) * prefill_step + 1, prefill_step):
        t = min(t, max_len)
        out.append((f"prefill:{t}", t, t))
    for s in range(decode_step, -(-max_len // decode_step) * decode_step + 1, decode_step):
        s = min(s, max_len)
        out.append((f"decode:{s}", 1, s))
    return list(dict.fromkeys(out))


def _round(n: int, step: int, cap: int) -> int:
    return min(-(-n // step) * step, cap)


def bucket_for(mode: str, length: int, max_len: int, prefill_step: int = PREFILL_STEP,
               decode_step: int = DECODE_STEP, pos0: int = 0) -> str:
    """The bucket that serves a prefill of ``length`` tokens or a decode step whose KV cache
    holds ``length`` positions (including the new token).

    A prefill that continues an existing cache of ``pos0`` positions (a second turn) runs in a
    continuation bucket ``prefill:T@S``: T rows (``length`` rounded up to ``prefill_step``, at
    most the cache room ``max_len - pos0``, because padding rows are written to the cache too)
    attending to S keys (``pos0 + length`` rounded up to ``decode_step``). Continuation buckets
    are compiled on demand (``compile_buckets(only=[...])``), not by default: there is one per
    (T, S) pair."""
    if pos0:
        if pos0 < 0 or not 0 < length <= max_len - pos0:
            raise CompileError(f"prefill of {length} tokens after {pos0} cached positions does "
                             f"not fit the maximum length {max_len}")
        return (f"prefill:{_round(length, prefill_step, max_len - pos0)}"
                f"@{_round(pos0 + length, decode_step, max_len)}")
    if not 0 < length <= max_len:
        raise CompileError(f"length {length} is outside 1..{max_len}")
    return f"{mode}:{_round(length, prefill_step if mode == 'prefill' else decode_step, max_len)}"


def parse_bucket(name: str) -> tuple[str, int, int]:
    """(mode, tokens, keys) of a bucket name: ``prefill:T``, ``prefill:T@S``, ``decode:S``."""
    try:
        mode, size = name.split(":")
        tokens, _, keys = size.partition("@")
        t = int(tokens)
        s = int(keys) if keys else t
    except ValueError:
        raise CompileError(f"bad bucket name '{name}' (prefill:T, prefill:T@S or decode:S)") \
            from None
    if mode not in ("prefill", "decode") or (mode == "decode" and keys) or t <= 0 or s <= 0:
        raise CompileError(f"bad bucket name '{name}' (prefill:T, prefill:T@S or decode:S)")
    return mode, (1 if mode == "decode" else t), s


@dataclass
class ProgramStore:
    """Distinct encoded segments + per bucket the list of segment ids."""
    segments: list[bytes] = field(default_factory=list)      # instruction words (no header)
    labels: list[str] = field(default_factory=list)
    counts: list[dict[str, int]] = field(default_factory=list)
    programs: dict[str, list[int]] = field(default_factory=dict)
    prefill_step: int = PREFILL_STEP
    decode_step: int = DECODE_STEP
    _index: dict[bytes, int] = field(default_factory=dict)

    def add(self, label: str, instrs: list[isa.Instr]) -> int:
        data = encoding.encode_bytes(instrs)
        key = hashlib.sha256(data).digest()
        if key not in self._index:
            self._index[key] = len(self.segments)
            self.segments.append(data)
            self.labels.append(label)
            count = dict.fromkeys(isa.TYPES, 0)
            for instr in instrs:
                count[instr.kind] += 1
            self.counts.append(count)
        return self._index[key]

    @property
    def store_bytes(self) -> int:
        return sum(len(s) for s in self.segments)

    def program_words(self, bucket: str) -> bytes:
        return b"".join(self.segments[i] for i in self.programs[bucket])

    def program_file(self, bucket: str) -> bytes:
        """A standalone program file (header + words) of one bucket."""
        return encoding.wrap(self.program_words(bucket))

    def instructions(self) -> dict[str, int]:
        """Instructions per type over the distinct stored segments."""
        total = dict.fromkeys(isa.TYPES, 0)
        for count in self.counts:
            for k, v in count.items():
                total[k] += v
        return total


def compile_step(target: Target, mode: str, tokens_: int, keys: int, row0: int = 0,
                 check: bool = False, skip=None,
                 attn_rows: int | None = None) -> list[tuple[str, list[isa.Instr] | None]]:
    """Lower one step (or one prefill chunk: rows ``row0..row0+tokens_``) and give every
    segment its wait/release tokens. Segments whose label ``skip(label)`` accepts are lowered
    (their effect on buffers matters) but not scheduled or relocated: they come back as None."""
    out = []
    step = Step(target.graph, target, mode, tokens_, keys, row0, attn_rows)
    for label, instrs, replay in segments(step):
        if skip is not None and skip(label):
            out.append((label, None))
            continue
        if replay is None:
            scheduled = tokens.schedule(instrs, target.max_pos)
        else:                       # a relocated layer: same instructions, same tokens
            index, layer = replay
            scheduled = [step.region_map.relocate(i, layer) for i in out[index][1]]
        if check:
            tokens.check(scheduled, target.max_pos)
        out.append((label, scheduled))
    return out


END = [isa.make("SYS", op=isa.SysOp.SYNC), isa.make("SYS", op=isa.SysOp.END)]


def compile_buckets(target: Target, max_len: int, check: bool = False, progress: bool = False,
                    prefill_step: int = PREFILL_STEP, decode_step: int = DECODE_STEP,
                    only: list[str] | None = None,
                    attn_rows: int | None = None) -> tuple[ProgramStore, float]:
    """Every bucket program (or those named in ``only``) into one store; returns it and the
    seconds it took.

    A prefill bucket of T tokens runs as chunks of ``prefill_step`` rows (chunk c: rows
    ``c*step..``, attending to keys ``0..(c+1)*step``); chunk c's code is the same in every bucket
    that contains it, so it is compiled and stored once. Every program ends with one shared END
    segment. ``attn_rows`` overrides the prefill attention row tile (tests)."""
    start = time.perf_counter()
    store = ProgramStore(prefill_step=prefill_step, decode_step=decode_step)
    todo = [b for b in buckets(max_len, prefill_step, decode_step) if only is None or b[0] in only]
    todo += [(name, *parse_bucket(name)[1:]) for name in sorted(set(only or ())
                                                             - {b[0] for b in todo})]
    if progress:
        from tqdm import tqdm
        todo = tqdm(todo, desc="compiling buckets", unit="bucket")
    end_id = store.add("end", END)
    chunks: dict[tuple[int, int, int], list[int]] = {}
    first_decode: list[int] = []
    for name, t, s in todo:
        if name.startswith("prefill:"):
            ids: list[int] = []
            for row0 in range(0, t, prefill_step):
                rows = min(prefill_step, t - row0)
                keys = s if "@" in name else row0 + rows   # continuation: every chunk sees S
                key = (row0, rows, keys)
                if key not in chunks:
                    segs = compile_step(target, "prefill", rows, keys, row0, check,
                                        attn_rows=attn_rows)
                    chunks[key] = [store.add(label, instrs) for label, instrs in segs]
                ids += chunks[key]
        else:
            # only the attention segments of a decode step depend on the KV length: after the
            # first decode bucket the others are taken from it (with --check they are compiled
            # and deduplicated by content instead, which tests that claim)
            skip = None if check or not first_decode else (lambda label: ".attn" not in label)
            segs = compile_step(target, "decode", t, s, 0, check, skip)
            ids = [first_decode[k] if instrs is None else store.add(label, instrs)
                   for k, (label, instrs) in enumerate(segs)]
            first_decode = first_decode or ids
        store.programs[name] = ids + [end_id]
    return store, time.perf_counter() - start

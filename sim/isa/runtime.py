"""Host side of a simulated run: write the token ids, pick the bucket program, launch it, read
the logits. One :class:`Session` holds one sequence (its KV cache lives in the machine's HBM).
The program looks up the token embeddings itself (gather LD from the fp16 table in HBM).
"""
from __future__ import annotations

import numpy as np
import torch

from ...base.errors import SimError
from ...compiler import build, encoding
from ...compiler.target import Target, input_ids, logits_spans
from . import scheduler
from .machine import Machine


class Session:
    """Prefill then decode one sequence on the ISA simulator."""

    def __init__(self, target: Target, store: build.ProgramStore, max_len: int) -> None:
        self.target, self.store, self.max_len = target, store, max_len
        hbm = target.layout.hbm
        self.machine = Machine(target.cfg, target.image(),
                               {ch: hbm.used[ch] for ch in range(hbm.channels) if hbm.used[ch]})
        self.length = 0
        self._programs: dict[str, list] = {}

    def _program(self, bucket: str):
        prog = self._programs.get(bucket)
        if prog is None:
            if bucket not in self.store.programs:
                raise SimError(f"no program for bucket {bucket} (compiled up to "
                                 f"{self.max_len} tokens; continuation buckets prefill:T@S are "
                                 "compiled only when named)")
            words = np.frombuffer(self.store.program_words(bucket), dtype="<u4")
            prog = self._programs[bucket] = encoding.decode_words(words.tolist())
        return prog

    def _write_input(self, ids: torch.Tensor) -> None:
        region = self.target.layout.regions["input"]
        data = input_ids(self.target, ids)
        self.machine.hbm_slice(region.channel, region.addr, region.addr + len(data),
                               "input")[:] = data

    def _logits(self, rows: int) -> torch.Tensor:
        vocab = self.target.graph.dims.vocab
        raw = b"".join(bytes(self.machine.hbm_slice(ch, lo, hi, "logits"))
                       for ch, lo, hi in logits_spans(self.target.layout, rows))
        return torch.from_numpy(np.frombuffer(raw, np.float16).reshape(rows, vocab)
                                .astype(np.float32))

    def _launch(self, program, pos0: int, ntok: int) -> None:
        scheduler.run(self.machine, program, pos0, ntok)

    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits [len(ids), vocab] (float32 of the fp16 results). After a prefill or decode the
        tokens continue the sequence (positions ``length..``, attending to the cached keys) in a
        continuation bucket ``prefill:T@S``, which the store must hold."""
        ids = ids.reshape(-1)
        n = ids.numel()
        bucket = build.bucket_for("prefill", n, self.max_len, self.store.prefill_step,
                                  self.store.decode_step, pos0=self.length)
        tokens = build.parse_bucket(bucket)[1]
        padded = torch.zeros(tokens, dtype=torch.long)
        padded[:n] = ids
        self._write_input(padded)
        self._launch(self._program(bucket), pos0=self.length, ntok=n)
        self.length += n
        return self._logits(n)

    def decode(self, token: int) -> torch.Tensor:
        """Logits [1, vocab] of one new token appended at the current length."""
        bucket = build.bucket_for("decode", self.length + 1, self.max_len,
                                  self.store.prefill_step, self.store.decode_step)
        self._write_input(torch.tensor([int(token)]))
        self._launch(self._program(bucket), pos0=self.length, ntok=1)
        self.length += 1
        return self._logits(1)

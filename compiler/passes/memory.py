"""Memory planning pass: the HBM address map (channel placement) and on-chip buffer allocation.

HBM (one map for every bucket program of a model, so they share one memory image):

* weight tiles are spread round-robin over the channels, tile ``j`` of a layer on channel
  ``(first + j) % channels`` with ``first`` rotating per layer, so the tiles one MM sequence
  streams come from different channels (FlightLLM partitions HBM data by channel,
  docs/references.md#flightllm-4);
* per layer a K and a V cache region ``[max_pos, kv_dim]``, the RoPE table ``[max_pos, head_dim]``
  (fp16 cos half then sin half per position), norm gains, the input token ids (uint32, written by
  the host), the logits rows (row blocks on several channels when larger than one:
  :func:`..target.place_logits`) and the fp16 embedding table (split by columns over several
  channels when it is larger than one: :func:`..target.place_embedding`);
* prefill scratch (activations of the prefill programs, which do not fit on chip) is allocated per
  program from a shared scratch area with a liveness-based first-fit allocator.

On chip: :class:`Arena` is a first-fit allocator with coalescing per buffer, in 16-byte lines.
Freeing everything a step allocated returns it to its exact previous state, which is what lets
bucket programs share their length-independent segments byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import CompileError
from ..isa import LINE_BYTES, Buf

ALIGN = 64


def _align(n: int, a: int = ALIGN) -> int:
    return -(-n // a) * a


@dataclass(frozen=True)
class HbmRegion:
    name: str
    channel: int
    addr: int
    size: int
    layer: int | None = None   # the decoder layer whose data it holds (None: shared)
    role: str = ""             # what it is within its layer: the same in every layer


@dataclass
class HbmMap:
    """Bump allocation per channel; every region is named (the manifest lists them)."""
    channels: int
    channel_bytes: int
    used: list[int] = field(default_factory=list)
    regions: dict[str, HbmRegion] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.used = [0] * self.channels

    def alloc(self, name: str, size: int, channel: int | None = None, layer: int | None = None,
              role: str = "") -> HbmRegion:
        if name in self.regions:
            raise CompileError(f"HBM region '{name}' allocated twice")
        ch = min(range(self.channels), key=lambda c: (self.used[c], c)) if channel is None \
            else channel % self.channels
        addr = self.used[ch]
        if addr + size > self.channel_bytes:
            raise CompileError(f"HBM channel {ch} is full: '{name}' needs {size} bytes at "
                               f"{addr}, the channel holds {self.channel_bytes}")
        self.used[ch] = _align(addr + size)
        region = HbmRegion(name, ch, addr, size, layer, role)
        self.regions[name] = region
        return region

    @property
    def total(self) -> int:
        return sum(self.used)


class Arena:
    """First-fit allocator over one on-chip buffer (in lines) with coalescing frees."""

    def __init__(self, buf: Buf, size_bytes: int) -> None:
        self.buf, self.lines = buf, size_bytes // LINE_BYTES
        self.free: list[tuple[int, int]] = [(0, self.lines)]    # sorted (start, length)
        self.live: dict[int, int] = {}
        self.peak = 0

    def alloc(self, nbytes: int, what: str, align: tuple[int, int] = (1, 0)) -> int:
        """First line of ``nbytes`` of free lines, the first such line ``l`` (``align`` =
        (modulus, residue): ``l % modulus == residue``)."""
        need = max(1, -(-nbytes // LINE_BYTES))
        modulus, residue = align
        for i, (start, length) in enumerate(self.free):
            at = start + (residue - start) % modulus
            if at + need <= start + length:
                rest = [(s, n) for s, n in ((start, at - start),
                                            (at + need, start + length - at - need)) if n]
                self.free[i:i + 1] = rest
                self.live[at] = need
                self.peak = max(self.peak, at + need)
                return at
        raise CompileError(f"{what}: needs {need * LINE_BYTES} bytes of buffer {self.buf.name} "
                           f"({self.lines * LINE_BYTES} bytes, "
                           f"{sum(n for _, n in self.free) * LINE_BYTES} free); "
                           "the model does not fit this config's on-chip buffers")

    def release(self, start: int) -> None:
        length = self.live.pop(start)
        self.free.append((start, length))
        self.free.sort()
        merged: list[tuple[int, int]] = []
        for s, n in self.free:
            if merged and merged[-1][0] + merged[-1][1] == s:
                merged[-1] = (merged[-1][0], merged[-1][1] + n)
            else:
                merged.append((s, n))
        self.free = merged


class HbmScratch:
    """First-fit allocator over scratch regions (prefill activations) spread over channels."""

    def __init__(self, regions: list[HbmRegion]) -> None:
        self.regions = regions
        self.free: list[list[tuple[int, int]]] = [[(0, r.size)] for r in regions]
        self.live: list[dict[int, int]] = [{} for _ in regions]

    def state(self) -> tuple:
        return tuple((tuple(f), tuple(sorted(lv.items()))) for f, lv in zip(self.free, self.live))

    def alloc(self, nbytes: int, what: str) -> tuple[int, int]:
        """(channel, address) of ``nbytes`` of scratch."""
        need = _align(nbytes)
        for part, free in enumerate(self.free):
            for i, (start, length) in enumerate(free):
                if length >= need:
                    free[i:i + 1] = [(start + need, length - need)] if length > need else []
                    self.live[part][start] = need
                    region = self.regions[part]
                    return region.channel, region.addr + start
        raise CompileError(f"{what}: prefill scratch ({sum(r.size for r in self.regions)} "
                           f"bytes in {len(self.regions)} regions) has no room for {need} bytes")

    def release(self, channel: int, addr: int) -> None:
        part = next(i for i, r in enumerate(self.regions)
                    if r.channel == channel and r.addr <= addr < r.addr + r.size)
        start = addr - self.regions[part].addr
        free = self.free[part]
        free.append((start, self.live[part].pop(start)))
        free.sort()
        merged: list[tuple[int, int]] = []
        for s, n in free:
            if merged and merged[-1][0] + merged[-1][1] == s:
                merged[-1] = (merged[-1][0], merged[-1][1] + n)
            else:
                merged.append((s, n))
        self.free[part] = merged

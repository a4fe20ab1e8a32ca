"""Random LD/ST/COPY programs over every DMA mode (1-D/2-D/3-D strides, rel, zero_fill, gather,
any byte alignment, bursts across 4 KiB pages) and COPYs (every readable element type,
overlapping blocks both ways), chained by tokens so sim.isa's order is the only legal one."""
from __future__ import annotations

import random

from bitflight.compiler import isa

IDS_BYTES = 64                    # 16 uint32 row ids at META line 0 (loaded by each program)
ID_BOUND = 16


def ids_table(rng: random.Random) -> bytes:
    return b"".join(rng.randrange(ID_BOUND).to_bytes(4, "little") for _ in range(IDS_BYTES // 4))


def _counts(rng):
    return rng.choice([0, 1, 1, 2, 3, 5]), rng.choice([0, 1, 1, 2, 3])


def _dma(rng, kind, sizes, buf_bytes, pos0):
    """One LD or ST whose every byte lies inside its buffer and channel."""
    ch = rng.randrange(len(sizes))
    c1, c2 = _counts(rng)
    length = rng.choice([rng.randint(1, 40), rng.randint(1, 300), rng.randint(16, 2000),
                         rng.randint(300, 5000)]) if rng.random() > 0.05 else 0
    gather = kind == "LD" and rng.random() < 0.2
    zero = kind == "LD" and not gather and rng.random() < 0.15
    rel = rng.random() < 0.3
    n1, n2 = max(c1, 1), max(c2, 1)
    stride1 = rng.choice([length, length + rng.randint(0, 64), rng.randint(0, 64)])
    stride2 = rng.choice([n1 * stride1, rng.randint(0, 4096)])
    rows = (ID_BOUND if gather else n1) + (pos0 if rel else 0)
    span = (rows - 1) * stride1 + (n2 - 1) * stride2 + length
    if span > sizes[ch]:
        return None
    total = length * n1 * n2
    buf = rng.choice([b for b in isa.Buf if b != isa.Buf.META or kind == "ST"] + [isa.Buf.META])
    low = IDS_BYTES // isa.LINE_BYTES if buf == isa.Buf.META and kind == "LD" else 0
    lines = buf_bytes[buf] // isa.LINE_BYTES
    top_line = lines - (-(-total // isa.LINE_BYTES))
    if top_line < low:
        return None
    args = dict(buf=buf, channel=ch, buf_addr=rng.randint(low, top_line),
                hbm_addr=rng.randint(0, sizes[ch] - span), length=length, count1=c1,
                stride1=stride1, count2=c2, stride2=stride2, rel=int(rel))
    if kind == "LD":
        args.update(zero_fill=int(zero), gather=int(gather))
    return args


COPY_TYPES = {isa.DType.INT8: 1, isa.DType.FP16: 2, isa.DType.INT32: 4, isa.DType.FP32: 4}


def _copy(rng, buf_bytes):
    """A MISC COPY inside both buffers; half of them overlap within one buffer."""
    dt = rng.choice(list(COPY_TYPES))
    rows, cols = rng.randint(0, 5), rng.randint(1, 40)
    lines = -(-rows * cols * COPY_TYPES[dt] // isa.LINE_BYTES)
    a_buf = rng.choice([b for b in isa.Buf])
    o_buf = a_buf if rng.random() < 0.5 else rng.choice([b for b in isa.Buf if b != isa.Buf.META])
    low = {b: IDS_BYTES // isa.LINE_BYTES if b == isa.Buf.META else 0 for b in isa.Buf}
    top = {b: buf_bytes[b] // isa.LINE_BYTES - lines for b in isa.Buf}
    if top[a_buf] < 0 or top[o_buf] < low[o_buf]:
        return None
    a_addr = rng.randint(0, top[a_buf])
    o_addr = rng.randint(low[o_buf], top[o_buf])
    if a_buf == o_buf and rng.random() < 0.7:              # overlap, either direction
        o_addr = min(max(a_addr + rng.randint(-lines, lines), low[o_buf]), top[o_buf])
    return dict(op=isa.MiscOp.COPY, dt_in=dt, dt_out=dt, a_buf=a_buf, a_addr=a_addr,
                o_buf=o_buf, o_addr=o_addr, rows=rows, cols=cols)


def random_program(seed: int, sizes: list[int], buf_bytes, pos0: int, count: int = 12,
                   kinds=("LD", "ST")):
    """``count`` instructions of ``kinds`` after the ids load; each waits for the one before it
    when their queues differ."""
    rng = random.Random(seed)
    specs = [("LD", dict(buf=isa.Buf.META, channel=0, length=IDS_BYTES))]
    while len(specs) < count + 1:
        kind = rng.choice(kinds)
        args = _copy(rng, buf_bytes) if kind == "MISC" else _dma(rng, kind, sizes, buf_bytes,
                                                                   pos0)
        if args is not None:
            specs.append((kind, args))
    program = []
    for k, (kind, args) in enumerate(specs):
        prev = specs[k - 1][0] if k else None
        nxt = specs[k + 1][0] if k + 1 < len(specs) else None
        program.append(isa.make(kind, wait=[prev] if prev not in (None, kind) else [],
                                release=[nxt] if nxt not in (None, kind) else [], **args))
    return program + [isa.make("SYS", op=isa.SysOp.END)]

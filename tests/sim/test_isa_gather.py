"""The gather LD (token embedding lookup on the accelerator): ISA simulator vs golden, hazards,
cost, and the compiled programs that use it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, footprint, isa, models, target as tg
from bitflight.compiler.isa import Buf
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.execute import execute
from bitflight.sim.isa.machine import Machine, SimError
from bitflight.sim.perf import instr_cost

VOCAB, HIDDEN = 50, 24


def _machine(table: torch.Tensor) -> Machine:
    image = {2: bytes(64) + table.to(torch.float16).numpy().tobytes()}
    return Machine(config.load("tiny"), image)


def _gather(m: Machine, ids: list[int], **extra) -> torch.Tensor:
    m.buf_slice(Buf.META, 3, 4 * len(ids), "ids")[:] = np.array(ids, "<u4").tobytes()
    ld = isa.make("LD", buf=Buf.ACT, buf_addr=8, channel=2, hbm_addr=64, length=2 * HIDDEN,
                  count1=len(ids), stride1=2 * HIDDEN, gather=1, idx_addr=3, **extra)
    execute(m, ld, 0)
    raw = m.buf_slice(Buf.ACT, 8, 2 * HIDDEN * len(ids), "rows")
    return torch.from_numpy(np.frombuffer(raw, np.float16).reshape(len(ids), HIDDEN).copy())


def test_gather_equals_golden_embedding():
    table = torch.randn(VOCAB, HIDDEN, generator=torch.Generator().manual_seed(1))
    m = _machine(table)
    ids = [7, 0, 49, 7, 13]
    want = torch.nn.functional.embedding(torch.tensor(ids), table).to(torch.float16)
    assert torch.equal(_gather(m, ids), want)       # golden: fp16(embedding(table, ids))
    assert m.counters.bytes_read[2] == 5 * 2 * HIDDEN


def test_gather_with_rel_offsets_by_pos0():
    table = torch.randn(VOCAB, HIDDEN, generator=torch.Generator().manual_seed(2))
    m = _machine(table)
    m.pos0 = 3
    assert torch.equal(_gather(m, [1, 2], rel=1), table[[4, 5]].to(torch.float16))


def test_gather_outside_the_image_is_an_error():
    m = _machine(torch.zeros(VOCAB, HIDDEN))
    with pytest.raises(SimError, match="#0 LD: HBM channel 2"):
        _gather(m, [10 ** 6])


def test_gather_footprint_reads_the_ids_and_every_nameable_row():
    ld = isa.make("LD", buf=Buf.ACT, buf_addr=8, channel=2, hbm_addr=64, length=48, count1=5,
                  stride1=48, gather=1, idx_addr=3)
    reads, writes = footprint.accesses(ld)
    assert footprint.Region(("buf", int(Buf.META)), 48, 48 + 20) in reads
    hbm = [r for r in reads if r.space == ("hbm", 2)]
    assert hbm[0].lo == 64 and hbm[0].hi >= 64 + (2 ** 32 - 1) * 48 + 48
    assert writes == [footprint.Region(("buf", int(Buf.ACT)), 128, 128 + 5 * 48)]


def test_gather_is_costed_by_its_bytes_at_row_efficiency():
    cfg = config.load("u280")
    plain = isa.make("LD", channel=1, length=4096, count1=4, stride1=4096)
    gather = isa.make("LD", channel=1, length=4096, count1=4, stride1=4096, gather=1)
    a, b = instr_cost.cost(plain, cfg), instr_cost.cost(gather, cfg)
    assert a.hbm_bytes == b.hbm_bytes == 4 * 4096
    mem = cfg.memory
    assert b.cycles == pytest.approx(a.cycles * mem.efficiency / mem.kv_efficiency)


@pytest.mark.parametrize("mode,bucket", [("prefill", "prefill:16"), ("decode", "decode:16")])
def test_programs_look_up_embeddings_themselves(mode, bucket):
    tiny = models.load("tiny-golden")
    target = tg.build_target(tiny.graph, config.load("tiny"), load_policy("bitmod-w4"),
                             tiny.weights, max_pos=64)
    store, _ = build.compile_buckets(target, 64, prefill_step=16, only=[bucket])
    from bitflight.compiler import encoding
    prog = encoding.decode_words(np.frombuffer(store.program_words(bucket), "<u4").tolist())
    gathers = [i for i in prog if i.kind == "LD" and i["gather"]]
    table = target.layout.regions["model.embed_tokens"]
    assert gathers and all(g["hbm_addr"] == table.addr and g["channel"] == table.channel
                           for g in gathers)
    assert sum(max(g["count1"], 1) for g in gathers) == (16 if mode == "prefill" else 1)
    image = target.image()[table.channel][table.addr:table.addr + 2 * 256 * 64]
    assert image == tiny.weights["model.embed_tokens"].to(torch.float16).numpy().tobytes()
    with pytest.raises(ValueError, match="token id out of range 0..255"):
        tg.input_ids(target, torch.tensor([3, 256]))

"""Calibration of the CSD-chain engine model against the RTL chain (issue 7, "Calibration").

The same workload runs on both: for each N in the config's ``n_options``, an N:M-sparse INT8
weight matrix ``[n_out, k]`` (every block at that N) times ``tokens`` INT8 activation rows, on one
CSD chain (one VPU), unpacked or with two MACs per DSP (``csd.pack_two_macs``).

* RTL: :class:`~bitflight.rtl.csd.chain.CsdChain` fed at full rate with the passes of
  ``rtl.csd.schedule.chain_passes`` (output always ready), in Amaranth's simulator or in
  Verilator (cocotb, the cached build the RTL tests use). Cycles are *counted* from the first
  input handshake to the last output handshake, inclusive; the results are checked bit-exact
  against ``golden.sparse.matmul`` on the way.
* Model: :func:`.csd_model.chain_cycles` on the same config reduced to one chain
  (``mpus = vpus_per_mpu = mv_vpus = cores = 1``), in the prefill (MM) mapping, plus
  :func:`.csd_model.fill_drain_cycles` (the chain's pipeline latency, ``dsps_per_chain + 2``).

With the fill/drain term the two agree exactly; tests/sim/test_perf_calibration_csd.py fails on
any other difference. ``python -m bitflight.sim.perf.calibrate_csd [--verilator]`` prints the table.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config
from .calibrate import Calibration

MAX_CYCLES = 200_000
HERE = Path(__file__).parent / "calibrate_rtl"


@dataclass(frozen=True)
class CsdWorkload:
    n: int
    tokens: int
    k: int
    n_out: int
    seed: int = 0

    def label(self, packed: bool) -> str:
        mode = "packed" if packed else "dense"
        return f"{mode} N={self.n}:16, {self.tokens} tok x k {self.k} x {self.n_out} out"


def chain_config(cfg: Config, packed: bool) -> Config:
    """``cfg`` with one chain (one VPU, one MPU, one core) and the requested packing."""
    csd = cfg.csd.model_copy(update={"pack_two_macs": packed, "vpus_per_mpu": 1, "mpus": 1,
                                     "mv_vpus": 1, "cores": 1})
    return cfg.model_copy(update={"csd": csd})


def workloads(cfg: Config, tokens: int = 3, k: int = 64, n_out: int = 16) -> list[CsdWorkload]:
    return [CsdWorkload(n, tokens, k, n_out, seed=n) for n in sorted(cfg.csd.n_options)]


def case(w: CsdWorkload):
    """(NMSparse INT8 weights, INT8 activations [tokens, k]) of one workload."""
    import torch

    from ...golden import sparse
    rng = np.random.default_rng(w.seed)
    weight = torch.tensor(rng.integers(-128, 128, (w.n_out, w.k)), dtype=torch.int8)
    return sparse.prune_nm(weight, n=w.n, bits=8), rng.integers(-128, 128, (w.tokens, w.k))


def passes(geo, w: CsdWorkload):
    from ...rtl.csd import schedule
    sp, x = case(w)
    return sp, x, schedule.chain_passes(geo, sp, x)


def check_exact(geo, w: CsdWorkload, sp, x, ps, outputs: list[int]) -> None:
    from ...golden import sparse
    from ...rtl.csd import schedule
    results = [schedule.decode_chain_out(geo, b) for b in outputs]
    got = schedule.assemble(geo, ps, results, (x.shape[0], sp.shape[0]))
    want = sparse.matmul(sp, x).astype(np.int32)
    if not np.array_equal(got, want):
        raise AssertionError(f"{w}: chain results differ from golden.sparse.matmul")


def span(accepted: list[int], emitted: list[int]) -> int:
    """Cycles from the first input handshake to the last output handshake, inclusive."""
    return emitted[-1] - accepted[0] + 1


def amaranth_span(geo, payloads: list[int]) -> tuple[int, list[int]]:
    """(cycles, output payloads) of one full-rate run of the chain in Amaranth's simulator."""
    from amaranth.sim import Simulator

    from ...rtl.csd.chain import CsdChain
    dut = CsdChain(geo)
    accepted, emitted, outputs = [], [], []

    async def bench(ctx):
        cycle, sent = 0, 0
        ctx.set(dut.o.ready, 1)
        while len(outputs) < len(payloads):
            ctx.set(dut.i.valid, int(sent < len(payloads)))
            if sent < len(payloads):
                ctx.set(dut.i.payload.as_value(), payloads[sent])
            _, _, iv, ir, ov, op = await ctx.tick().sample(
                dut.i.valid, dut.i.ready, dut.o.valid, dut.o.payload.as_value())
            if iv and ir:
                accepted.append(cycle)
                sent += 1
            if ov:
                outputs.append(op)
                emitted.append(cycle)
            cycle += 1
            if cycle > MAX_CYCLES:
                raise RuntimeError(f"the chain did not finish in {MAX_CYCLES} cycles")
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return span(accepted, emitted), outputs


def chain_build(geo, packed: bool, config_name: str = "tiny"):
    """The Verilator build of the chain, shared with tests/rtl/csd/test_csd_verilator.py."""
    from ...rtl.csd.chain import CsdChain
    from .. import hdl
    return hdl.build(lambda: CsdChain(geo), top="csd_chain",
                     key=f"csd-chain-{config_name}-p{int(packed)}")


def verilator_spans(geo, packed: bool, runs: list[list[int]], config_name: str):
    """[(cycles, output payloads)] of full-rate runs, one cocotb session on the cached build."""
    from .. import hdl
    build = chain_build(geo, packed, config_name)
    with tempfile.TemporaryDirectory(prefix="bitflight-calibrate-") as tmp:
        src, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps({"runs": [[format(p, "x") for p in r] for r in runs]}))
        hdl.run(build, "cocotb_stream_timing", test_dir=HERE, log=Path(tmp) / "sim.log",
                env={"CAL_IN": str(src), "CAL_OUT": str(out)})
        results = json.loads(out.read_text())
    return [(span(r["accepted"], r["emitted"]), [int(b, 16) for b in r["outputs"]])
            for r in results]


def model_cycles(cfg: Config, w: CsdWorkload, packed: bool) -> int:
    """Model cycles of the workload on one chain: compute passes + the pipeline fill/drain."""
    from . import csd_model
    one = chain_config(cfg, packed)
    compute, overhead = csd_model.chain_cycles(one, "prefill", w.tokens, w.k, w.n_out, 1,
                                               w.n / one.csd.m)
    return int(compute + overhead) + csd_model.fill_drain_cycles(one)


def calibrate(cfg: Config, packed: bool, loads: list[CsdWorkload],
              simulator: str = "amaranth") -> list[Calibration]:
    """One :class:`Calibration` row per workload (RTL cycles counted, bit-exact checked)."""
    from ...rtl.csd.geometry import ChainGeometry
    from ...rtl.csd.schedule import chain_payload
    geo = ChainGeometry.from_config(chain_config(cfg, packed))
    cases = [passes(geo, w) for w in loads]
    runs = [[chain_payload(geo, p) for p in ps] for _, _, ps in cases]
    if simulator == "verilator":
        timed = verilator_spans(geo, packed, runs, cfg.name)
    elif simulator == "amaranth":
        timed = [amaranth_span(geo, r) for r in runs]
    else:
        raise ValueError(f"simulator: expected 'amaranth' or 'verilator', got {simulator!r}")
    rows = []
    for w, (sp, x, ps), (cycles, outputs) in zip(loads, cases, timed, strict=True):
        check_exact(geo, w, sp, x, ps, outputs)
        rows.append(Calibration(cfg.name, w.label(packed), groups=1, dots=len(ps),
                                rtl_cycles=cycles, model_cycles=model_cycles(cfg, w, packed),
                                simulator=simulator, fill_drain=geo.latency))
    return rows


def main(argv: list[str] | None = None) -> None:
    from ...config import load
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--verilator", action="store_true", help="Verilator instead of Amaranth")
    ap.add_argument("--tokens", type=int, default=3)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--n-out", type=int, default=16)
    args = ap.parse_args(argv)
    cfg = load(args.config)
    sim = "verilator" if args.verilator else "amaranth"
    print(Calibration.table_header())
    for packed in (False, True):
        for row in calibrate(cfg, packed, workloads(cfg, args.tokens, args.k, args.n_out), sim):
            print(row.table_row())


if __name__ == "__main__":
    main()

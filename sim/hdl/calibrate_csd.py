"""Calibration of the CSD-chain engine model against the RTL chain (issue 7, "Calibration").

The same workload runs on both: for each N in the config's ``n_options`` (and a mixed-N matrix
with skipped N = 0 blocks), an N:M-sparse INT8 weight matrix ``[n_out, k]`` times ``tokens`` INT8
activation rows, unpacked or with two MACs per DSP (``csd.pack_two_macs``), on one CSD chain
(one VPU) or on one MPU (``csd.vpus_per_mpu`` chains sharing the activation stream).

* RTL: :class:`~bitflight.rtl.csd.chain.CsdChain` or :class:`~bitflight.rtl.csd.mpu.Mpu` fed at
  full rate with the passes of ``rtl.csd.schedule`` (output always ready), in Amaranth's
  simulator or in Verilator (cocotb, the cached builds the RTL tests use). Cycles are *counted*
  from the first input handshake to the last output handshake, inclusive; the results are checked
  bit-exact against ``golden.sparse.matmul`` on the way.
* Model: :func:`.csd_model.chain_cycles` on the same config reduced to that hardware (one MPU,
  one core; for a chain also one VPU), in the prefill (MM) mapping, or in the decode (MV)
  mapping for one-token workloads, at the matrix's density (kept / all weights), plus
  :func:`.csd_model.fill_drain_cycles` (the chain's pipeline latency, ``dsps_per_chain + 2``).

With the fill/drain term the two agree exactly in the MM and MV mappings, packed or not:
a packed chain with one token runs dense blocks row-packed (two rows per DSP) and N:M blocks one
MAC per DSP, which the model charges through ``dense_share`` (the share of kept weights in dense
blocks); tests/sim/test_perf_calibration_csd.py fails on any difference.
``python -m bitflight.sim.hdl.calibrate_csd [--verilator]`` prints the table.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...base.config import Config
from ...base.yaml_model import package_dir
from .calibrate import Calibration

MAX_CYCLES = 200_000
HERE = package_dir("bitflight.sim.hdl.calibrate_rtl")      # the cocotb test modules


@dataclass(frozen=True)
class CsdWorkload:
    n: int | str           # one N for every block, or "mixed" (random N per block, 0 = skipped)
    tokens: int
    k: int
    n_out: int
    seed: int = 0

    @property
    def stage(self) -> str:
        """The model's mapping: MV (decode) for one token, else MM (prefill)."""
        return "decode" if self.tokens == 1 else "prefill"

    def label(self, packed: bool, target: str) -> str:
        mode = "packed" if packed else "unpacked"
        n = "mixed N" if self.n == "mixed" else f"N={self.n}:16"
        return (f"{target} {mode} {'MV' if self.stage == 'decode' else 'MM'}, {n}, "
                f"{self.tokens} tok x k {self.k} x {self.n_out} out")


def target_config(cfg: Config, packed: bool, target: str = "chain") -> Config:
    """``cfg`` reduced to the simulated hardware (one MPU, one core; a chain: one VPU) with the
    requested packing. MV mode uses the same chains as MM (``mv_vpus = vpus_per_mpu``)."""
    vpus = 1 if target == "chain" else cfg.csd.vpus_per_mpu
    csd = cfg.csd.model_copy(update={"pack_two_macs": packed, "vpus_per_mpu": vpus, "mpus": 1,
                                     "mv_vpus": vpus, "cores": 1})
    return cfg.model_copy(update={"csd": csd})


def workloads(cfg: Config, tokens: int = 3, k: int = 64, n_out: int = 16,
              mixed: bool = True) -> list[CsdWorkload]:
    loads = [CsdWorkload(n, tokens, k, n_out, seed=n) for n in sorted(cfg.csd.n_options)]
    return loads + ([CsdWorkload("mixed", tokens, k, n_out, seed=99)] if mixed else [])


def case(w: CsdWorkload, n_options: tuple[int, ...] = (2, 4, 8, 16), m: int = 16):
    """(NMSparse INT8 weights in N:m blocks of 16 rows, INT8 activations [tokens, k])."""
    import torch

    from ...golden import sparse
    rng = np.random.default_rng(w.seed)
    weight = torch.tensor(rng.integers(-128, 128, (w.n_out, w.k)), dtype=torch.int8)
    n = w.n
    if n == "mixed":
        n = rng.choice(np.array((0,) + tuple(n_options)), size=(w.n_out // 16, w.k // m))
    return sparse.prune_nm(weight, n=n, m=m, bits=8), rng.integers(-128, 128, (w.tokens, w.k))


def passes(geo, w: CsdWorkload, target: str, vpus: int):
    """(weights, activations, passes in order, input payloads) of one workload on the target."""
    from ...rtl.csd import schedule
    sp, x = case(w, geo.n_options, geo.m)
    ps = schedule.chain_passes(geo, sp, x)
    if target == "chain":
        return sp, x, ps, [schedule.chain_payload(geo, p) for p in ps]
    beats = schedule.mpu_beats(geo, vpus, ps)
    return (sp, x, [p for beat in beats for p in beat],
            [schedule.mpu_payload(geo, beat) for beat in beats])


def check_exact(geo, w: CsdWorkload, sp, x, ps, outputs: list[int], target: str,
                vpus: int) -> None:
    from ...golden import sparse
    from ...rtl.csd import schedule
    if target == "chain":
        results = [schedule.decode_chain_out(geo, b) for b in outputs]
    else:
        results = [r for b in outputs for r in schedule.decode_mpu_out(geo, vpus, b)]
    got = schedule.assemble(geo, ps, results, (x.shape[0], sp.shape[0]))
    want = sparse.matmul(sp, x).astype(np.int32)
    if not np.array_equal(got, want):
        raise AssertionError(f"{w}: chain results differ from golden.sparse.matmul")


def span(accepted: list[int], emitted: list[int]) -> int:
    """Cycles from the first input handshake to the last output handshake, inclusive."""
    return emitted[-1] - accepted[0] + 1


def make_dut(geo, target: str, vpus: int):
    from ...rtl.csd.chain import CsdChain
    from ...rtl.csd.mpu import Mpu
    return CsdChain(geo) if target == "chain" else Mpu(geo, vpus)


def amaranth_span(dut, payloads: list[int]) -> tuple[int, list[int]]:
    """(cycles, output payloads) of one full-rate run of the chain or MPU in Amaranth's sim."""
    from amaranth.sim import Simulator
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
                raise RuntimeError(f"the CSD target did not finish in {MAX_CYCLES} cycles")
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return span(accepted, emitted), outputs


def target_build(geo, packed: bool, target: str, vpus: int, config_name: str = "tiny"):
    """The Verilator build, shared with tests/rtl/csd/test_csd_verilator.py (same key, same
    Verilog) where that test builds the same configuration."""
    from .. import hdl
    if target == "chain":
        key = f"csd-chain-{config_name}-p{int(packed)}"
    else:
        key = f"csd-mpu-{config_name}-v{vpus}" + ("-p1" if packed else "")
    return hdl.build(lambda: make_dut(geo, target, vpus), top=f"csd_{target}", key=key)


def verilator_spans(build, runs: list[list[int]]) -> list[tuple[int, list[int]]]:
    """[(cycles, output payloads)] of full-rate runs, one cocotb session on ``build``."""
    from .. import hdl
    with tempfile.TemporaryDirectory(prefix="bitflight-calibrate-") as tmp:
        src, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps({"runs": [[format(p, "x") for p in r] for r in runs]}))
        hdl.run(build, "cocotb_stream_timing", test_dir=HERE, log=Path(tmp) / "sim.log",
                env={"CAL_IN": str(src), "CAL_OUT": str(out)})
        results = json.loads(out.read_text())
    return [(span(r["accepted"], r["emitted"]), [int(b, 16) for b in r["outputs"]])
            for r in results]


def model_cycles(cfg: Config, w: CsdWorkload, packed: bool, target: str = "chain",
                 density: float | None = None, share: float | None = None) -> int:
    """Model cycles of the workload: compute passes + the pipeline fill/drain. ``density``:
    kept / all weights (default: ``N / M`` of the workload's fixed N); ``share``: of them in
    dense blocks (default: chain_cycles' rule)."""
    from ..perf import csd_model
    hw = target_config(cfg, packed, target)
    if density is None:
        density = w.n / hw.csd.m
    compute, overhead = csd_model.chain_cycles(hw, w.stage, w.tokens, w.k, w.n_out, 1, density,
                                               share)
    return int(compute + overhead) + csd_model.fill_drain_cycles(hw)


def calibrate(cfg: Config, packed: bool, loads: list[CsdWorkload], simulator: str = "amaranth",
              target: str = "chain") -> list[Calibration]:
    """One :class:`Calibration` row per workload (RTL cycles counted, bit-exact checked)."""
    from ...rtl.csd.geometry import ChainGeometry
    if target not in ("chain", "mpu"):
        raise ValueError(f"target: expected 'chain' or 'mpu', got {target!r}")
    hw = target_config(cfg, packed, target)
    geo, vpus = ChainGeometry.from_config(hw), hw.csd.vpus_per_mpu
    cases = [passes(geo, w, target, vpus) for w in loads]
    runs = [payloads for *_, payloads in cases]
    if simulator == "verilator":
        timed = verilator_spans(target_build(geo, packed, target, vpus, cfg.name), runs)
    elif simulator == "amaranth":
        # Amaranth's simulator cannot run vendor instances (csd.dsp_instances: dsp48e2); the
        # inferred slice has the same function and timing (tests/rtl/csd/test_csd_verilator.py
        # runs the instantiated chain on Verilator with the DSP48E2 model)
        plain = replace(geo, primitive="inferred")
        timed = [amaranth_span(make_dut(plain, target, vpus), r) for r in runs]
    else:
        raise ValueError(f"simulator: expected 'amaranth' or 'verilator', got {simulator!r}")
    rows = []
    for w, (sp, x, ps, payloads), (cycles, outputs) in zip(loads, cases, timed, strict=True):
        check_exact(geo, w, sp, x, ps, outputs, target, vpus)
        model = model_cycles(cfg, w, packed, target, sp.density, sp.dense_share)
        rows.append(Calibration(cfg.name, w.label(packed, target), rtl_cycles=cycles,
                                model_cycles=model, simulator=simulator,
                                fill_drain=geo.latency, beats=len(payloads)))
    return rows


def main(argv: list[str] | None = None) -> None:
    from ...base.config import load
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--verilator", action="store_true", help="Verilator instead of Amaranth")
    ap.add_argument("--target", choices=("chain", "mpu"), default="chain")
    ap.add_argument("--packed", choices=("both", "no", "yes"), default="both")
    ap.add_argument("--tokens", type=int, default=3, help="1 times the MV (decode) mapping")
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--n-out", type=int, default=16)
    args = ap.parse_args(argv)
    cfg = load(args.config)
    sim = "verilator" if args.verilator else "amaranth"
    modes = {"both": (False, True), "no": (False,), "yes": (True,)}[args.packed]
    print(Calibration.table_header())
    for packed in modes:
        loads = workloads(cfg, args.tokens, args.k, args.n_out)
        for row in calibrate(cfg, packed, loads, sim, args.target):
            print(row.table_row())


if __name__ == "__main__":
    main()

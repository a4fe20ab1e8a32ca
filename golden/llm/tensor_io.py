"""Reading weight tensors from .pt / .npy / .safetensors files and writing packed results."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from ...base.errors import ModelError

SUFFIXES = (".pt", ".pth", ".bin", ".npy", ".safetensors")


def _flatten(obj, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a (nested) state dict, named with dots."""
    if isinstance(obj, torch.Tensor):
        return {prefix or "tensor": obj}
    out: dict[str, torch.Tensor] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _model_tensors(spec: str) -> dict[str, torch.Tensor] | None:
    """The float weights of a model spec (``smollm2``, a .gguf file, a Hugging Face folder), named
    as Hugging Face names them; None when ``spec`` is not a model."""
    if spec != "smollm2" and not spec.endswith(".gguf") and not Path(spec).is_dir():
        return None
    from .loader import load_model
    return dict(load_model(spec).weights)


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Every tensor in a file by name (a bare tensor or .npy array is called "tensor"), or every
    weight of a model given as ``smollm2``, a .gguf file or a Hugging Face folder."""
    model = _model_tensors(str(path))
    if model is not None:
        return model
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            return {"tensor": torch.from_numpy(np.load(p, allow_pickle=False))}
        if suffix == ".safetensors":
            from safetensors.torch import load_file
            return dict(load_file(str(p)))
        if suffix in (".pt", ".pth", ".bin"):
            return _flatten(torch.load(p, map_location="cpu", weights_only=True))
    except Exception as exc:        # pickle, zip, safetensors and numpy each raise their own
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: cannot read tensors ({first})") from None
    raise ModelError(f"{p}: unsupported file type '{p.suffix}' (use {', '.join(SUFFIXES)})")


def select(tensors: dict[str, torch.Tensor], path, name: str | None) -> dict[str, torch.Tensor]:
    """The tensor called ``name``, or every 2-D floating-point tensor when ``name`` is None."""
    if name is not None:
        if name not in tensors:
            known = ", ".join(list(tensors)[:8]) + (", ..." if len(tensors) > 8 else "")
            raise ModelError(f"{path}: no tensor '{name}' (has: {known})")
        return {name: tensors[name]}
    chosen = {k: v for k, v in tensors.items() if v.dim() == 2 and v.dtype.is_floating_point}
    if not chosen:
        raise ModelError(f"{path}: no 2-D floating-point tensor (an [N out, K in] weight)")
    return chosen


def packed_container(blobs: dict[str, bytes]) -> bytes:
    """Several packed weights as one safetensors file: a uint8 tensor per name."""
    from safetensors.torch import save

    tensors = {k: torch.frombuffer(bytearray(v), dtype=torch.uint8) for k, v in blobs.items()}
    return save(tensors, metadata={"format": "bitflight-packed-weights", "version": "1"})

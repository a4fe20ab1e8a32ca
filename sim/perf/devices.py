"""Roofline-only devices (GPUs): peak bandwidth and peak OPs/s per datatype, nothing else.

Accelerator configs (bitflight/config.py) describe an engine the model can time; a GPU has no
such engine here, so GPUs live in this small separate schema under ``configs/devices/``.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

DEVICES_DIR = Path(__file__).resolve().parents[2] / "configs" / "devices"


class Device(BaseModel):
    """A device known only by its roofline: bandwidth (GB/s, 1e9 B/s) and peak TOPS per dtype."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1)
    bandwidth_gbps: PositiveFloat
    peak_tops: dict[str, PositiveFloat] = Field(description="dtype -> peak 1e12 OPs/s (2 per MAC)")
    onchip_buffer_kb: PositiveFloat | None = None

    def peak_ops(self, dtype: str) -> float:
        if dtype not in self.peak_tops:
            raise ValueError(f"device '{self.name}' has no peak for {dtype} "
                             f"(has: {', '.join(self.peak_tops)})")
        return self.peak_tops[dtype] * 1e12

    @property
    def bandwidth(self) -> float:
        return self.bandwidth_gbps * 1e9


def available() -> list[str]:
    return sorted(p.stem for p in DEVICES_DIR.glob("*.yaml"))


def load_device(name_or_path: str | Path) -> Device:
    """A device by name (``a6000``) or YAML path; one-line errors naming file and key."""
    text = str(name_or_path)
    path = Path(text) if text.endswith((".yaml", ".yml")) else DEVICES_DIR / f"{text}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown device '{text}' (built-in: {', '.join(available())})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise ValueError(f"{path}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: (top level): expected a mapping of keys")
    try:
        return Device.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ValueError(f"{path}: {loc}: {first['msg']}") from None

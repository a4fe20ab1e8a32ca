"""Roofline-only devices (GPUs): peak bandwidth and peak OPs/s per datatype, nothing else.

Accelerator configs (bitflight/base/config.py) describe an engine the model can time; a GPU has no
such engine here, so GPUs live in this small separate schema under ``configs/devices/``.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from ...base.errors import ConfigError
from ...base import yaml_model

DEVICES_DIR = yaml_model.package_dir("bitflight.configs.devices")


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
            raise ConfigError(f"device '{self.name}' has no peak for {dtype} "
                             f"(has: {', '.join(self.peak_tops)})")
        return self.peak_tops[dtype] * 1e12

    @property
    def bandwidth(self) -> float:
        return self.bandwidth_gbps * 1e9


def available() -> list[str]:
    return yaml_model.available(DEVICES_DIR)


def load_device(name_or_path: str | Path) -> Device:
    """A device by name (``a6000``) or YAML path; one-line errors naming file and key."""
    path = yaml_model.resolve(name_or_path, DEVICES_DIR, "device", ConfigError)
    return yaml_model.load(path, Device, ConfigError)  # type: ignore[return-value]

"""Reading program files with one-line errors (writing goes through bitflight.base.atomic_file)."""
from __future__ import annotations

from pathlib import Path

from ..base.errors import ProgramError
from ..base.atomic_file import os_cause


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    path = Path(path)
    if not path.is_file():
        raise ProgramError(f"{path}: {what} not found")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read {what} ({os_cause(exc)})") from None

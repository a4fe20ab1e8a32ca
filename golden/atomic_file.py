"""Writing result files atomically: a temporary file in the target folder, then a rename.

A reader (or a crashed run) never sees half a file. Shared by the writers of packed weights,
plots and reports; golden/ holds it because golden's own writers (``quant.tensor_io``,
``quant.plot``) need it and golden/ imports nothing from the rest of the project.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` (parent folders are created); the file gets the umask's mode.

    Any OS failure is a ``ValueError`` naming ``path`` (not the temporary name), so the CLI
    reports it as one line about the file the user asked for.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise ValueError(f"{p}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)            # mkstemp creates 0600; honour the umask
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ValueError(f"{p}: cannot write ({exc.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Render a matplotlib figure in the format of ``path``'s suffix and write it atomically."""
    suffix = Path(path).suffix.lstrip(".").lower() or "png"
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=suffix, dpi=dpi)
    except ValueError as exc:                    # matplotlib: unsupported format
        raise ValueError(f"{path}: cannot save a figure as '.{suffix}' ({exc})") from None
    return write_atomic(path, buf.getvalue())

"""Writing result files and folders atomically: build under a temporary sibling name, then rename.

A reader (or a crashed run) never sees half a file, and a failed run leaves the previous result
in place. The project's one implementation: packed weights, plots, reports, program files,
Verilog, GGUF files and compiled-model folders all go through it. It lives in the base package
because writers in every folder (golden/ included) need it.

Files and folders get the modes any other output gets (0666 / 0777 minus the umask; ``mkstemp``
and ``mkdtemp`` would leave 0600 / 0700). Every OS failure becomes a ``ValueError`` naming the
path the user asked for (never the temporary name) and the cause in words.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator
from .errors import OutputError

_CAUSES = {errno.ENOTDIR: "a parent is not a folder", errno.EEXIST: "a parent is not a folder",
           errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on device",
           errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.EISDIR: "it is a folder",
           errno.ENOENT: "no such file or folder", errno.ENAMETOOLONG: "name too long"}


def os_cause(exc: OSError) -> str:
    """The cause of an OS error in words, without ``[Errno N]`` or file names."""
    return _CAUSES.get(exc.errno) or (exc.strerror or type(exc).__name__).lower()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """``with replacing(p) as tmp:`` write the new file at ``tmp``; on success it becomes ``p``
    (parent folders are created), on any failure ``p`` is untouched and ``tmp`` removed."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{p}: cannot write ({os_cause(exc)})") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{p}: cannot write ({os_cause(exc)})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` through :func:`replacing`; returns the path."""
    with replacing(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


@contextmanager
def replacing_folder(path: str | os.PathLike,
                     replaceable: Callable[[Path], bool] = lambda p: False) -> Iterator[Path]:
    """``with replacing_folder(d) as tmp:`` fill the new folder ``tmp`` (a sibling of ``d``);
    on success it replaces ``d`` whole, on any failure ``d`` is untouched and ``tmp`` removed.

    An existing non-empty ``d`` is replaced only when ``replaceable(d)`` says it is an earlier
    result of the same kind, so a mistyped ``-o`` never deletes a folder of other files.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: cannot write a folder there (a file of that name exists)")
    if p.is_dir() and any(p.iterdir()) and not replaceable(p):
        raise OutputError(f"{p}: folder exists and does not hold an earlier result; "
                         "refusing to replace it (remove it or choose another folder)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent))
    except OSError as exc:
        raise OutputError(f"{p}: cannot write ({os_cause(exc)})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        _swap_in(tmp, p)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{p}: cannot write ({os_cause(exc)})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(new: Path, dest: Path) -> None:
    """Rename ``new`` to ``dest``; an existing ``dest`` is moved aside first and deleted after
    (POSIX cannot rename over a non-empty folder), or moved back if the second rename fails."""
    if not dest.exists():
        os.rename(new, dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
    os.rename(dest, old / dest.name)
    try:
        os.rename(new, dest)
    except OSError:
        os.rename(old / dest.name, dest)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Render a matplotlib figure in the format of ``path``'s suffix and write it atomically."""
    suffix = Path(path).suffix.lstrip(".").lower() or "png"
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=suffix, dpi=dpi)
    except ValueError as exc:                    # matplotlib: unsupported format
        raise OutputError(f"{path}: cannot save a figure as '.{suffix}' ({exc})") from None
    return write_atomic(path, buf.getvalue())

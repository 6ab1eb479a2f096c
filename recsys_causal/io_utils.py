"""Atomic output writing: write to a temporary file beside the target, then rename.

A reader never sees a half-written file, and a failure leaves no partial output behind.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "out.txt", "hello")
>>> (d / "out.txt").read_text()
'hello'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from recsys_causal.errors import InputFileError


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then atomically move ``tmp_path`` to ``path``; clean up on failure."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputFileError(
            f"output directory {str(parent)!r} does not exist", source=str(target),
            fix="create the directory or choose another output path",
        )
    if target.is_dir():
        raise InputFileError("output path is a directory", source=str(target), fix="give a file path")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputFileError(
            f"cannot write to directory {str(parent)!r}: {exc.strerror}", source=str(target),
            fix="choose a writable output directory",
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))

"""Path identity for output safety: when do two paths name the same file, and which paths mean standard output.

Symlinks are resolved before ``..`` is applied (as the kernel does), existing files are compared by device and
inode (so hard links match), and on a file system that ignores case, names are compared case-folded.

>>> normalise_path("/a/b/../C.txt", insensitive=True)
'/a/c.txt'
>>> is_stdout("-"), is_stdout("report.html")
(True, False)
"""

from __future__ import annotations

import os
import sys
import unicodedata
from contextlib import suppress
from pathlib import Path

__all__ = ["STDOUT_NAMES", "case_insensitive", "config_output", "inside", "is_stdout", "normalise_path", "same_path"]

PathLike = str | os.PathLike[str]
STDOUT_NAMES = frozenset({"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


def is_stdout(path: PathLike | None) -> bool:
    """True for ``-`` and the names of standard output (``/dev/stdout``, ``/dev/fd/1``)."""
    return path is not None and os.fspath(path) in STDOUT_NAMES


def config_output(base: Path, value: str) -> Path:
    """An output path from a config, relative to its directory ``base``: the directory part is resolved, the
    file name is kept (so a symbolic link there is seen, not followed); ``-`` stays standard output.

    >>> str(config_output(Path("/"), "-"))
    '-'
    """
    if is_stdout(value):
        return Path(value)
    path = base / value
    return path.parent.resolve() / path.name


def case_insensitive(path: PathLike) -> bool:
    """Whether names in the directory that holds (or would hold) ``path`` ignore case.

    Probes an existing entry with cased letters on the same file system (swapping its case and checking that
    the result is the same file); falls back to the platform default when no such entry is found.
    """
    d = existing_dir(Path(os.path.abspath(os.fspath(path))))
    try:
        dev = os.stat(d).st_dev
        for cand in (d, *d.parents):
            if os.stat(cand).st_dev != dev:
                break
            with os.scandir(cand) as entries:
                for i, entry in enumerate(entries):
                    if i >= 64:
                        break
                    name = entry.name
                    if name.swapcase() != name:
                        return _same_entry(entry.path, os.path.join(cand, name.swapcase()))
    except OSError:
        pass
    return sys.platform in ("darwin", "win32")


def normalise_path(path: PathLike, *, insensitive: bool | None = None) -> str:
    """Absolute path with symlinks resolved and ``..`` applied after them; case-folded (and Unicode-NFC) where
    the file system ignores case.

    >>> normalise_path("/a/b/../C.txt", insensitive=False)
    '/a/C.txt'
    """
    real = os.path.realpath(os.fspath(path))
    if insensitive is None:
        insensitive = case_insensitive(real)
    return unicodedata.normalize("NFC", real).casefold() if insensitive else real


def same_path(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file: ``os.path.samefile`` when both exist, else normalised paths."""
    if os.path.exists(a) and os.path.exists(b):
        with suppress(OSError):
            return os.path.samefile(a, b)
    insensitive = case_insensitive(a) or case_insensitive(b)
    return normalise_path(a, insensitive=insensitive) == normalise_path(b, insensitive=insensitive)


def inside(path: PathLike, directory: PathLike) -> bool:
    insensitive = case_insensitive(path) or case_insensitive(directory)
    p, d = normalise_path(path, insensitive=insensitive), normalise_path(directory, insensitive=insensitive)
    return p.startswith(d.rstrip(os.sep) + os.sep)


def existing_dir(path: Path, strict: bool = True) -> Path:
    """The nearest existing ancestor of ``path`` (itself included); a directory when ``strict``."""
    for cand in (path, *path.parents):
        if os.path.exists(cand):
            return cand if (cand.is_dir() or not strict) else cand.parent
    return Path(path.anchor or ".")


def _same_entry(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def read_only(path: Path) -> bool:
    with suppress(OSError, AttributeError):
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    return False

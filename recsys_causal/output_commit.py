"""The commit phase of an output plan: rename staged temporaries into place, all or none.

Two renames cannot be atomic together, so every previous output is first backed up (a hard link, or a copy
where links are not supported); if a later rename fails, the earlier ones are undone from the backups. SIGINT,
SIGTERM and SIGHUP are held while the renames run and delivered afterwards. OS errors become
:class:`~recsys_causal.errors.OutputError` messages that name the path and the fix.

>>> import errno
>>> os_error(OSError(errno.ENOSPC, "No space left"), Path("r.json"), "--json").message
'cannot write --json: the disk is full'
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from recsys_causal.errors import OutputError

__all__ = ["commit", "os_error", "remove", "temp_name"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"


def temp_name(path: Path, suffix: str) -> Path:
    token = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return path.with_name(f".{path.name}.{token}{suffix}")


def _replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    os.replace(src, dst)


def commit(staged: list[tuple[Path, Path]], outputs: Mapping[str, Path | None]) -> None:
    """Rename every temporary into place; on failure put every previous output back."""
    labels = {v: k for k, v in outputs.items() if v is not None}
    backups: dict[Path, Path] = {}
    done: list[Path] = []
    with signals_deferred():
        try:
            for target, _ in staged:
                if os.path.lexists(target):
                    backups[target] = _backup(target, labels[target])
            for target, tmp in staged:
                _replace(tmp, target)
                done.append(target)
        except BaseException as exc:
            kept = _rollback(done, backups)
            if kept:
                raise OutputError(
                    f"a rename failed and previous outputs could not all be restored ({exc})", source=str(kept[0]),
                    fix="the previous versions are kept beside the outputs as: " + ", ".join(map(str, kept))) from exc
            if isinstance(exc, OSError):
                target = staged[len(done)][0]
                raise os_error(exc, target, labels[target]) from exc
            raise
        for bak in backups.values():
            remove(bak)
    for d in {t.parent for t, _ in staged}:
        _fsync_dir(d)


def _backup(target: Path, label: str) -> Path:
    bak = temp_name(target, ".bak")
    try:
        os.link(target, bak)
    except OSError:
        try:
            shutil.copy2(target, bak)
        except OSError as exc:
            remove(bak)
            raise os_error(exc, target, label) from exc
    return bak


def _rollback(done: list[Path], backups: dict[Path, Path]) -> list[Path]:
    """Undo the renames in ``done``; returns the backups that could not be restored (kept on disk)."""
    kept = []
    for target in reversed(done):
        try:
            if target in backups:
                _replace(backups.pop(target), target)
            else:
                os.unlink(target)
        except OSError:
            if target in backups:
                kept.append(backups.pop(target))
    for bak in backups.values():
        remove(bak)
    return kept


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP during the renames and deliver them afterwards (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [s for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s)]
    pending: list[int] = []
    old = {}
    for name in names:
        sig = getattr(signal, name)
        old[sig] = signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in pending[:1]:
            handler = old[sig]
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), sig)


_OS_FIXES = {
    errno.ENOSPC: ("the disk is full", "free space on that file system or write elsewhere"),
    errno.EDQUOT: ("the disk quota is exceeded", "free space or write elsewhere"),
    errno.EROFS: ("the file system is read-only", "choose a writable output directory"),
    errno.EACCES: ("permission denied", "choose a writable output directory or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a writable output directory or fix its permissions"),
    errno.ENOTDIR: ("a parent of the path is a file, not a directory", "choose another output directory"),
    errno.EISDIR: ("the path is a directory", "give a file path"),
    errno.ENAMETOOLONG: ("the path is too long", "choose a shorter output path"),
}


def os_error(exc: OSError, path: Path, label: str) -> OutputError:
    code = exc.errno
    if code is None:
        found = re.search(r"\[Errno (\d+)\]", str(exc))
        code = int(found.group(1)) if found else None
    what, fix = _OS_FIXES.get(code, (exc.strerror or str(exc), "check the output path and the disk"))
    return OutputError(f"cannot write {label}: {what}", source=str(path),
                       fix=fix + "; nothing was written and previous outputs are unchanged")


def fsync(path: Path) -> None:
    """Flush a file (or a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with suppress(OSError, AttributeError):  # not every platform can open a directory
        fsync(path)


def remove(path: Path) -> None:
    with suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

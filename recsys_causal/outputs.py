"""Output safety: every file a run writes goes through one :class:`OutputPlan`.

A plan is checked before any analysis runs: an output that resolves (after symlinks, ``..`` and the case rules
of the file system) to an input file, a file inside an input directory, the config or another output is refused
with an :class:`~recsys_causal.errors.OutputError`, as is an output that is a directory, a device node, a
symbolic link or a path under a regular file. :meth:`OutputPlan.write` then writes every output to a temporary
file beside its target (permissions follow the umask) and renames them all; previous outputs are backed up while
the renames run and restored if one fails, so a run replaces all of its outputs or none. ``-`` (or
``/dev/stdout``) sends one output to standard output instead.

>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "log.csv").write_text("request_id\\nr1\\n")
>>> plan = OutputPlan({"--out": d / "out" / "r.html", "--json": d / "out" / "r.json"}, {"data": d / "log.csv"})
>>> paths = plan.write({"--out": "<p>hi</p>", "--json": "{}"})
>>> sorted(p.name for p in (d / "out").iterdir())
['r.html', 'r.json']
>>> try:
...     OutputPlan({"--out": d / "sub" / ".." / "log.csv"}, {"data.units": d / "log.csv"})
... except OutputError as exc:
...     print(exc.message.replace(str(d / ""), "..."))
--out is the input data.units (.../log.csv); writing it would destroy what this run reads
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path

from recsys_causal.errors import OutputError
from recsys_causal.output_commit import commit, fsync, os_error, remove, temp_name
from recsys_causal.output_paths import (
    case_insensitive,
    config_output,
    existing_dir,
    inside,
    is_stdout,
    normalise_path,
    read_only,
    same_path,
)

__all__ = ["OutputPlan", "case_insensitive", "config_output", "is_stdout", "normalise_path", "same_path",
           "write_outputs"]

PathLike = str | os.PathLike[str]
Content = str | bytes | Callable[[Path], None]
STRAY_AGE_SECONDS = 3600.0
_STRAY = r"\.{name}\.[a-z0-9_]{{8}}\.(?:tmp|bak)"


class OutputPlan:
    """The outputs of one run, checked against its inputs and written all-or-none.

    ``outputs`` maps a label (the option or YAML key, used in messages) to a path, ``-`` for standard output,
    or ``None`` (not requested). ``inputs`` maps labels to everything the run reads (files or directories).
    ``directories`` lists labels whose output is a directory tree (never replaced: it must not exist).
    ``create_parents`` creates missing parent directories at write time (removed again if the run fails).
    """

    def __init__(self, outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None] |
                 Iterable[PathLike] = (), *, directories: Iterable[str] = (), create_parents: bool = True,
                 stray_age: float = STRAY_AGE_SECONDS) -> None:
        for label, value in outputs.items():
            raw = os.fspath(value) if value is not None else ""
            if raw in (".", "..") or raw.endswith((os.sep, "/", f"{os.sep}.", "/.")):
                raise OutputError(f"{label} names a directory, not a file", source=raw,
                                  fix="give a file path (the directory and a file name)")
        self.outputs = {k: (None if is_stdout(v) else Path(v)) for k, v in outputs.items() if v is not None}
        items = inputs.items() if isinstance(inputs, Mapping) else ((os.fspath(p), p) for p in inputs)
        self.inputs = {k: Path(v) for k, v in items if v is not None}
        self.directories = frozenset(directories)
        self.create_parents = create_parents
        self.stray_age = stray_age
        self.check()

    @property
    def stdout_label(self) -> str | None:
        return next((k for k, v in self.outputs.items() if v is None), None)

    def check(self) -> None:
        """Raise :class:`OutputError` if any output is unsafe; touches nothing."""
        to_stdout = [k for k, v in self.outputs.items() if v is None]
        if len(to_stdout) > 1:
            raise OutputError(f"{' and '.join(to_stdout)} would all go to standard output", source="-",
                              fix="send at most one output to '-'; give the others file paths")
        files = [(k, v) for k, v in self.outputs.items() if v is not None]
        for i, (label, path) in enumerate(files):
            self._check_inputs(label, path)
            for other, opath in files[:i]:
                if same_path(path, opath):
                    raise OutputError(f"{label} and {other} are the same file; one would overwrite the other",
                                      source=str(path), fix="give each output its own path")
            self._check_target(label, path)

    def _check_inputs(self, label: str, path: Path) -> None:
        for in_label, given in self.inputs.items():
            in_path = os.path.realpath(given)  # shown in messages; compared through the path as given
            if os.path.isdir(given) and inside(path, given):
                raise OutputError(f"{label} is inside the input directory {in_label} ({in_path}); writing it "
                                  "would change what this run reads", source=str(path),
                                  fix="write outputs outside the input directories")
            if same_path(path, given):
                raise OutputError(f"{label} is the input {in_label} ({in_path}); writing it would destroy what "
                                  "this run reads", source=str(path), fix="choose an output path that is not an input")

    def _check_target(self, label: str, path: Path) -> None:
        parts = path.parts
        for k in range(1, len(parts)):
            if parts[k] == ".." and not os.path.lexists(Path(*parts[:k])):
                raise OutputError(f"{label} goes up ('..') from {Path(*parts[:k])}, which does not exist",
                                  source=str(path), fix="write the output path without '..' after a missing directory")
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):  # a file on the way is reported below, by name
            st = None
        except OSError as exc:
            raise os_error(exc, path, label) from exc
        if st is not None:
            if stat.S_ISLNK(st.st_mode):
                raise OutputError(f"{label} is a symbolic link (to {os.readlink(path)}); it would be replaced by a "
                                  "file", source=str(path),
                                  fix=f"give the real path ({os.path.realpath(path)}) or remove the link")
            if label in self.directories:
                raise OutputError(f"{label} already exists", source=str(path),
                                  fix="choose a new directory; existing data is never overwritten")
            if stat.S_ISDIR(st.st_mode):
                raise OutputError(f"{label} is a directory", source=str(path),
                                  fix=f"give a file path, e.g. {path / 'report'}")
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(f"{label} is a device node, pipe or socket, not a regular file", source=str(path),
                                  fix="give a file path, or '-' for standard output")
        anc = existing_dir(path.parent, strict=False)
        if not anc.is_dir():
            raise OutputError(f"{label} cannot be created: {anc} is a file, not a directory", source=str(path),
                              fix=f"choose an output directory that is not under the file {anc}")
        if anc != path.parent and not self.create_parents:
            raise OutputError(f"output directory {str(path.parent)!r} does not exist", source=str(path),
                              fix="create the directory or choose another output path")
        if not os.access(anc, os.W_OK | os.X_OK):
            why = "is on a read-only file system" if read_only(anc) else "is not writable"
            raise OutputError(f"{label}: directory {anc} {why}", source=str(path),
                              fix="choose a writable output directory")

    def write(self, contents: Mapping[str, Content]) -> dict[str, Path | None]:
        """Write every output (text, bytes, or ``writer(tmp_path)``), then rename them all into place.

        On any failure only this run's temporaries and new directories are removed; previous outputs stay.
        """
        missing = set(self.outputs) - set(contents)
        if missing:
            raise ValueError(f"no content for outputs {sorted(missing)}")
        self.check()  # the file system may have changed during the analysis
        created: list[Path] = []
        staged: list[tuple[Path, Path]] = []
        stdout_data = None
        try:
            for label, path in self.outputs.items():
                if path is None:
                    stdout_data = _materialise(contents[label])
                    continue
                created += _make_parents(path, label)
                _clean_strays(path, self.stray_age)
                staged.append((path, _stage(path, label, contents[label], label in self.directories)))
            commit(staged, self.outputs)
        except BaseException:
            for _, tmp in staged:
                remove(tmp)
            for d in reversed(created):
                with suppress(OSError):
                    d.rmdir()
            raise
        if stdout_data is not None:
            _to_stdout(stdout_data)
        return dict(self.outputs)


def write_outputs(outputs: Mapping[str, PathLike | None], contents: Mapping[str, Content],
                  inputs: Mapping[str, PathLike | None] | Iterable[PathLike] = (), **kwargs) -> dict[str, Path | None]:
    """Check and write in one call: ``OutputPlan(outputs, inputs, **kwargs).write(contents)``."""
    return OutputPlan(outputs, inputs, **kwargs).write(contents)


# ----------------------------------------------------------------------------- staging


def _stage(path: Path, label: str, content: Content, directory: bool) -> Path:
    """Write ``content`` to a new temporary beside ``path`` (mode 0666/0777 minus the umask)."""
    for _ in range(100):
        tmp = temp_name(path, ".tmp")
        try:
            if directory:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666))
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise os_error(exc, path, label) from exc
    else:  # pragma: no cover - 100 collisions of 8 random characters
        raise OutputError("cannot create a temporary file", source=str(path), fix="retry")
    try:
        _write_content(tmp, content)
        if not directory:
            fsync(tmp)
    except BaseException as exc:
        remove(tmp)
        if isinstance(exc, OSError):
            raise os_error(exc, path, label) from exc
        raise
    return tmp


def _write_content(tmp: Path, content: Content) -> None:
    if callable(content):
        content(tmp)
        return
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    with open(tmp, "wb") as fh:
        fh.write(data)


def _materialise(content: Content) -> bytes:
    if not callable(content):
        return content.encode("utf-8") if isinstance(content, str) else bytes(content)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "out"
        content(tmp)
        return tmp.read_bytes()


def _to_stdout(data: bytes) -> None:
    try:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            sys.stdout.write(data.decode("utf-8"))
        else:
            buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError as exc:
        raise OutputError("standard output was closed before the output was written", source="-",
                          fix="keep the reading end of the pipe open, or write to a file") from exc


def _make_parents(path: Path, label: str) -> list[Path]:
    missing = [p for p in (path.parent, *path.parent.parents) if not os.path.lexists(p)]
    created = []
    try:
        for d in reversed(missing):
            if not os.path.lexists(d):  # 'new/..' exists once 'new' does
                os.mkdir(d)
                created.append(d)
    except OSError as exc:
        for d in reversed(created):
            with suppress(OSError):
                d.rmdir()
        raise os_error(exc, path, label) from exc
    return created


def _clean_strays(path: Path, age: float) -> None:
    """Remove this tool's temporaries for ``path`` (``.<name>.<8 chars>.tmp``/``.bak``) older than ``age``."""
    pattern = re.compile(_STRAY.format(name=re.escape(path.name)))
    cutoff = time.time() - age
    with suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            with suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if st.st_mtime >= cutoff or stat.S_ISLNK(st.st_mode):
                    continue
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    os.unlink(entry.path)

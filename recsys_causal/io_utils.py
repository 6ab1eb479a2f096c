"""Atomic output writing for the Python writers, on top of :class:`recsys_causal.outputs.OutputPlan`.

A reader never sees a half-written file, a failure leaves no partial output behind and the previous file in
place, the file's permissions follow the umask, and a path that is one of ``inputs`` is refused.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "out.txt", "hello")
>>> (d / "out.txt").read_text()
'hello'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from recsys_causal.outputs import OutputPlan

Inputs = Mapping[str, "str | os.PathLike[str] | None"] | Iterable["str | os.PathLike[str]"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None], *, inputs: Inputs = (),
                 create_parents: bool = False, label: str = "output") -> Path:
    """Call ``write(tmp_path)`` then atomically move ``tmp_path`` to ``path``; clean up on failure.

    Raises :class:`~recsys_causal.errors.OutputError` (nothing written) when ``path`` is one of ``inputs``, is
    a directory, device or symbolic link, its directory is missing (unless ``create_parents``) or unwritable,
    or the disk is full.
    """
    OutputPlan({label: path}, inputs, create_parents=create_parents).write({label: write})
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, inputs: Inputs = ()) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write`)."""
    OutputPlan({"output": path}, inputs, create_parents=False).write({"output": text})


def source_inputs(label: str, *sources: object) -> dict[str, Path]:
    """The sources that are paths on disk, labelled for messages (``DataFrame`` and ``None`` are skipped).

    >>> source_inputs("source", None, "DataFrame")
    {}
    """
    found = {}
    for i, src in enumerate(sources):
        if isinstance(src, str | os.PathLike) and os.path.exists(src):
            found[label if i == 0 else f"{label} {i + 1}"] = Path(src)
    return found

"""Progress bars for long steps (CATE fits, bootstrap loops, engine scans, validation over files, report
sections): ``tqdm.auto``, so a widget in a notebook and a text bar in a terminal.

A bar is shown only when someone is watching: standard error is a terminal or the code runs in a Jupyter
kernel. It is off when asked: ``progress=False`` on the API, the environment variable
``RECSYS_CAUSAL_PROGRESS=0`` (``=1`` forces it on), or inside :func:`quiet` (the CLIs' ``--quiet``). The
argument wins over the quiet switch, the quiet switch over the environment, the environment over the detection.

>>> import os
>>> os.environ["RECSYS_CAUSAL_PROGRESS"] = "0"
>>> list(track(range(3), desc="resamples"))
[0, 1, 2]
>>> enabled(None), enabled(True)
(False, True)
>>> del os.environ["RECSYS_CAUSAL_PROGRESS"]
>>> with quiet():
...     enabled(None)
False
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
ENV = "RECSYS_CAUSAL_PROGRESS"
OFF, ON = frozenset({"0", "false", "no", "off"}), frozenset({"1", "true", "yes", "on"})
_QUIET: ContextVar[bool] = ContextVar("recsys_causal_quiet", default=False)


def _watched() -> bool:
    """Standard error is a terminal, or the code runs in a Jupyter kernel."""
    isatty = getattr(sys.stderr, "isatty", None)
    if callable(isatty) and isatty():
        return True
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    return bool(callable(get_ipython) and getattr(get_ipython(), "kernel", None) is not None)


def enabled(progress: bool | None = None) -> bool:
    """Whether to show a bar: ``progress`` if given, else not inside :func:`quiet`, else
    ``RECSYS_CAUSAL_PROGRESS`` if set, else whether someone is watching."""
    if progress is not None:
        return bool(progress)
    if _QUIET.get():
        return False
    env = os.environ.get(ENV, "").strip().lower()
    return env in ON if env in OFF | ON else _watched()


@contextlib.contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """Within the block, bars are off unless a call asks for one with ``progress=True``."""
    token = _QUIET.set(on)
    try:
        yield
    finally:
        _QUIET.reset(token)


def track(iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it",
          progress: bool | None = None) -> Iterable[T]:
    """``iterable`` itself, wrapped in a ``tqdm.auto`` bar when :func:`enabled` (``desc`` names the step)."""
    if not enabled(progress):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, file=sys.stderr)


class Steps:
    """A bar over a known number of named steps: ``with steps(3, "CATE") as s: ...; s.advance("fit")``."""

    def __init__(self, total: int, desc: str, progress: bool | None = None) -> None:
        self.bar: Any = None
        if enabled(progress):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, leave=False, file=sys.stderr)

    def advance(self, step: str = "") -> None:
        """Mark one step done (``step`` shown beside the bar)."""
        if self.bar is not None:
            self.bar.set_postfix_str(step, refresh=False)
            self.bar.update(1)

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def steps(total: int, desc: str, progress: bool | None = None) -> Steps:
    """A :class:`Steps` bar (inert when :func:`enabled` is false)."""
    return Steps(total, desc, progress)


__all__ = ["ENV", "Steps", "enabled", "quiet", "steps", "track"]

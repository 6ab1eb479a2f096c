"""Progress bars for long steps (CATE fits, bootstrap loops, engine scans, validation over files, report
sections): ``tqdm.auto``, so a widget in a notebook and a text bar in a terminal.

A bar is shown only when someone is watching: standard error is a terminal or the code runs in a Jupyter
kernel. It is off when asked: ``progress=False`` on the API (a public function passes it down with
:func:`asked`), inside :func:`quiet` (the CLIs' ``--quiet``), or with the environment variable
``RECSYS_CAUSAL_PROGRESS=0`` (``=1`` forces it on). An explicit argument wins over the environment, the
environment over the detection.

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
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
ENV = "RECSYS_CAUSAL_PROGRESS"
OFF, ON = frozenset({"0", "false", "no", "off"}), frozenset({"1", "true", "yes", "on"})
_ASKED: ContextVar[bool | None] = ContextVar("recsys_causal_progress", default=None)


def _watched() -> bool:
    """Standard error is a terminal, or the code runs in a Jupyter kernel."""
    isatty = getattr(sys.stderr, "isatty", None)
    if callable(isatty) and isatty():
        return True
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    return bool(callable(get_ipython) and getattr(get_ipython(), "kernel", None) is not None)


def enabled(progress: bool | None = None) -> bool:
    """Whether to show a bar: ``progress`` if given, else the setting of the enclosing :func:`asked` /
    :func:`quiet` block, else ``RECSYS_CAUSAL_PROGRESS`` if set, else whether someone is watching."""
    if progress is None:
        progress = _ASKED.get()
    if progress is not None:
        return bool(progress)
    env = os.environ.get(ENV, "").strip().lower()
    return env in ON if env in OFF | ON else _watched()


@contextlib.contextmanager
def asked(progress: bool | None) -> Iterator[None]:
    """Within the block, bars follow ``progress`` (``None``: the enclosing setting, the environment, detection)."""
    token = _ASKED.set(_ASKED.get() if progress is None else bool(progress))
    try:
        yield
    finally:
        _ASKED.reset(token)


def quiet(on: bool = True) -> contextlib.AbstractContextManager[None]:
    """Within the block (when ``on``), bars are off unless a call asks for one with ``progress=True``."""
    return asked(False if on else None)


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
            self.bar.refresh()  # every named step is shown, however quickly it finished

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_option(fn: F) -> F:
    """Decorate a public function with a ``progress`` keyword: every bar inside the call follows it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with asked(kwargs.get("progress")):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def steps(total: int, desc: str, progress: bool | None = None) -> Steps:
    """A :class:`Steps` bar (inert when :func:`enabled` is false)."""
    return Steps(total, desc, progress)


__all__ = ["ENV", "Steps", "asked", "enabled", "progress_option", "quiet", "steps", "track"]

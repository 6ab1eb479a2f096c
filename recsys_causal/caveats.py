"""Statistical caveats as Python warnings of one filterable class hierarchy.

Every caveat a result carries in a field (``Estimate.warnings``, ``ABReadout.warnings``, weak OPE support, a
flagged sample-ratio test, quarantined rows, ...) is also emitted once per call of a public analysis function,
with :func:`warnings.warn`, pointing at the user's line:

- :class:`StatisticalWarning` — the base class (e.g. a relative lift that is undefined);
- :class:`SupportWarning` — the target policy is weakly supported by the logging policy (positivity);
- :class:`DataQualityWarning` — rows quarantined, deduplicated or excluded, labels not yet mature;
- :class:`AssumptionWarning` — an assumption of the design or estimator is in doubt (sample-ratio mismatch,
  CUPED covariates, holdout exposure, few clusters, switchback carryover, slate estimator assumptions).

A caveat's text is tagged with its class where it is made (:func:`caveat`; untagged text is a plain
``StatisticalWarning``); a result may list its caveats in a ``_caveats()`` hook (e.g. support verdicts that are
not in its ``warnings``); :func:`emits_caveats` on a public function emits them after it returns.

Filter them as any warning: ``warnings.simplefilter("ignore", StatisticalWarning)`` silences them,
``python -W error::recsys_causal.StatisticalWarning`` (or ``PYTHONWARNINGS``) turns them into exceptions. The
result fields are unchanged. (CPython reads ``-W`` before site-packages are importable, prints "Invalid -W option
ignored" for these classes and drops the option; :func:`apply_warning_options` installs it when the package is
imported, before any caveat can be emitted.)

>>> import warnings
>>> class Readout:
...     def __init__(self, warnings):
...         self.warnings = warnings
>>> @emits_caveats
... def analysis():
...     return Readout([caveat("3 rows quarantined", DataQualityWarning), "relative lift undefined"])
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     _ = analysis()
>>> [(w.category.__name__, str(w.message)) for w in caught]
[('DataQualityWarning', '3 rows quarantined'), ('StatisticalWarning', 'relative lift undefined')]
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
PACKAGE_DIR = str(Path(__file__).resolve().parent)
_DEPTH: ContextVar[int] = ContextVar("recsys_causal_caveat_depth", default=0)


class StatisticalWarning(UserWarning):
    """A statistical caveat of a result: the number is computed, but read it with this in mind."""


class SupportWarning(StatisticalWarning):
    """The target policy puts weight where the logging policy rarely or never acts (weak or no support)."""


class DataQualityWarning(StatisticalWarning):
    """Input rows were quarantined, deduplicated or excluded, or labels had not matured."""


class AssumptionWarning(StatisticalWarning):
    """An assumption of the design or estimator is in doubt (sample ratio, covariates, exposure, clusters)."""


class Caveat(str):
    """A caveat's text (a ``str``, so every result field reads as before) carrying its warning category."""

    category: type[StatisticalWarning] = StatisticalWarning

    def __new__(cls, text: str, category: type[StatisticalWarning] = StatisticalWarning) -> Caveat:
        out = super().__new__(cls, text)
        out.category = category
        return out

    def __reduce__(self) -> tuple:
        return Caveat, (str(self), self.category)


def caveat(text: str, category: type[StatisticalWarning] = StatisticalWarning) -> Caveat:
    """``text`` tagged with its warning ``category``."""
    return Caveat(text, category)


def category_of(message: Any) -> type[StatisticalWarning]:
    """The category a caveat was tagged with (:class:`StatisticalWarning` when untagged)."""
    return getattr(message, "category", StatisticalWarning)


def prefixed(prefix: str, message: Any) -> Caveat:
    """``prefix + message``, keeping the message's category."""
    return Caveat(f"{prefix}{message}", category_of(message))


def prefixed_warnings(estimates: Iterable[Any]) -> list[str]:
    """Every warning of ``estimates`` as ``"<estimate name>: <warning>"``, keeping its category."""
    return [prefixed(f"{e.name}: ", w) for e in estimates for w in e.warnings]


def estimate_caveats(estimates: Iterable[Any], known: Iterable[str] = ()) -> list[tuple[type[StatisticalWarning], str]]:
    """Each distinct warning of ``estimates`` once, naming the estimates it concerns (a caveat shared by many rows
    is one warning); warnings in ``known`` (as given or prefixed by the estimate's name) are left out."""
    known = set(known)
    names: dict[str, list[str]] = {}
    for e in estimates:
        for w in e.warnings:
            if w not in known and f"{e.name}: {w}" not in known:
                names.setdefault(w, []).append(e.name)
    out = []
    for w, who in names.items():
        more = f" and {len(who) - 3} more" if len(who) > 3 else ""
        out.append((category_of(w), f"{w} ({', '.join(who[:3])}{more})"))
    return out


def caveats_of(result: Any) -> list[tuple[type[StatisticalWarning], str]]:
    """The distinct ``(category, text)`` caveats of a result: its ``_caveats()`` hook if it has one, else its
    ``_warnings()`` (results protocol) or ``warnings`` field; a list or tuple is taken as the caveats' texts."""
    hook = getattr(result, "_caveats", None)
    if callable(hook):
        items = list(hook())
    else:
        found = (result if isinstance(result, list | tuple) else result._warnings() if hasattr(result, "_warnings")
                 else getattr(result, "warnings", None))
        items = [(category_of(m), str(m)) for m in found or ()]
    return list(dict.fromkeys((cat, str(text)) for cat, text in items))


def user_stacklevel() -> int:
    """The ``stacklevel`` with which the function calling this one makes ``warnings.warn`` point at the first
    frame outside the package (the user's line), however many package frames lie between."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 1


def emit(items: Iterable[tuple[type[StatisticalWarning], str]]) -> None:
    """Warn each ``(category, text)`` once, at the first calling frame outside the package."""
    level = user_stacklevel()
    for category, text in items:
        warnings.warn(text, category=category, stacklevel=level)


def emits_caveats(fn: F | None = None, *, of: Callable[[Any], Any] | None = None) -> Any:
    """Decorate a public analysis function: after it returns, emit the caveats of its result (``of(result)``
    when the caveats are on a part of it). Calls nested inside another decorated call stay silent, so a
    caveat is emitted once per user call."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _DEPTH.set(_DEPTH.get() + 1)
            try:
                result = func(*args, **kwargs)
            finally:
                _DEPTH.reset(token)
            if _DEPTH.get() == 0:
                emit(caveats_of(of(result) if of is not None else result))
            return result

        return wrapper  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


ACTIONS = ("default", "always", "ignore", "module", "once", "error")


def apply_warning_options(options: Iterable[str]) -> int:
    """Install the ``-W`` / ``PYTHONWARNINGS`` options (``action:message:category:module:lineno``) whose
    category is a class of this module (``recsys_causal.X`` or ``recsys_causal.caveats.X``), as the
    interpreter would have; returns how many were installed."""
    classes = {f"{prefix}.{c.__name__}": c for prefix in ("recsys_causal", __name__)
               for c in (StatisticalWarning, SupportWarning, DataQualityWarning, AssumptionWarning)}
    done = 0
    for option in options:
        action, message, category, module, lineno = ([s.strip() for s in option.split(":")] + [""] * 5)[:5]
        chosen = [a for a in ACTIONS if action and a.startswith(action)]
        if category not in classes or not chosen or (lineno and not lineno.isdigit()):
            continue
        warnings.filterwarnings(chosen[0], re.escape(message), classes[category],
                                re.escape(module) + r"\Z" if module else "", int(lineno or 0))
        done += 1
    return done


apply_warning_options(sys.warnoptions)

__all__ = ["AssumptionWarning", "Caveat", "apply_warning_options", "DataQualityWarning", "StatisticalWarning", "SupportWarning", "caveat",
           "caveats_of", "category_of", "emit", "emits_caveats", "estimate_caveats", "prefixed", "prefixed_warnings",
           "user_stacklevel"]

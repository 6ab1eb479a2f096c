"""Nearest-match suggestions for typos in keys, columns, labels and choices.

>>> did_you_mean("clik", ["click", "purchase", "hide"])
" (did you mean 'click'?)"
>>> did_you_mean("zzz", ["click"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(value: object, choices: Iterable[object], *, cutoff: float = 0.6) -> str | None:
    """The choice closest to ``value`` (difflib ratio at least ``cutoff``, case-insensitive), or ``None``."""
    names = [str(c) for c in choices]
    lower = {n.lower(): n for n in names}
    hit = difflib.get_close_matches(str(value).lower(), list(lower), n=1, cutoff=cutoff)
    return lower[hit[0]] if hit else None


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """``" (did you mean 'x'?)"`` when a choice is close to ``value``, else an empty string."""
    hit = nearest(value, choices)
    return f" (did you mean {hit!r}?)" if hit is not None and hit != str(value) else ""


def choices_text(choices: Iterable[object], limit: int = 25) -> str:
    """Up to ``limit`` choices as a readable list (sorted, with a count of the rest)."""
    names = sorted({str(c) for c in choices})
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return "[" + ", ".join(repr(n) for n in names[:limit]) + "]" + more

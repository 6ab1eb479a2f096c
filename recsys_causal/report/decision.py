"""The report's decision rule: ship / do not ship / inconclusive, one sentence per reason.

Each section states its findings (:class:`Finding`: a blocker, an unknown, a positive, or a plain reason) from
its typed results; :func:`decide` weighs them: any blocker → do not ship; positives and no unknowns → ship;
otherwise inconclusive. The reasons list blockers, then unknowns, then positives, then the rest (the rule is
documented in ``reports/README.md``).

>>> decide([Finding("reason", "Sample ratio matches."), Finding("positive", "ctr is up.")])
{'verdict': 'ship', 'reasons': ['ctr is up.', 'Sample ratio matches.']}
>>> decide([Finding("positive", "ctr is up."), Finding("unknown", "click: not distinguishable from 0.")])["verdict"]
'inconclusive'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["blocker", "unknown", "positive", "reason"]
KINDS: tuple[Kind, ...] = ("blocker", "unknown", "positive", "reason")


@dataclass(frozen=True)
class Finding:
    """One sentence for the decision and how it weighs: ``blocker`` (do not ship), ``unknown`` (not decided),
    ``positive`` (a reason to ship) or ``reason`` (context that does not move the verdict)."""

    kind: Kind
    text: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"finding kind {self.kind!r} is not one of {KINDS}")


def decide(findings: Iterable[Finding]) -> dict[str, object]:
    """Ship / do not ship / inconclusive, with the findings' sentences as reasons (rule in the module docstring)."""
    by_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    for f in findings:
        by_kind[f.kind].append(f.text)
    if by_kind["blocker"]:
        verdict = "do not ship"
    elif by_kind["positive"] and not by_kind["unknown"]:
        verdict = "ship"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "reasons": [t for k in KINDS for t in by_kind[k]]}


def interval_finding(text: str, low: float, high: float, significant: bool, positive: str, negative: str,
                     unknown: str) -> Finding:
    """A finding about an effect interval: ``positive`` when it lies above 0 (and ``significant``), a blocker when
    below, else an unknown; each suffix completes ``text``.

    >>> interval_finding("Effect 0.1 [0.05, 0.2]", 0.05, 0.2, True, ".", ".", ": not conclusive.").kind
    'positive'
    """
    if significant and low > 0:
        return Finding("positive", text + positive)
    if significant and high < 0:
        return Finding("blocker", text + negative)
    return Finding("unknown", text + unknown)


def pct(v: float | None) -> str:
    """A relative change as a percentage with two decimals; missing or non-finite values as ``n/a``.

    >>> pct(0.0123), pct(float("nan"))
    ('1.23%', 'n/a')
    """
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.2f}%"


def duration(value) -> str:
    """A duration in words (``7D`` or ``7 days 00:00:00`` → ``7 days``); text that is not a duration unchanged.

    >>> duration("7 days 00:00:00"), duration("90min"), duration("1D"), duration("soon")
    ('7 days', '1 hour 30 minutes', '1 day', 'soon')
    """
    import pandas as pd

    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        return str(value)
    hours, rest = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in
             ((td.days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")) if n]
    return " ".join(parts) or "0 seconds"

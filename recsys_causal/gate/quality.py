"""Data accounting of a screen: every request read is used, quarantined (by the reader, with its reason code) or
excluded by the screen (with its reason), per reward: ``read = used + quarantined + excluded``.

In ``top_slot`` mode the screen evaluates the item shown at position 1 of each request and needs its reward, so
it excludes requests that showed nothing (``nothing_shown``), requests whose shown items sit only at other
positions (``position_outside_evaluated``), and requests whose reward at position 1 is missing because its label
window had not closed at ``as_of`` (``immature_label``) or because it was not logged (``missing_reward``). In
``ranking`` mode the evaluated positions are ``1..K`` and a request is excluded when any reward of its slate is
missing; in ``logged_position`` mode every impression shown at positions ``1..K`` is evaluated at its position,
and a request is likewise excluded when it shows nothing there or any of those rewards is missing (the same
counts as ``details["excluded"]`` of ``evaluate_policies``, whose ``immature_reward`` is ``immature_label`` +
``missing_reward`` here and ``no_item_at_evaluated_positions`` is ``nothing_shown`` +
``position_outside_evaluated``).

>>> import pandas as pd
>>> from recsys_causal.logs import DecisionLog
>>> req = pd.DataFrame({"request_id": ["a", "b", "c"],
...                     "decision_time": pd.to_datetime(["2026-01-01"] * 3, utc=True)})
>>> cand = pd.DataFrame({"request_id": ["a", "b", "c"], "item_id": "i", "shown": [True, True, False],
...                      "position": [1.0, 2.0, None], "click": [1.0, 0.0, None]})
>>> q = account(DecisionLog.from_frames(req, cand), [("click", "primary", "click")])
>>> q.read, q.rewards[0].used, q.rewards[0].excluded
(3, 1, {'nothing_shown': 1, 'position_outside_evaluated': 1})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.logs.model import DecisionLog

EXCLUSIONS = {
    "nothing_shown": "no item was shown",
    "position_outside_evaluated": "the shown items sit only at positions the mode does not evaluate (top_slot: "
                                  "position 1; ranking: positions 1..K)",
    "immature_label": "the reward's label window had not closed at as_of (missing, not 0)",
    "missing_reward": "the reward of the item at position 1 was not logged",
}


@dataclass
class RewardAccounting:
    """Requests used and excluded (by reason) for one reward."""

    reward: str
    role: str  # primary | guardrail
    used: int
    excluded: dict[str, int]

    @property
    def n_excluded(self) -> int:
        return int(sum(self.excluded.values()))


@dataclass
class DataQuality:
    """Requests read, quarantined by reason, and per reward used and excluded by reason."""

    read: int
    quarantined: dict[str, int]
    rewards: list[RewardAccounting]
    source: str | None = None
    validated: bool = False  # a ValidationReport of the reader was given
    notes: list[str] = field(default_factory=list)
    max_quarantine_share: float = 0.01
    max_excluded_share: float | None = None

    @property
    def n_quarantined(self) -> int:
        return int(sum(self.quarantined.values()))

    @property
    def quarantine_share(self) -> float:
        return self.n_quarantined / self.read if self.read else 0.0

    def excluded_share(self, r: RewardAccounting) -> float:
        return r.n_excluded / self.read if self.read else 0.0

    def reconciles(self) -> bool:
        """read = used + quarantined + excluded, for every reward."""
        return all(self.read == r.used + self.n_quarantined + r.n_excluded for r in self.rewards)

    def blocking_reasons(self) -> list[str]:
        """Why the data cannot support a "pass": quarantine (or exclusion) above its configured share."""
        out = []
        if self.quarantine_share > self.max_quarantine_share:
            out.append(f"data quality: {self.n_quarantined} of {self.read} requests ({self.quarantine_share:.2%}) "
                       f"were quarantined ({_by_reason(self.quarantined)}), above max_quarantine_share "
                       f"{self.max_quarantine_share:g}; fix the log or raise the threshold knowingly")
        if self.max_excluded_share is not None:
            for r in self.rewards:
                if self.excluded_share(r) > self.max_excluded_share:
                    out.append(f"data quality: {r.n_excluded} of {self.read} requests ({self.excluded_share(r):.2%}) "
                               f"were excluded for {r.role} reward {r.reward} ({_by_reason(r.excluded)}), above "
                               f"max_excluded_share {self.max_excluded_share:g}")
        return out

    def to_dict(self) -> dict:
        return {"source": self.source, "validated": self.validated, "requests_read": self.read,
                "quarantined": dict(self.quarantined), "quarantined_total": self.n_quarantined,
                "quarantine_share": self.quarantine_share, "max_quarantine_share": self.max_quarantine_share,
                "max_excluded_share": self.max_excluded_share, "reconciles": self.reconciles(),
                "rewards": [{"reward": r.reward, "role": r.role, "used": r.used, "excluded": dict(r.excluded),
                             "excluded_total": r.n_excluded, "excluded_share": self.excluded_share(r)}
                            for r in self.rewards],
                "exclusion_reasons": {k: v for k, v in EXCLUSIONS.items()
                                      if any(k in r.excluded for r in self.rewards)},
                "notes": list(self.notes)}


def account(log: DecisionLog, rewards: Sequence[tuple[str, str, str | Mapping[str, float]]], validation=None, *,
            max_quarantine_share: float = 0.01, max_excluded_share: float | None = None, mode: str = "top_slot",
            slate_size: int | None = 1) -> DataQuality:
    """Accounting of ``log`` for each ``(label, role, reward spec)``; ``validation`` is the reader's
    ``ValidationReport`` (requests read and quarantined); without it the log's requests are all that was read.
    ``mode`` and ``slate_size`` (the evaluated positions ``1..slate_size``; None: every position) say which
    impressions are evaluated (module docstring)."""
    _check_share("max_quarantine_share", max_quarantine_share)
    if max_excluded_share is not None:
        _check_share("max_excluded_share", max_excluded_share)
    notes = []
    if validation is not None:
        if validation.n_requests_used != log.n_requests:
            raise ConfigError(f"the validation report counts {validation.n_requests_used} usable requests but the "
                              f"log holds {log.n_requests}", source=log.source,
                              fix="pass the report returned with this log by read_decision_log")
        read, quarantined = int(validation.n_requests_read), {k: int(v) for k, v in
                                                              validation.quarantine_counts.items() if v}
        filtered = sum(i.count for i in validation.issues if i.code == "filtered")
        if filtered:
            notes.append(f"{filtered} rows outside the configured filters were not read")
    else:
        read, quarantined = log.n_requests, {}
        notes.append("no validation report: requests quarantined while reading are not known here")
    immature_cols = {i.column for i in getattr(validation, "issues", []) if i.code == "immature_label"}
    if mode == "top_slot":
        rows, outside = _evaluated_rows(log)
        out = [_reward(log, label, role, spec, rows, outside, immature_cols) for label, role, spec in rewards]
    else:
        rows, outside = _slate_rows(log, slate_size)
        out = [_request_reward(log, label, role, spec, rows, outside, immature_cols) for label, role, spec in rewards]
    source = Path(str(log.source)).name if log.source else None
    q = DataQuality(read, quarantined, out, source, validation is not None, notes, max_quarantine_share,
                    max_excluded_share)
    if not q.reconciles():
        n_dup = int(rows.size - np.unique(log.request_index[rows]).size)
        raise DataValidationError(
            f"requests do not reconcile: {read} read ≠ used + {q.n_quarantined} quarantined + excluded "
            f"({[(r.reward, r.used, r.n_excluded) for r in out]}); {n_dup} requests show several items at "
            "position 1", source=log.source, count=n_dup,
            fix="read the log with read_decision_log (it quarantines duplicate positions) and pass its report")
    return q


def _evaluated_rows(log: DecisionLog) -> tuple[np.ndarray, dict[str, int]]:
    pos1 = log.shown & (log.position == 1)
    shown_any = log.per_request_sum(log.shown.astype(float)) > 0
    has_pos1 = log.per_request_sum(pos1.astype(float)) > 0
    return np.nonzero(pos1)[0], {"nothing_shown": int((~shown_any).sum()),
                                 "position_outside_evaluated": int((shown_any & ~has_pos1).sum())}


def _slate_rows(log: DecisionLog, slate_size: int | None) -> tuple[np.ndarray, dict[str, int]]:
    """Shown rows at the evaluated positions ``1..slate_size`` (every position when None) and the requests
    left out because nothing was shown or nothing at those positions."""
    inside = log.shown & (log.position <= slate_size) if slate_size is not None else log.shown
    shown_any = log.per_request_sum(log.shown.astype(float)) > 0
    has = log.per_request_sum(inside.astype(float)) > 0
    return np.nonzero(inside)[0], {"nothing_shown": int((~shown_any).sum()),
                                   "position_outside_evaluated": int((shown_any & ~has).sum())}


def _request_reward(log, label, role, spec, rows, outside, immature_cols) -> RewardAccounting:
    """Accounting when a request holds several evaluated impressions: it is used when every one has its reward;
    else excluded as ``immature_label`` when a missing one is immature, ``missing_reward`` otherwise."""
    y = (log.reward(spec) if isinstance(spec, str) else log.composite_reward(spec))[rows]
    missing = ~np.isfinite(y)
    immature = np.zeros(rows.size, dtype=bool)
    for c in [spec] if isinstance(spec, str) else list(spec):
        if c in immature_cols:
            immature |= ~np.isfinite(log.reward(c)[rows])
    req, n = log.request_index[rows], log.n_requests
    has = np.bincount(req, minlength=n) > 0
    miss = np.bincount(req, weights=missing.astype(float), minlength=n) > 0
    imm = np.bincount(req, weights=(missing & immature).astype(float), minlength=n) > 0
    excluded = dict(outside)
    excluded["immature_label"] = int((has & imm).sum())
    excluded["missing_reward"] = int((has & miss & ~imm).sum())
    return RewardAccounting(label, role, int((has & ~miss).sum()), {k: v for k, v in excluded.items() if v})


def _reward(log, label, role, spec, rows, outside, immature_cols) -> RewardAccounting:
    y = (log.reward(spec) if isinstance(spec, str) else log.composite_reward(spec))[rows]
    missing = ~np.isfinite(y)
    cols = [spec] if isinstance(spec, str) else list(spec)
    immature = np.zeros(rows.size, dtype=bool)
    for c in cols:
        if c in immature_cols:
            immature |= ~np.isfinite(log.reward(c)[rows])
    excluded = dict(outside)
    excluded["immature_label"] = int((missing & immature).sum())
    excluded["missing_reward"] = int((missing & ~immature).sum())
    return RewardAccounting(label, role, int((~missing).sum()), {k: v for k, v in excluded.items() if v})


def _by_reason(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _check_share(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0 <= float(value) <= 1):
        raise ConfigError(f"{name} must be a share between 0 and 1, got {value!r}", column=name,
                          fix=f"e.g. {name}: 0.01")

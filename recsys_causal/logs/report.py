"""The validation report: every problem found at the edge, with a reason code, a count and example ids.

Counts reconcile: requests read = requests used + requests quarantined (each quarantined request is counted
once, under its first reason in :data:`QUARANTINE_ORDER`).

>>> r = ValidationReport(source="x.csv", n_requests_read=3, n_requests_used=2, n_rows_read=9, n_rows_used=6)
>>> r.add(Reason.DUPLICATE_CANDIDATE, "quarantine", 1, ["r2"], "duplicate (request_id, item_id)", "drop repeats")
>>> r.quarantine_counts = {"duplicate_candidate": 1}
>>> r.reconciles()
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from recsys_causal.caveats import DataQualityWarning
from recsys_causal.errors import DataValidationError, format_examples
from recsys_causal.io_utils import atomic_write, source_inputs
from recsys_causal.results import ResultProtocol


class Reason(StrEnum):
    """Reason codes of validation issues."""

    MISSING_REQUEST_ID = "missing_request_id"
    UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    INCONSISTENT_REQUEST_FIELDS = "inconsistent_request_fields"
    MISSING_UNIT = "missing_unit"
    EMPTY_REQUEST = "empty_request"
    MISSING_ITEM_ID = "missing_item_id"
    INVALID_SHOWN = "invalid_shown"
    INVALID_ELIGIBLE = "invalid_eligible"
    DUPLICATE_CANDIDATE = "duplicate_candidate"
    INVALID_POSITION = "invalid_position"
    POSITION_OUT_OF_RANGE = "position_out_of_range"
    SHOWN_WITHOUT_POSITION = "shown_without_position"
    DUPLICATE_POSITION = "duplicate_position"
    INVALID_PROPENSITY = "invalid_propensity"
    PROPENSITY_SUM_EXCEEDS_ONE = "propensity_sum_exceeds_one"
    INVALID_OUTCOME = "invalid_outcome"
    OUTCOME_ON_UNSHOWN = "outcome_on_unshown"
    # warnings and information: rows are kept
    SHOWN_INELIGIBLE = "shown_ineligible"
    MIXED_POLICY_VERSIONS = "mixed_policy_versions"
    INVALID_SLATE_PROPENSITY = "invalid_slate_propensity"
    IMMATURE_LABEL = "immature_label"
    ORPHAN_OUTCOME_EVENT = "orphan_outcome_event"
    EVENT_BEFORE_DECISION = "event_before_decision"
    FILTERED = "filtered"
    # outcome events (counted per event)
    UNPARSABLE_EVENT_TIME = "unparsable_event_time"
    NAIVE_EVENT_TIME = "naive_event_time"
    INVALID_EVENT_VALUE = "invalid_event_value"
    MISSING_EVENT_KEY = "missing_event_key"
    DUPLICATE_OUTCOME_EVENT = "duplicate_outcome_event"
    EVENT_NOT_LABELLED = "event_not_labelled"
    # unit metrics (counted per request)
    MISSING_VARIANT = "missing_variant"
    MULTI_VARIANT_UNIT = "multi_variant_unit"


#: Quarantine reasons in the order used to assign a request its primary reason.
QUARANTINE_ORDER: tuple[Reason, ...] = (
    Reason.MISSING_REQUEST_ID,
    Reason.UNPARSABLE_TIMESTAMP,
    Reason.FUTURE_TIMESTAMP,
    Reason.INCONSISTENT_REQUEST_FIELDS,
    Reason.MISSING_UNIT,
    Reason.EMPTY_REQUEST,
    Reason.MISSING_ITEM_ID,
    Reason.INVALID_SHOWN,
    Reason.INVALID_ELIGIBLE,
    Reason.DUPLICATE_CANDIDATE,
    Reason.INVALID_POSITION,
    Reason.POSITION_OUT_OF_RANGE,
    Reason.SHOWN_WITHOUT_POSITION,
    Reason.DUPLICATE_POSITION,
    Reason.INVALID_PROPENSITY,
    Reason.PROPENSITY_SUM_EXCEEDS_ONE,
    Reason.INVALID_OUTCOME,
    Reason.OUTCOME_ON_UNSHOWN,
)


@dataclass(frozen=True)
class ValidationIssue:
    """One problem: its reason code, severity (``quarantine``, ``warning`` or ``info``), how many requests
    (or rows, events or labels, as ``unit`` says), up to five example ids and what to do about it."""

    code: str
    severity: str
    count: int
    examples: tuple[str, ...]
    message: str
    fix: str
    column: str | None = None
    unit: str = "requests"

    def __str__(self) -> str:
        ex = f" (e.g. {format_examples(self.examples)})" if self.examples else ""
        col = f" [column {self.column}]" if self.column else ""
        return f"{self.severity} {self.code}{col}: {self.count} {self.unit} — {self.message}{ex}. Fix: {self.fix}"


@dataclass
class ValidationReport(ResultProtocol):
    """What validation found in one source; ``quarantine`` holds the quarantined rows with their reasons."""

    source: str | None
    n_requests_read: int = 0
    n_requests_used: int = 0
    n_rows_read: int = 0
    n_rows_used: int = 0
    issues: list[ValidationIssue] = field(default_factory=list)
    quarantine_counts: dict[str, int] = field(default_factory=dict)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_events_read: int = 0
    n_events_used: int = 0
    events_quarantined: dict[str, int] = field(default_factory=dict)
    events_excluded: dict[str, int] = field(default_factory=dict)
    event_quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)

    def add(
        self, code: str, severity: str, count: int, examples, message: str, fix: str,
        column: str | None = None, unit: str = "requests",
    ) -> None:
        ex = tuple(str(e) for e in list(examples)[:5])
        self.issues.append(ValidationIssue(str(code), severity, int(count), ex, message, fix, column, unit))

    @property
    def n_requests_quarantined(self) -> int:
        return int(sum(self.quarantine_counts.values()))

    @property
    def n_rows_quarantined(self) -> int:
        return len(self.quarantine)

    def reconciles(self) -> bool:
        """Requests read = used + quarantined, rows read = used + quarantined, and outcome events read = used +
        quarantined + excluded."""
        rows_ok = self.quarantine.empty or self.n_rows_read == self.n_rows_used + self.n_rows_quarantined
        events_ok = self.n_events_read == (self.n_events_used + sum(self.events_quarantined.values())
                                           + sum(self.events_excluded.values()))
        return self.n_requests_read == self.n_requests_used + self.n_requests_quarantined and rows_ok and events_ok

    def has(self, code: str) -> bool:
        return any(i.code == str(code) for i in self.issues)

    def issue(self, code: str) -> ValidationIssue:
        for i in self.issues:
            if i.code == str(code):
                return i
        raise KeyError(f"no issue with code {code!r}; codes are {[i.code for i in self.issues]}")

    @property
    def warnings(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    def to_frame(self) -> pd.DataFrame:
        """One row per issue."""
        cols = ["code", "severity", "count", "unit", "column", "examples", "message", "fix"]
        rows = [
            {"code": i.code, "severity": i.severity, "count": i.count, "unit": i.unit, "column": i.column,
             "examples": ", ".join(i.examples), "message": i.message, "fix": i.fix}
            for i in self.issues
        ]
        return pd.DataFrame(rows, columns=cols)

    def counts(self) -> pd.DataFrame:
        """Requests read, used and quarantined by reason (the reconciliation table)."""
        rows = [("read", self.n_requests_read), ("used", self.n_requests_used)]
        rows += [(f"quarantined: {k}", v) for k, v in self.quarantine_counts.items()]
        return pd.DataFrame(rows, columns=["requests", "count"])

    def event_counts(self) -> pd.DataFrame:
        """Outcome events read, used, quarantined and excluded by reason (the events' reconciliation table)."""
        rows = [("read", self.n_events_read), ("used", self.n_events_used)]
        rows += [(f"quarantined: {k}", v) for k, v in self.events_quarantined.items()]
        rows += [(f"excluded: {k}", v) for k, v in self.events_excluded.items()]
        return pd.DataFrame(rows, columns=["events", "count"])

    def nothing_left_error(self, n_filtered: int = 0) -> DataValidationError:
        """The error raised when no request is left to analyse, with the counts by reason and the fix."""
        parts = [f"{v} {k}" for k, v in self.quarantine_counts.items()]
        no_id = sum(i.count for i in self.issues if i.code == Reason.MISSING_REQUEST_ID)
        if no_id:
            parts.append(f"{no_id} rows without request_id")
        if n_filtered:
            parts.append(f"{n_filtered} rows outside the filters")
        why = "; ".join(parts) if parts else "the log holds no rows"
        examples = [e for i in self.issues if i.severity == "quarantine" for e in i.examples][:5]
        return DataValidationError(
            f"nothing left to analyse: {self.n_requests_read} requests read, 0 used ({why})",
            source=self.source, count=self.n_requests_read, examples=examples, code="empty_log",
            fix="fix the problems counted above (read with allow_empty=True to inspect report.quarantine), "
                "widen the filters, or pass allow_empty=True to accept an empty log")

    def write_quarantine(self, path: str | Path) -> Path:
        """Write the quarantined rows (with ``quarantine_reason``) to Parquet or CSV, atomically (never over the
        validated source)."""
        path = Path(path)
        frame = self.quarantine
        inputs = source_inputs("the validated source", self.source)
        if path.suffix == ".csv":
            return atomic_write(path, lambda p: frame.to_csv(p, index=False), inputs=inputs)
        return atomic_write(path, lambda p: frame.to_parquet(p, index=False), inputs=inputs)

    def __repr__(self) -> str:
        lines = [
            f"ValidationReport({self.source or 'data'}: {self.n_requests_read} requests read, "
            f"{self.n_requests_used} used, {self.n_requests_quarantined} quarantined"
            + (f"; outcome events: {self.n_events_read} read, {self.n_events_used} used, "
               f"{sum(self.events_quarantined.values())} quarantined, {sum(self.events_excluded.values())} excluded"
               if self.n_events_read else "") + ")"
        ]
        lines += [f"  {i}" for i in self.issues]
        return "\n".join(lines)

    # -- results protocol: issues, then the reconciliation of requests (and outcome events) -------------------
    def _headline(self) -> str:
        return repr(self).splitlines()[0]

    def _title(self) -> str:
        return f"Validation of {self.source or 'data'}"

    def _sections(self) -> list[tuple[str, Any]]:
        parts: list[tuple[str, Any]] = [("", self.to_frame()), ("Requests", self.counts())]
        if self.n_events_read:
            parts.append(("Outcome events", self.event_counts()))
        return parts

    def _warnings(self) -> list[str]:
        return []  # every issue, warnings included, is a row of the issues table

    def _caveats(self) -> list[tuple[type, str]]:
        """Each quarantine and warning issue (one per reason code, with its count) as a data-quality caveat."""
        where = f"{self.source}: " if self.source else ""
        return [(DataQualityWarning, f"{where}{i}") for i in self.issues if i.severity in ("quarantine", "warning")]

    def _data(self) -> dict[str, Any]:
        return {"source": self.source, "reconciles": self.reconciles(),
                "quarantine_counts": self.quarantine_counts, "events_quarantined": self.events_quarantined,
                "events_excluded": self.events_excluded}

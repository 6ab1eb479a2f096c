"""Unit-level metrics from a decision log, over a window after each unit's first exposure.

For every randomisation unit (default ``user_id``) in an experiment: the variant, the first exposure (earliest
``decision_time``), and sums over requests with ``first_exposure <= decision_time < first_exposure + window``
of impressions (shown candidates) and of each outcome column over shown candidates (click, purchase, hide, …).
Units whose window has not closed by ``as_of`` (``first_exposure + window > as_of``) are **excluded and
counted**, never zero-filled. Units logged in more than one variant are quarantined and counted, and so are
requests without a unit or a variant. Within a closed window, shown candidates whose outcome is missing (NaN)
add nothing to the sums and are counted per outcome in ``missing_outcomes`` so a label-maturity problem is
visible. Requests reconcile: read = used + quarantined + excluded (:meth:`UnitMetrics.accounting`).

>>> from recsys_causal.simulate.ab import simulate_ab_log
>>> from recsys_causal.logs.model import DecisionLog
>>> req, cand, _ = simulate_ab_log(n_users=300, seed=0)
>>> log = DecisionLog.from_frames(req, cand)
>>> um = unit_metrics_from_log(log, window="7D", as_of="2026-05-01")
>>> {"variant", "impressions", "click"} <= set(um.units.columns), um.n_immature
(True, 0)
>>> um.reconciles(), um.n_requests_read == log.n_requests
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.caveats import DataQualityWarning, emits_caveats
from recsys_causal.checks import Quarantine, quarantine_multi_assigned, require_columns, utc_timestamp
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.display import duration, timestamp
from recsys_causal.errors import DataValidationError
from recsys_causal.frames import to_pandas
from recsys_causal.logs.model import DecisionLog


@dataclass(frozen=True)
class UnitMetrics:
    """Unit-level table plus what was left out: immature units and quarantined multi-variant units."""

    units: pd.DataFrame
    window: pd.Timedelta
    as_of: pd.Timestamp
    n_immature: int = 0
    immature_examples: list = field(default_factory=list)
    quarantine: Quarantine | None = None
    missing_outcomes: dict = field(default_factory=dict)
    n_requests_read: int = 0
    requests_quarantined: dict = field(default_factory=dict)
    requests_excluded: dict = field(default_factory=dict)
    quarantine_examples: dict = field(default_factory=dict)

    @property
    def n_requests_used(self) -> int:
        """Requests summed into the units of the table."""
        return int(self.units["n_requests"].sum()) if len(self.units) else 0

    @property
    def n_requests_quarantined(self) -> int:
        return int(sum(self.requests_quarantined.values()))

    @property
    def n_requests_excluded(self) -> int:
        return int(sum(self.requests_excluded.values()))

    def reconciles(self) -> bool:
        """Requests read = used + quarantined + excluded."""
        return self.n_requests_read == self.n_requests_used + self.n_requests_quarantined + self.n_requests_excluded

    def accounting(self) -> pd.DataFrame:
        """Requests read, used, quarantined and excluded by reason (the reconciliation table).

        Quarantined: ``missing_unit`` (no value in the unit column), ``missing_variant``, ``multi_variant_unit``
        (every request of a unit seen in several variants). Excluded: ``other_experiment``, ``outside_window``
        (after the unit's window), ``immature_unit`` (the unit's window has not closed by ``as_of``).
        """
        rows = [("read", self.n_requests_read), ("used", self.n_requests_used)]
        rows += [(f"quarantined: {k}", v) for k, v in self.requests_quarantined.items()]
        rows += [(f"excluded: {k}", v) for k, v in self.requests_excluded.items()]
        return pd.DataFrame(rows, columns=["requests", "count"])

    def _caveats(self) -> list[tuple[type, str]]:
        """Immature units excluded and requests quarantined, as data-quality caveats (once each)."""
        out = []
        if self.n_immature:
            out.append((DataQualityWarning, f"{self.n_immature} units whose {duration(self.window)} window had not closed by "
                        f"{timestamp(self.as_of)} were excluded, not counted as 0 (e.g. {self.immature_examples[:5]})"))
        if self.n_requests_quarantined:
            reasons = ", ".join(f"{k}: {v}" for k, v in self.requests_quarantined.items() if v)
            out.append((DataQualityWarning, f"{self.n_requests_quarantined} of {self.n_requests_read} requests "
                        f"quarantined ({reasons})"))
        return out

    def __repr__(self) -> str:
        q = self.quarantine.count if self.quarantine else 0
        return (f"UnitMetrics({len(self.units)} units, window {self.window}, as of {self.as_of}; "
                f"{self.n_immature} immature excluded, {q} multi-variant quarantined; requests: "
                f"{self.n_requests_read} read, {self.n_requests_used} used, {self.n_requests_quarantined} "
                f"quarantined, {self.n_requests_excluded} excluded)")


@renamed_arguments(log="data")
@emits_caveats
def unit_metrics_from_log(
    data: DecisionLog, *, window: str | pd.Timedelta, as_of: str | pd.Timestamp, unit_col: str = "user_id",
    variant_col: str = "variant", experiment_id: str | None = None, outcomes: Sequence[str] | None = None,
    request_metrics: Sequence[str] = (),
) -> UnitMetrics:
    """Aggregate a decision log to one row per unit (vectorised; see module docstring).

    ``outcomes`` default to the log's reward columns; ``request_metrics`` are numeric request columns summed
    per unit as well (e.g. ``latency_ms``). The result has ``n_requests``, ``impressions`` and one column per
    outcome, plus ``first_exposure`` and ``variant``. Requests without a unit or a variant are quarantined
    and counted (``missing_unit``, ``missing_variant``), never dropped by a group-by. ``data`` is the decision
    log (old keyword ``log``, deprecated).
    """
    log = data
    req = log.requests
    require_columns(req, [unit_col, variant_col, "decision_time"], what="request table")
    mask = np.ones(len(req), dtype=bool)
    if experiment_id is not None:
        require_columns(req, ["experiment_id"], what="request table")
        mask &= (req["experiment_id"] == experiment_id).to_numpy()
    outcomes = list(log.reward_columns if outcomes is None else outcomes)
    shown = log.shown.astype(np.float64)
    cols = {"impressions": log.per_request_sum(shown)}
    for name in outcomes:
        v = log.reward(name)
        cols[name] = log.per_request_sum(np.where(log.shown & np.isfinite(v), v, 0.0))
        cols[f"_missing_{name}"] = log.per_request_sum((log.shown & ~np.isfinite(v)).astype(np.float64))
    frame = pd.DataFrame({unit_col: req[unit_col].to_numpy(), variant_col: req[variant_col].to_numpy(),
                          "decision_time": req["decision_time"].to_numpy(), **cols})
    for name in request_metrics:
        frame[name] = req[name].to_numpy(dtype=np.float64)
    excluded = {"other_experiment": int((~mask).sum())}
    frame = frame.loc[mask]
    frame, quarantined, examples = _quarantine_missing(frame, req, unit_col, variant_col)
    frame, quarantine = quarantine_multi_assigned(frame, unit_col, variant_col)
    quarantined["multi_variant_unit"] = int(quarantine.rows)
    examples["multi_variant_unit"] = list(quarantine.examples)
    window = pd.Timedelta(window)
    as_of = utc_timestamp(as_of)
    first = frame.groupby(unit_col, sort=False)["decision_time"].transform("min")
    frame = frame.assign(first_exposure=first)
    in_window = (frame["decision_time"] < frame["first_exposure"] + window).to_numpy()
    excluded["outside_window"] = int((~in_window).sum())
    value_cols = ["impressions", *outcomes, *request_metrics, *(f"_missing_{o}" for o in outcomes)]
    agg = frame.loc[in_window].groupby(unit_col, sort=False).agg(
        variant=(variant_col, "first"), first_exposure=("first_exposure", "first"),
        n_requests=("decision_time", "size"), **{c: (c, "sum") for c in value_cols})
    agg = agg.rename(columns={"variant": variant_col}).reset_index()
    immature = (agg["first_exposure"] + window > as_of).to_numpy()
    excluded["immature_unit"] = int(agg.loc[immature, "n_requests"].sum())
    immature_examples = agg.loc[immature, unit_col].head(5).tolist()
    units = agg.loc[~immature].reset_index(drop=True)
    missing = {o: int(units[f"_missing_{o}"].sum()) for o in outcomes}
    units = units.drop(columns=[f"_missing_{o}" for o in outcomes])
    return UnitMetrics(units, window, as_of, int(immature.sum()), immature_examples, quarantine, missing,
                       n_requests_read=log.n_requests, requests_quarantined={k: v for k, v in quarantined.items() if v},
                       requests_excluded={k: v for k, v in excluded.items() if v}, quarantine_examples=examples)


def _quarantine_missing(frame: pd.DataFrame, req: pd.DataFrame, unit_col: str,
                        variant_col: str) -> tuple[pd.DataFrame, dict, dict]:
    """Requests without a unit, then without a variant: removed, counted, with example request ids."""
    counts, examples = {}, {}
    ids = req["request_id"].to_numpy() if "request_id" in req.columns else np.arange(len(req))
    for reason, col in (("missing_unit", unit_col), ("missing_variant", variant_col)):
        bad = frame[col].isna().to_numpy()
        counts[reason] = int(bad.sum())
        examples[reason] = [str(v) for v in ids[frame.index.to_numpy()[bad][:5]]]
        frame = frame.loc[~bad]
    return frame, counts, examples


def join_unit_tables(units: pd.DataFrame, *tables: pd.DataFrame, on: str = "user_id",
                     fill: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Left-join outcome or covariate tables (retention, returns, revenue, pre-period) by unit.

    Units absent from a table get NaN unless ``fill`` gives a value for that column (e.g. revenue 0 for
    units with no orders). A table with duplicate unit ids raises an error naming them.
    """
    units, tables = to_pandas(units, what="join_unit_tables"), [to_pandas(t, what="join_unit_tables") for t in tables]
    out = units
    for table in tables:
        dup = table[on].duplicated(keep=False)
        if dup.any():
            ids = table.loc[dup, on].unique()
            raise DataValidationError(
                f"joined table has {len(ids)} duplicate ids in column {on!r}", column=on, count=len(ids),
                examples=list(ids[:5]), fix="aggregate the table to one row per unit before joining")
        out = out.merge(table, on=on, how="left", validate="one_to_one")
    if fill:
        out = out.fillna({k: v for k, v in fill.items() if k in out.columns})
    return out


@renamed_arguments(log="data")
def windowed_unit_metrics(
    data: DecisionLog, *, windows: Sequence[str | pd.Timedelta] = ("7D", "14D", "30D"), as_of: str | pd.Timestamp,
    **kwargs,
) -> dict[str, UnitMetrics]:
    """Unit metrics at several windows after first exposure, each keeping only units whose window closed."""
    return {str(w): unit_metrics_from_log(data, window=w, as_of=as_of, **kwargs) for w in windows}

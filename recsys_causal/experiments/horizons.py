"""A/B readouts at several horizons after first exposure (e.g. 7 / 14 / 30 days) from one decision log.

At each horizon ``h`` the unit table holds only units whose window ``[first exposure, first exposure + h]`` has
closed by ``as_of`` (:func:`~recsys_causal.experiments.unit_metrics.unit_metrics_from_log`: the others are
excluded and counted, never zero-filled), with the log's outcomes summed over ``[t0, t0 + h)`` and, for each
user-level outcome written without a window (``"retention after exposure"``, ``"repeat_purchase by user"``,
``"value of purchase by user as revenue"``), that label over the unit's own window of ``h`` days
(:mod:`recsys_causal.logs.user_windows`). Units of flagged users (a flags table with ``user_id`` and ``flag``)
are excluded and counted by flag; units whose user-level outcome is unknown (a broken event could fall in the
window) are excluded and counted as ``unknown_outcome``. Each horizon is then one :func:`analyze_ab` readout
(SRM, lifts, multiplicity across the metrics of that horizon); horizons are pre-defined readouts of the same
effect over time, not further hypotheses, and are not adjusted across.

>>> from recsys_causal.logs import DecisionLog
>>> from recsys_causal.simulate.visits import simulate_visits
>>> sim = simulate_visits(n_users=600, seed=1)
>>> log = DecisionLog.from_frames(sim.requests, sim.candidates)
>>> r = analyze_horizons(log, metrics=["click", "retention"], outcomes=["retention after exposure"],
...                      horizons=[7, 30], as_of=sim.as_of)
>>> r.counts["units_used"].tolist() > [0, 0], r.lift("retention", 30).details["horizon_days"]
(True, 30)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments.ab_readout import ABReadout
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.metric_base import Metric
from recsys_causal.experiments.readout import analyze_ab
from recsys_causal.experiments.unit_metrics import unit_metrics_from_log
from recsys_causal.logs.label_flags import read_flags
from recsys_causal.logs.labels import LabelSpec
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.user_windows import RETENTION, user_events, values_after
from recsys_causal.results import ResultProtocol


@dataclass
class HorizonReadout(ResultProtocol):
    """Result of :func:`analyze_horizons`: one :class:`ABReadout` per horizon (``readouts[h]``), every lift
    renamed ``"<metric> @ <h>d"`` with ``horizon_days`` and ``n_mature_units`` in its details (``estimates``),
    and where the units went at each horizon (``counts``: mature units used, by arm, immature, flagged and
    unknown-outcome units excluded, requests read / used / quarantined / excluded)."""

    horizons: tuple[float, ...]
    readouts: dict[float, ABReadout]
    estimates: EstimateTable
    counts: pd.DataFrame
    control: str
    warnings: list[str] = field(default_factory=list)

    def lift(self, metric: str, horizon: float, *, relative: bool = False) -> Estimate:
        """The lift of ``metric`` at ``horizon`` days (absolute by default)."""
        e = self.readouts[horizon].lift(metric, relative=relative)
        return next(x for x in self.estimates if x.details["horizon_days"] == horizon and x.details["metric"]
                    == metric and x.details["lift"] == e.details["lift"])

    def _title(self) -> str:
        return "A/B readouts by horizon after first exposure"

    def _headline(self) -> str | None:
        used = ", ".join(f"{_label(h)}: {n}" for h, n in zip(self.horizons, self.counts["units_used"], strict=True))
        return f"mature units analysed — {used}"

    def _sections(self) -> list[tuple[str, Any]]:
        return [("lifts by horizon", self.estimates), ("units by horizon", self.counts)]

    def _data(self) -> dict[str, Any]:
        return {"horizons_days": list(self.horizons), "control": self.control}

    def _warnings(self) -> list[str]:
        return list(self.warnings) + [f"{_label(h)}: {w}" for h, r in self.readouts.items() for w in r.warnings]


def analyze_horizons(
    data: DecisionLog, *, metrics: Sequence[str | Metric], horizons: Sequence[float] = (7, 14, 30),
    as_of: str | pd.Timestamp, outcomes: Sequence[str] = (), events: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None, unit_col: str = "user_id", variant_col: str = "variant",
    control: str = "control", expected_split: Mapping[str, float] | None = None, experiment_id: str | None = None,
    guardrails: Sequence[Guardrail] = (), alpha: float = 0.05,
) -> HorizonReadout:
    """Readouts of ``metrics`` at each of ``horizons`` (days after first exposure) from one log (see the module
    docstring). ``outcomes`` are user-level label specs without a window, computed from ``events`` (retention
    needs none); ``metrics`` and ``guardrails`` name columns of the unit table (the log's outcomes,
    ``impressions``, ``n_requests`` or an outcome's column)."""
    hs = check_horizons(horizons)
    specs = outcome_specs(outcomes)
    if events is None and any(s.event != RETENTION for s in specs):
        raise ConfigError("user-level outcomes other than retention need the outcome events",
                          fix="pass events=<outcome-events table>")
    taken = sorted({s.column for s in specs} & {*data.reward_columns, "impressions", "n_requests", "first_exposure",
                                               unit_col, variant_col})
    if taken:
        raise ConfigError(f"outcome columns {taken} would replace columns of the unit table", column="outcomes",
                          fix="name the outcomes apart with 'as <column>'")
    users = user_events(data, events, user_col=unit_col) if specs else None
    flagged = read_flags(flags, "flags") if flags is not None else None
    readouts, rows, lifts = {}, [], []
    for h in hs:
        units, row = _units_at(data, h, specs, users, flagged, as_of=as_of, unit_col=unit_col,
                               variant_col=variant_col, experiment_id=experiment_id)
        r = analyze_ab(units, metrics=metrics, guardrails=guardrails, variant_col=variant_col, control=control,
                       expected_split=expected_split, unit_col=unit_col, alpha=alpha)
        readouts[h] = r
        rows.append({**row, **{f"units_{k}": int(v) for k, v in r.n_units.items()}})
        lifts += [replace(e, name=f"{e.name} @ {_label(h)}",
                          details={**e.details, "horizon_days": h, "n_mature_units": row["units_used"]})
                  for e in r.metrics]
    counts = pd.DataFrame(rows)
    return HorizonReadout(hs, readouts, EstimateTable(lifts, title="lifts by horizon"), counts, control)


def _units_at(log: DecisionLog, h: float, specs: Sequence[LabelSpec], users, flagged, *, as_of, unit_col: str,
              variant_col: str, experiment_id: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The mature units at horizon ``h`` with their user-level outcomes, and where the units went."""
    um = unit_metrics_from_log(log, window=pd.Timedelta(days=h), as_of=as_of, unit_col=unit_col,
                               variant_col=variant_col, experiment_id=experiment_id)
    units = um.units.copy()
    for spec in specs:
        units[spec.column] = values_after(users, replace(spec, window=pd.Timedelta(days=h)), units[unit_col],
                                          units["first_exposure"])
    row: dict[str, Any] = {"horizon_days": h, "units_mature": int(len(units)), "units_immature": int(um.n_immature)}
    keep = np.ones(len(units), dtype=bool)
    if flagged is not None:
        pos = flagged.users.get_indexer(units[unit_col].astype(str))
        flag_of = flagged.user_flags[np.maximum(pos, 0)]
        for name in sorted(set(flag_of[pos >= 0])):
            row[f"units_excluded_{name}"] = int(((pos >= 0) & (flag_of == name)).sum())
        keep &= pos < 0
    unknown = units[[s.column for s in specs]].isna().any(axis=1).to_numpy() if specs else np.zeros(len(units), bool)
    row["units_excluded_unknown_outcome"] = int((keep & unknown).sum())
    keep &= ~unknown
    dropped = int(units.loc[~keep, "n_requests"].sum())
    units = units.loc[keep].reset_index(drop=True)
    row["units_used"] = int(len(units))
    row.update({"requests_read": um.n_requests_read, "requests_used": um.n_requests_used - dropped,
                "requests_quarantined": um.n_requests_quarantined,
                "requests_excluded": um.n_requests_excluded + dropped, "reconciles": bool(um.reconciles())})
    return units, row


def check_horizons(horizons: Sequence[float]) -> tuple[float, ...]:
    """Horizons in days: finite, positive, at most five years, distinct; returned in increasing order."""
    try:
        hs = [float(h) for h in horizons]
    except (TypeError, ValueError):
        raise ConfigError(f"horizons {list(horizons)!r} are not numbers of days", column="horizons",
                          fix="e.g. horizons=[7, 14, 30]") from None
    bad = [h for h in hs if not np.isfinite(h) or h <= 0 or h > 5 * 366]
    if not hs or bad or len(set(hs)) != len(hs):
        raise ConfigError(f"horizons {hs!r}: need distinct positive numbers of days up to five years"
                          + (f" (bad: {bad})" if bad else ""), column="horizons", fix="e.g. horizons=[7, 14, 30]")
    return tuple(int(h) if h == int(h) else h for h in sorted(hs))


def outcome_specs(outcomes: Sequence[str]) -> list[LabelSpec]:
    """User-level label specs written without a window (the horizon sets it); other scopes are an error."""
    specs = [LabelSpec.parse(o, window=pd.Timedelta(days=1)) for o in outcomes]
    wrong = [o for o, s in zip(outcomes, specs, strict=True) if s.scope != "user"]
    if wrong:
        raise ConfigError(f"outcomes {wrong} are not user-level", column="outcomes",
                          fix="write '<event> by user' or 'retention after exposure' (the horizon sets the window)")
    columns = [s.column for s in specs]
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise ConfigError(f"outcome columns {dup} are defined more than once", column="outcomes",
                          fix="name them apart with 'as <column>'")
    return specs


def _label(h: float) -> str:
    return f"{h:g}d"

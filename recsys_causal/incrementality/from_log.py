"""Holdout units from a decision log: exposure from shown module items, ghost exposures from suppressed slates.

A holdout experiment logs every request with its arm (``variant_col``, e.g. ``treated`` / ``holdout``). For a
holdout unit the ranker still produces the module's slate, which is logged with ``suppressed = true`` on its
candidates (and ``shown = false``; ``position`` is where the item would have been shown). So, over each
unit's window after its first logged request (:func:`~recsys_causal.experiments.unit_metrics.unit_metrics_from_log`):

- **exposed**: the unit had at least one request on the module with a shown item;
- **ghost-exposed**: a holdout unit had at least one request on the module with a suppressed item — it would
  have been exposed (for treated units, ghost-exposed = exposed);
- **holdout leak**: a holdout unit with a shown module item (counted; an error unless
  ``allow_holdout_exposure``, as for unit tables);
- the outcome: a request column summed over the window (``outcome``, e.g. orders per session), or a column
  of a unit table joined by unit (``unit_table``, e.g. a user-level label or pre-period covariates).

The module is every request, or the requests whose columns match ``module`` (``{"surface": "home"}``).
Requests without a unit or an arm, units in both arms, requests after the window and units whose window has
not closed by ``as_of`` are quarantined or excluded and counted: requests read = used + quarantined + excluded.
Treated requests with suppressed items contradict the design and are counted (``suppressed_in_treated``).

>>> from recsys_causal.simulate import simulate_holdout_log
>>> sim = simulate_holdout_log(n_units=2000, seed=0)
>>> hu = holdout_units_from_log(sim.log, window="7D", as_of=sim.as_of, outcome="orders",
...                             module={"surface": "home"})
>>> sorted(hu.units["variant"].unique()), hu.reconciles()
(['holdout', 'treated'], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import DataQualityWarning, caveat
from recsys_causal.checks import join_units, require_columns
from recsys_causal.errors import SchemaError
from recsys_causal.experiments.unit_metrics import UnitMetrics, unit_metrics_from_log
from recsys_causal.logs.model import DecisionLog

SUPPRESSED = "suppressed"
MODULE_SHOWN = "_module_shown"
MODULE_SUPPRESSED = "_module_suppressed"
MISSING_OUTCOME = "_missing_outcome"


@dataclass(frozen=True)
class HoldoutUnits:
    """One row per unit (``variant``, ``exposed``, ``ghost_exposed``, the outcome and joined columns) and the
    request accounting of the log it came from."""

    units: pd.DataFrame
    metrics: UnitMetrics
    counts: dict[str, int] = field(default_factory=dict)

    def reconciles(self) -> bool:
        """Requests read = used + quarantined + excluded."""
        return self.metrics.reconciles()

    def accounting(self) -> pd.DataFrame:
        """Requests read, used, quarantined and excluded by reason."""
        return self.metrics.accounting()


def holdout_units_from_log(
    data: DecisionLog, *, window: str | pd.Timedelta, as_of: str | pd.Timestamp, outcome: str,
    unit_col: str = "user_id", variant_col: str = "variant", holdout_label: object = "holdout",
    module: Mapping[str, Any] | None = None, unit_table: pd.DataFrame | None = None,
    suppressed_col: str = SUPPRESSED, experiment_id: str | None = None,
) -> HoldoutUnits:
    """The unit table of a holdout from its decision log (see the module docstring)."""
    log = data
    in_module = _module_requests(log, module)
    suppressed = _suppressed(log, suppressed_col)
    shown_module = log.per_request_sum(log.shown.astype(float)) * in_module
    ghost_module = log.per_request_sum(suppressed.astype(float)) * in_module
    request_outcome = outcome in log.requests.columns
    if not request_outcome and (unit_table is None or outcome not in unit_table.columns):
        raise SchemaError(f"outcome {outcome!r} is neither a request column of the log nor a column of unit_table",
                          source=log.source, column=outcome,
                          fix="name a numeric request column (summed per unit over the window) or pass "
                              "unit_table= with one row per unit and that column")
    extra = {MODULE_SHOWN: shown_module, MODULE_SUPPRESSED: ghost_module}
    if request_outcome:  # a missing request outcome makes the unit's outcome missing, never a 0 in a sum
        values = pd.to_numeric(log.requests[outcome], errors="coerce").to_numpy(dtype=float)
        extra |= {outcome: np.nan_to_num(values), MISSING_OUTCOME: np.isnan(values).astype(float)}
    requests = log.requests.assign(**extra)
    view = DecisionLog(requests, log.candidates, log.offsets, log.reward_columns, log.source, log.metadata)
    metrics = unit_metrics_from_log(view, window=window, as_of=as_of, unit_col=unit_col, variant_col=variant_col,
                                    experiment_id=experiment_id, outcomes=[],
                                    request_metrics=list(extra))
    units = metrics.units
    held = units[variant_col].astype("string").to_numpy(dtype=object, na_value=None) == str(holdout_label)
    exposed, withheld = units[MODULE_SHOWN].to_numpy() > 0, units[MODULE_SUPPRESSED].to_numpy() > 0
    known = {outcome: units[outcome].where(units[MISSING_OUTCOME].to_numpy() == 0)} if request_outcome else {}
    units = units.assign(exposed=exposed, ghost_exposed=np.where(held, withheld, exposed), **known).drop(
        columns=[MODULE_SHOWN, MODULE_SUPPRESSED, *([MISSING_OUTCOME] if request_outcome else [])])
    if unit_table is not None:
        units = join_units(units, unit_table, unit_col, name="unit_table")[0]
    in_treated = ~held & withheld
    counts = {"requests_read": metrics.n_requests_read, "requests_used": metrics.n_requests_used,
              "requests_quarantined": metrics.n_requests_quarantined,
              "requests_excluded": metrics.n_requests_excluded, "units_immature": metrics.n_immature,
              "module_requests": int(in_module.sum()), "ghost_requests": int((ghost_module > 0).sum()),
              "holdout_leaks": int((held & exposed).sum()), "suppressed_in_treated": int(in_treated.sum())}
    return HoldoutUnits(units, metrics, counts)


def _module_requests(log: DecisionLog, module: Mapping[str, Any] | None) -> np.ndarray:
    """1.0 for the requests on the module (every request when ``module`` is None), else 0.0."""
    out = np.ones(log.n_requests, dtype=bool)
    for column, value in (module or {}).items():
        require_columns(log.requests, [column], what="request table", source=log.source,
                        fix="name a request column in module= (e.g. {'surface': 'home'})")
        values = value if isinstance(value, list | tuple | set) else [value]
        out &= log.requests[column].isin(values).to_numpy()
    return out.astype(float)


def _suppressed(log: DecisionLog, column: str) -> np.ndarray:
    """The suppressed marker per candidate row (False where the column is absent or missing)."""
    if column not in log.candidates.columns:
        return np.zeros(log.n_candidates, dtype=bool)
    col = log.candidates[column]
    if not (pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)):
        raise SchemaError(f"column {column!r} must be boolean (a suppressed / counterfactual marker)",
                          source=log.source, column=column, fix="write true where the slate was withheld")
    return col.fillna(False).astype(bool).to_numpy() & ~log.shown


def analyze_holdout_log(
    data: DecisionLog, *, window: str | pd.Timedelta, as_of: str | pd.Timestamp, outcome: str,
    unit_col: str = "user_id", variant_col: str = "variant", holdout_label: object = "holdout",
    treated_label: object = "treated", module: Mapping[str, Any] | None = None,
    unit_table: pd.DataFrame | None = None, suppressed_col: str = SUPPRESSED, experiment_id: str | None = None,
    **options: Any,
):
    """:func:`~recsys_causal.incrementality.analyze_holdout` from a decision log: the units come from
    :func:`holdout_units_from_log` (ghost exposures from suppressed slates) and the readout's ``counts`` gain the
    request accounting (``requests_read = requests_used + requests_quarantined + requests_excluded``), the module
    and ghost requests, holdout leaks and treated requests with suppressed items. ``options`` are the readout's
    (``revenue_col``, ``covariates`` from ``unit_table``, ``allow_holdout_exposure``, ``alpha``, ...)."""
    from recsys_causal.incrementality.holdout import analyze_holdout

    hu = holdout_units_from_log(data, window=window, as_of=as_of, outcome=outcome, unit_col=unit_col,
                                variant_col=variant_col, holdout_label=holdout_label, module=module,
                                unit_table=unit_table, suppressed_col=suppressed_col, experiment_id=experiment_id)
    readout = analyze_holdout(hu.units, group_col=variant_col, holdout_label=holdout_label,
                              treated_label=treated_label, exposed_col="exposed", ghost_col="ghost_exposed",
                              outcome_col=outcome, unit_col=unit_col, source=options.pop("source", None) or data.source,
                              **options)
    readout.counts.update(hu.counts)
    readout.log_units = hu
    reasons = {f"quarantined: {k}": v for k, v in hu.metrics.requests_quarantined.items()}
    readout.counts.update(reasons | {f"excluded: {k}": v for k, v in hu.metrics.requests_excluded.items()})
    if hu.counts["suppressed_in_treated"]:
        readout.warnings.append(caveat(f"{hu.counts['suppressed_in_treated']} treated units have suppressed module "
                                       "items: the suppression should apply to the holdout only; check the holdout "
                                       "assignment", DataQualityWarning))
    return readout

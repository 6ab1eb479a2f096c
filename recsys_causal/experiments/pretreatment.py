"""The pre-treatment check of covariates: the one function the A/B readout (CUPED) and the HTE fits call.

A covariate used for adjustment or heterogeneity must be measured before a unit's first exposure, or the
treatment can move it and bias the estimate. :func:`check_pre_treatment` rejects a covariate that is the
outcome itself (``outcome=``) and, given measurement times (``covariate_times``: a column of timestamps or one
declared time per covariate) and each unit's first exposure (``first_exposure_col``), any covariate measured at
or after first exposure.

>>> import pandas as pd
>>> units = pd.DataFrame({"user_id": ["a", "b"], "pre": [1.0, 2.0],
...                       "first": pd.to_datetime(["2026-03-02", "2026-03-03"], utc=True)})
>>> check_pre_treatment(units, ["pre"], first_exposure_col="first", covariate_times={"pre": "2026-03-01"})
>>> try:
...     check_pre_treatment(units, ["pre"], first_exposure_col="first", covariate_times={"pre": "2026-03-02"},
...                         unit_col="user_id")
... except Exception as exc:
...     print(type(exc).__name__, exc.count)
DataValidationError 1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from recsys_causal.checks import require_columns, utc_times, utc_timestamp
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import DataValidationError


@renamed_arguments(df="data")
def check_pre_treatment(
    data: pd.DataFrame, covariates: Sequence[str], *, first_exposure_col: str | None = None,
    covariate_times: Mapping[str, str | pd.Timestamp] | None = None, unit_col: str | None = None,
    outcome: str | None = None,
) -> None:
    """Reject covariates that are not pre-treatment (see the module docstring); returns ``None`` when all are.

    ``covariate_times`` maps a covariate to either a column of measurement timestamps or one declared
    measurement time. Each is compared with ``first_exposure_col``; any measurement at or after first exposure
    raises :class:`~recsys_causal.errors.DataValidationError` naming the count and example ``unit_col`` ids.
    """
    for c in covariates:
        if outcome is not None and c == outcome:
            raise DataValidationError(f"covariate {c!r} is the outcome itself", column=c,
                                      fix="use only pre-treatment covariates")
    if not covariate_times:
        return
    if first_exposure_col is not None:
        require_columns(data, [first_exposure_col], error=DataValidationError,
                        message="first-exposure column {first!r} does not exist")
    else:
        raise DataValidationError(
            "covariate measurement times were given but there is no first-exposure column to compare with",
            column=first_exposure_col, fix="pass first_exposure_col naming each unit's first exposure time")
    ids_all = data[unit_col].to_numpy() if unit_col and unit_col in data.columns else None
    first = utc_times(data[first_exposure_col], column=first_exposure_col, ids=ids_all)
    for cov, when in covariate_times.items():
        if cov in covariates:
            _check_one(data, cov, when, first, unit_col, ids_all)


def _check_one(data: pd.DataFrame, cov: str, when: str | pd.Timestamp, first: pd.Series, unit_col: str | None,
               ids_all) -> None:
    if isinstance(when, str) and when in data.columns:
        measured = utc_times(data[when], column=when, ids=ids_all)
    else:
        declared = utc_timestamp(when, key=f"covariate_times[{cov!r}]",
                                 unreadable="is neither a column nor a timestamp",
                                 fix="name a timestamp column or give an ISO-8601 time such as "
                                     "'2026-03-01T00:00:00Z'")
        measured = pd.Series(declared, index=data.index)
    late = (measured >= first).to_numpy()
    if late.any():
        ids = data.loc[late, unit_col].unique()[:5].tolist() if unit_col else data.index[late][:5].tolist()
        raise DataValidationError(
            f"covariate {cov!r} is measured after first exposure for {int(late.sum())} units, so it can be "
            "affected by the treatment and would bias the CUPED lift",
            column=cov, count=int(late.sum()), examples=ids,
            fix="use a covariate computed only from the pre-period (before each unit's first exposure)",
        )


__all__ = ["check_pre_treatment"]

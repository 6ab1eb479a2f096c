"""Validation rules on candidate columns: which columns are outcomes, outcome values, positions, units.

Every rule is vectorised (one pass of numpy/pandas over the column) and returns a row mask or raises a typed
error for a whole-column problem. Which columns are outcomes is decided by :func:`outcome_columns`.

>>> import pandas as pd
>>> frame = pd.DataFrame({"request_id": ["r1"], "item_id": ["a"], "shown": [True], "click": [1.0],
...                       "latency_ms": [12.0], "pred_new": [0.3]})
>>> outcome_columns(frame, "x", rewards=None, non_outcomes=("latency_ms",))
('click',)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import SchemaError
from recsys_causal.logs import grouped, schema
from recsys_causal.logs.parsing import as_float
from recsys_causal.logs.report import Reason

#: Share of requests above which an undeclared outcome column may not quarantine them silently.
MAJORITY = 0.5

_NON_OUTCOME_FIX = ("declare the outcome columns with rewards=[...], or name this column in "
                    "non_outcomes=[...] (a candidate-level number such as a target probability or a partition key) "
                    "or request_columns=[...] (a request-level number such as latency_ms)")


def outcome_columns(
    frame: pd.DataFrame, src: str, *, rewards: Sequence[str] | None, non_outcomes: Sequence[str] = (),
) -> tuple[str, ...]:
    """Declared ``rewards`` (checked to exist and be numeric), else every numeric candidate column that is not
    reserved, not a ``pred_``/``feature_`` column and not in ``non_outcomes``. Decimal columns count as numeric,
    and so does a text column whose values are mostly numbers (its other values are quarantined later)."""
    if rewards is not None:
        require_columns(frame, rewards, message="reward column {first!r} does not exist", source=src,
                        fix="name an outcome column of the log", code="missing_column")
        for c in rewards:
            coerced = pd.to_numeric(frame[c], errors="coerce")
            bad = coerced.isna() & frame[c].notna()
            if bad.any():
                raise SchemaError(
                    f"reward column {c!r} has {int(bad.sum())} non-numeric values", source=src, column=c,
                    count=int(bad.sum()), examples=frame.loc[bad, schema.REQUEST_ID].head(5).tolist(),
                    fix="outcomes must be numbers; leave unknown outcomes empty", code="bad_type",
                )
        return tuple(rewards)
    skip = set(non_outcomes)
    return tuple(str(c) for c in frame.columns
                 if schema.is_outcome_column(str(c)) and str(c) not in skip and _numeric_like(frame[c]))


def _numeric_like(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    sample = col.dropna().head(1000)
    if sample.empty:
        return False
    kind = pd.api.types.infer_dtype(sample, skipna=True)
    if kind == "decimal":
        return True
    if kind in ("boolean", "datetime", "datetime64", "date", "timedelta", "period", "interval"):
        return False
    parsed = pd.to_numeric(sample, errors="coerce")
    return bool(parsed.notna().mean() > 0.5)


def outcome_values(frame: pd.DataFrame, rewards: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Float values per outcome (NaN = not observed) and, per outcome, the rows whose value is unusable:
    not a number, or infinite. Such rows are quarantined; their value becomes NaN, never 0."""
    values, invalid = {}, {}
    for c in rewards:
        col = frame[c]
        v = as_float(col)
        bad = np.isinf(v)
        if not pd.api.types.is_numeric_dtype(col):
            bad |= np.isnan(v) & col.notna().to_numpy()
        if bad.any():
            v = np.where(bad, np.nan, v)
            invalid[c] = bad
        values[c] = v
    return values, invalid


def unshown_outcome_rows(
    values: dict[str, np.ndarray], shown: np.ndarray, empty_row: np.ndarray, codes: np.ndarray, n_req: int,
    *, declared: bool, src: str, uniques: np.ndarray,
) -> np.ndarray:
    """Rows with an outcome on a not-shown candidate. An undeclared column that would put a majority of the
    requests in quarantine is almost surely not an outcome (a request-level number, a partition key, a target
    probability): that raises a :class:`SchemaError` naming the column and the fix instead."""
    out = np.zeros(len(shown), dtype=bool)
    base = ~shown & ~empty_row & (codes >= 0)
    for c, v in values.items():
        rows = base & ~np.isnan(v)
        if not rows.any():
            continue
        hit = np.zeros(n_req, dtype=bool)
        hit[codes[rows]] = True
        n_hit = int(hit.sum())
        if not declared and n_hit > MAJORITY * n_req:
            raise SchemaError(
                f"column {c!r} is numeric, so it was taken as an outcome, but it has values on not-shown candidates "
                f"in {n_hit} of {n_req} requests; outcomes attach to shown candidates only, so it is probably not "
                "an outcome and would quarantine most of the log as outcome_on_unshown",
                source=src, column=c, count=n_hit, examples=uniques[np.nonzero(hit)[0][:5]], fix=_NON_OUTCOME_FIX,
                code="ambiguous_outcome_column")
        out |= rows
    return out


def position_out_of_range(
    position: np.ndarray, shown: np.ndarray, codes: np.ndarray, *, full_candidate_set: bool,
    max_position: int | None,
) -> np.ndarray:
    """Rows whose (whole, ≥ 1) position lies beyond a declared ``max_position`` or, when the log holds the full
    candidate set, beyond the number of candidates of the request (a shown slot no candidate could fill)."""
    has = ~np.isnan(position)
    out = np.zeros(len(position), dtype=bool)
    if max_position is not None:
        out |= has & (position > max_position)
    if full_candidate_set and codes.size:
        valid = codes >= 0
        if grouped.is_grouped(codes):  # one run per request: the run lengths are the sizes
            starts = grouped.run_starts(codes)
            sizes = np.zeros(int(codes[-1]) + 1, dtype=np.int64)
            sizes[codes[starts]] = np.diff(np.append(starts, codes.size))
        else:
            sizes = np.bincount(codes[valid], minlength=int(codes.max()) + 1 if valid.any() else 0)
        rows = np.flatnonzero(has & shown & valid)
        out[rows[position[rows] > sizes[codes[rows]]]] = True
    return out


def missing_unit_rows(frame: pd.DataFrame, unit_column: str, src: str) -> np.ndarray:
    """Rows without a randomisation unit (``unit_column`` must exist)."""
    require_columns(frame, [unit_column], message="unit column {first!r} does not exist", source=src,
                    fix="name the randomisation unit column", code="missing_column")
    return frame[unit_column].isna().to_numpy()


def inconsistent_requests(frame: pd.DataFrame, codes: np.ndarray, time: pd.Series,
                          request_columns: Sequence[str], is_grouped: bool = False) -> np.ndarray:
    """Per request, whether its request-level columns differ between its candidate rows (``is_grouped``: each
    request's rows are contiguous, so neighbouring rows are compared)."""
    cols = [c for c in request_columns if c in frame.columns and c != schema.REQUEST_ID]
    valid = codes >= 0
    n_req = int(codes.max()) + 1 if valid.any() else 0
    hit = np.zeros(n_req, dtype=bool)
    if not n_req:
        return hit
    first = None
    for c in cols:
        values = time if c == schema.DECISION_TIME else frame[c]
        step = grouped.differs_within(values, codes, n_req) if is_grouped else None
        if step is not None:
            hit |= step
            continue
        if first is None:
            first = np.full(n_req, -1, dtype=np.int64)
            rows = np.nonzero(valid)[0]
            present, first_pos = np.unique(codes[rows], return_index=True)
            first[present] = rows[first_pos]  # first row of each request
        v_codes, _ = pd.factorize(values, use_na_sentinel=True)
        differs = valid & (v_codes != v_codes[first[np.maximum(codes, 0)]])
        hit[codes[differs]] = True
    return hit


#: message, fix and column of each quarantine reason
MESSAGES: dict[Reason, tuple[str, str, str | None]] = {
    Reason.UNPARSABLE_TIMESTAMP: ("decision_time cannot be parsed", "write ISO-8601 timestamps with an offset",
                                  schema.DECISION_TIME),
    Reason.FUTURE_TIMESTAMP: ("decision_time is later than the analysis time (as_of)",
                              "check the clock of the logging service or pass a later as_of", schema.DECISION_TIME),
    Reason.INCONSISTENT_REQUEST_FIELDS: ("request-level fields differ between rows of one request (e.g. one "
                                         "request_id reused for two decision times or users)",
                                         "log request fields once per request; make request ids unique", None),
    Reason.MISSING_UNIT: ("requests without a randomisation unit", "log the unit (e.g. user_id) on every request",
                          None),
    Reason.EMPTY_REQUEST: ("requests with no candidates", "log the candidate set of every request", schema.ITEM_ID),
    Reason.MISSING_ITEM_ID: ("candidate rows without item_id", "log an item_id for every candidate", schema.ITEM_ID),
    Reason.INVALID_SHOWN: ("'shown' is not true/false", "log shown as a boolean", schema.SHOWN),
    Reason.INVALID_ELIGIBLE: ("'eligible' is not true/false", "log eligible as a boolean (empty means eligible)",
                              schema.ELIGIBLE),
    Reason.DUPLICATE_CANDIDATE: ("duplicate (request_id, item_id) rows",
                                 "deduplicate candidates before logging (retries often cause this)", schema.ITEM_ID),
    Reason.INVALID_POSITION: ("position is not a whole number >= 1", "log 1-based integer positions",
                              schema.POSITION),
    Reason.POSITION_OUT_OF_RANGE: ("shown position beyond the number of candidates of the request or the declared "
                                   "max_position", "log 1-based slots of the rendered slate; pass "
                                   "full_candidate_set=False if only part of the candidate set is logged",
                                   schema.POSITION),
    Reason.SHOWN_WITHOUT_POSITION: ("shown candidates without a position", "log the slot of every shown candidate",
                                    schema.POSITION),
    Reason.DUPLICATE_POSITION: ("two shown candidates at the same position of one slate",
                                "check the slate assembly; each position holds one item", schema.POSITION),
    Reason.INVALID_PROPENSITY: ("shown candidates whose logging propensity is missing, NaN, <= 0 or > 1",
                                "log the probability the logging policy gave this item at this position",
                                schema.PROPENSITY),
    Reason.PROPENSITY_SUM_EXCEEDS_ONE: ("propensities at one position sum above 1 over the candidate set",
                                        "log marginal (not conditional or unnormalised) propensities, or pass "
                                        "full_candidate_set=False if only part of the candidate set is logged",
                                        schema.PROPENSITY),
    Reason.INVALID_OUTCOME: ("outcome values that are not finite numbers (text, inf)",
                             "log outcomes as finite numbers; leave unknown outcomes empty", None),
    Reason.OUTCOME_ON_UNSHOWN: ("outcomes recorded on candidates that were not shown",
                                "join outcomes to impressions only; check the outcome join", None),
}

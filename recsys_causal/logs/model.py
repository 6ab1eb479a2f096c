"""The decision-log data model: :class:`DecisionLog`, requests and candidates in CSR layout.

A request's candidates are the contiguous slice ``candidates[offsets[r]:offsets[r + 1]]``. Memory is proportional
to the logged candidate rows; nothing is ever expanded to request × catalog × position.

>>> import pandas as pd
>>> requests = pd.DataFrame({"request_id": ["r1", "r2"],
...                          "decision_time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)})
>>> candidates = pd.DataFrame({"request_id": ["r1", "r1", "r2"], "item_id": ["a", "b", "a"],
...                            "shown": [True, False, True], "position": [1, None, 1], "click": [1.0, None, 0.0]})
>>> log = DecisionLog.from_frames(requests, candidates)
>>> log.n_requests, log.n_candidates, log.offsets.tolist()
(2, 3, [0, 2, 3])
>>> log.per_request_sum(log.shown).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import DataValidationError, SchemaError
from recsys_causal.frames import to_pandas
from recsys_causal.logs import schema


@dataclass(eq=False)
class DecisionLog:
    """One decision log in columnar form.

    ``requests`` has one row per request (``request_id``, ``decision_time`` and optional request columns);
    ``candidates`` has one row per logged candidate, grouped by request in the same order as ``requests``
    (it does not repeat request columns); ``offsets`` (length ``n_requests + 1``) delimits each request's
    candidates. ``reward_columns`` names the outcome columns; a missing outcome is NaN ("not observed"),
    never 0. Build one with :func:`recsys_causal.read_decision_log` (validated) or :meth:`from_frames`.
    """

    requests: pd.DataFrame
    candidates: pd.DataFrame
    offsets: np.ndarray
    reward_columns: tuple[str, ...] = ()
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if len(self.offsets) != len(self.requests) + 1 or self.offsets[0] != 0:
            raise DataValidationError("offsets must have length n_requests + 1 and start at 0", source=self.source)
        if self.offsets[-1] != len(self.candidates):
            raise DataValidationError("offsets[-1] must equal the number of candidate rows", source=self.source)
        if np.any(np.diff(self.offsets) < 0):
            raise DataValidationError("offsets must be non-decreasing", source=self.source)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        requests: pd.DataFrame,
        candidates: pd.DataFrame,
        *,
        reward_columns: tuple[str, ...] | None = None,
        source: str | None = None,
    ) -> DecisionLog:
        """Build from a request table and a candidate table carrying ``request_id`` (no validation of values).

        Candidates are stably sorted into request order; candidates whose request is not in ``requests``
        raise :class:`~recsys_causal.errors.SchemaError`.
        """
        requests, candidates = (to_pandas(t, what="DecisionLog.from_frames") for t in (requests, candidates))
        require_columns(candidates, [schema.REQUEST_ID], what="candidate table", source=source,
                        fix="give each candidate the request_id of its request")
        requests = requests.reset_index(drop=True)
        codes = pd.Index(requests[schema.REQUEST_ID]).get_indexer(candidates[schema.REQUEST_ID])
        if np.any(codes < 0):
            unknown = candidates.loc[codes < 0, schema.REQUEST_ID].unique()
            raise SchemaError(
                f"{len(unknown)} candidate request_id values have no request row",
                source=source, column="request_id", count=len(unknown), examples=unknown[:5],
                fix="add the requests or drop the orphan candidates before building the log",
            )
        order = np.argsort(codes, kind="stable")
        cand = candidates.iloc[order].drop(columns=[schema.REQUEST_ID]).reset_index(drop=True)
        counts = np.bincount(codes, minlength=len(requests))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        if reward_columns is None:
            reward_columns = tuple(
                c for c in cand.columns if schema.is_outcome_column(c) and pd.api.types.is_numeric_dtype(cand[c])
                and not pd.api.types.is_bool_dtype(cand[c])
            )
        return cls(requests, cand, offsets, tuple(reward_columns), source)

    # ------------------------------------------------------------------ shape
    @property
    def n_requests(self) -> int:
        return len(self.requests)

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Number of candidates per request."""
        return np.diff(self.offsets)

    @cached_property
    def request_index(self) -> np.ndarray:
        """For each candidate row, the integer index of its request."""
        return np.repeat(np.arange(self.n_requests, dtype=np.int64), self.sizes)

    @property
    def request_ids(self) -> np.ndarray:
        return self.requests[schema.REQUEST_ID].to_numpy()

    @property
    def prediction_columns(self) -> tuple[str, ...]:
        """Names of ``pred_<name>`` columns, without the prefix."""
        p = schema.PREDICTION_PREFIX
        return tuple(c[len(p):] for c in self.candidates.columns if c.startswith(p))

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.candidates.columns if c.startswith(schema.FEATURE_PREFIX))

    # ------------------------------------------------------------------ columns
    def column(self, name: str) -> np.ndarray:
        """A candidate column as a numpy array (float for numeric columns)."""
        require_columns(self.candidates, [name], message="candidate column {first!r} does not exist",
                        source=self.source)
        col = self.candidates[name]
        if pd.api.types.is_bool_dtype(col):
            return col.to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(col):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        return col.to_numpy()

    def request_column(self, name: str) -> np.ndarray:
        require_columns(self.requests, [name], message="request column {first!r} does not exist",
                        source=self.source)
        return self.requests[name].to_numpy()

    @cached_property
    def shown(self) -> np.ndarray:
        return self.candidates[schema.SHOWN].to_numpy(dtype=bool)

    @cached_property
    def position(self) -> np.ndarray:
        """1-based positions as float (NaN where not shown or not logged)."""
        if schema.POSITION not in self.candidates.columns:
            return np.full(self.n_candidates, np.nan)
        return self.candidates[schema.POSITION].to_numpy(dtype=np.float64, na_value=np.nan)

    @cached_property
    def propensity(self) -> np.ndarray:
        if schema.PROPENSITY not in self.candidates.columns:
            return np.full(self.n_candidates, np.nan)
        return self.candidates[schema.PROPENSITY].to_numpy(dtype=np.float64, na_value=np.nan)

    def reward(self, name: str) -> np.ndarray:
        """An outcome column as float with NaN for "not observed" (immature, not shown, not logged)."""
        require_columns(self.reward_columns, [name], message="reward column {first!r} does not exist",
                        source=self.source, fix="use one of the outcome columns or attach labels first")
        return self.column(name)

    def composite_reward(self, weights: Mapping[str, float]) -> np.ndarray:
        """Weighted sum of outcome columns; missing wherever any component is missing.

        >>> import pandas as pd
        >>> r = pd.DataFrame({"request_id": ["r"], "decision_time": pd.to_datetime(["2026-01-01"], utc=True)})
        >>> c = pd.DataFrame({"request_id": ["r", "r"], "item_id": ["a", "b"], "shown": [True, True],
        ...                   "click": [1.0, 1.0], "purchase": [1.0, None]})
        >>> DecisionLog.from_frames(r, c).composite_reward({"click": 1, "purchase": 5}).tolist()
        [6.0, nan]
        """
        total = np.zeros(self.n_candidates)
        for name, w in weights.items():
            total = total + float(w) * self.reward(name)
        return total

    def per_request_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum a candidate-level array within each request (NaN propagates)."""
        values = np.asarray(values, dtype=np.float64)
        out = np.add.reduceat(values, self.offsets[:-1]) if self.n_candidates else np.zeros(self.n_requests)
        if np.any(self.sizes == 0):
            out = np.where(self.sizes == 0, 0.0, out)
        return out

    # ------------------------------------------------------------------ subsets
    def select_requests(self, mask: np.ndarray) -> DecisionLog:
        """A new log holding only the requests where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        keep_rows = mask[self.request_index]
        sizes = self.sizes[mask]
        return DecisionLog(
            self.requests.loc[mask].reset_index(drop=True),
            self.candidates.loc[keep_rows].reset_index(drop=True),
            np.concatenate([[0], np.cumsum(sizes)]),
            self.reward_columns,
            self.source,
            dict(self.metadata),
        )

    def stratify(self, column: str) -> dict[Any, DecisionLog]:
        """Split by a request column (e.g. ``ranking_policy_version``) into one log per value."""
        values = self.request_column(column)
        return {v: self.select_requests(values == v) for v in pd.unique(values)}

    # ------------------------------------------------------------------ export
    def to_long_frame(self) -> pd.DataFrame:
        """One row per candidate with the request columns repeated (the long file format)."""
        req = self.requests.iloc[self.request_index].reset_index(drop=True)
        return pd.concat([req, self.candidates.reset_index(drop=True)], axis=1)

    def summary(self) -> pd.DataFrame:
        """A one-column table of headline counts."""
        rows: dict[str, Any] = {
            "requests": self.n_requests,
            "candidate rows": self.n_candidates,
            "shown candidates": int(self.shown.sum()),
            "mean candidates per request": float(self.sizes.mean()) if self.n_requests else 0.0,
            "outcome columns": ", ".join(self.reward_columns),
            "prediction columns": ", ".join(self.prediction_columns),
        }
        if self.n_requests:
            t = self.requests[schema.DECISION_TIME]
            rows["first decision"] = str(t.min())
            rows["last decision"] = str(t.max())
        for col in schema.POLICY_VERSION_COLUMNS + ("surface", "experiment_id", "variant"):
            if col in self.requests.columns:
                rows[f"distinct {col}"] = int(self.requests[col].nunique())
        shown = self.shown
        for r in self.reward_columns:
            v = self.column(r)[shown]
            rows[f"mean {r} (shown, observed)"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
            rows[f"missing {r} (shown)"] = int(np.isnan(v).sum())
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)})

    def __repr__(self) -> str:
        src = f" from {self.source}" if self.source else ""
        return (
            f"DecisionLog({self.n_requests} requests, {self.n_candidates} candidate rows, "
            f"{int(self.shown.sum())} shown, outcomes={list(self.reward_columns)}{src})"
        )

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self))}</p>" + self.summary().to_html()

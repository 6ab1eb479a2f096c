"""Reward checks before estimation: declared ranges, and the requests that carry the estimate.

**Ranges.** Each outcome column used as a reward is checked against its range: the one declared in
``reward_ranges`` (``{"click": (0, 1)}``) or in ``log.metadata["reward_ranges"]``; otherwise ``[0, 1]`` is
presumed for a binary-looking column (at least :data:`BINARY_SHARE` of its observed values are exactly 0 or 1,
as for labels from label windows). Values outside the range — and infinite values anywhere — raise
:class:`~recsys_causal.errors.DataValidationError` with the count, example request ids and the fix. A column
with no declared range that does not look binary (e.g. revenue) is only checked for infinite values.

**Influential requests.** The per-request contribution ``|w · r|`` of an importance-weighted estimate (for
slates ``|Σ_k α_k w_k r_k|``); the largest share of ``Σ |w · r|`` and the ids of the largest contributors go to
the support report, which turns *weak* when one request carries more than
``SupportThresholds.max_contribution_share`` of it.

>>> import numpy as np
>>> share, ids = contribution_share(np.array([1.0, 0.0, 3.0]), np.array(["a", "b", "c"]))
>>> round(share, 2), ids
(0.75, ['c', 'a'])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.logs.model import DecisionLog

BINARY_SHARE = 0.999  # a column is presumed binary when this share of its observed values is exactly 0 or 1
TOP_IDS = 5


def reward_range(log: DecisionLog, column: str, values: np.ndarray,
                 reward_ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[tuple[float, float] | None, str]:
    """The range a reward column is checked against and where it comes from (declared, presumed or none)."""
    declared = dict(log.metadata.get("reward_ranges", {}) or {})
    declared.update(reward_ranges or {})
    if column in declared:
        lo, hi = (float(x) for x in declared[column])
        if np.isnan(lo) or np.isnan(hi) or lo > hi:
            raise ConfigError(f"reward range {declared[column]!r} of {column!r} is not an interval (low <= high)",
                              column=column, fix="declare reward_ranges={'<reward>': (low, high)} with low <= high")
        return (lo, hi), "declared"
    n_observed = int(np.count_nonzero(np.isfinite(values)))  # NaN and ±inf are never 0 or 1
    if n_observed and np.count_nonzero((values == 0) | (values == 1)) / n_observed >= BINARY_SHARE:
        return (0.0, 1.0), "presumed binary"
    return None, "none"


def check_reward_range(log: DecisionLog, column: str,
                       reward_ranges: Mapping[str, tuple[float, float]] | None = None, *,
                       values: np.ndarray | None = None) -> None:
    """Raise :class:`DataValidationError` when observed values of ``column`` on shown items are infinite or
    outside the column's range (:func:`reward_range`); ``values``: ``log.reward(column)`` when already read."""
    values = log.reward(column) if values is None else values
    shown = log.shown
    v = values[shown]
    rng, kind = reward_range(log, column, v, reward_ranges)
    bad = np.isinf(v)
    if rng is not None:  # NaN compares false: unobserved values are never outside the range
        bad |= (v < rng[0]) | (v > rng[1])
    if not bad.any():
        return
    req = log.request_index[shown][bad]
    ids = list(dict.fromkeys(log.request_ids[req].tolist()))[:TOP_IDS]
    finite = v[np.isfinite(v)]
    raise range_error(log.source, column, int(bad.sum()), ids, rng, kind, float(v[bad][np.argmax(np.abs(v[bad]))]),
                      float(np.max(np.abs(finite))) if finite.size else 1.0)


def range_error(source: str | None, column: str, count: int, examples: list, rng: tuple[float, float] | None,
                kind: str, worst: float, largest: float) -> DataValidationError:
    """The error for reward values outside their range (shared by the in-memory and the SQL paths)."""
    where = "infinite" if rng is None else f"outside its {kind} range [{rng[0]:g}, {rng[1]:g}]"
    why = (f" (presumed because at least {BINARY_SHARE:.1%} of its observed values are 0 or 1)"
           if kind == "presumed binary" else "")
    return DataValidationError(
        f"{count} observed values of reward {column!r} are {where}{why}; most extreme {worst:g}",
        source=source, column=column, count=count, examples=examples, code="reward_out_of_range",
        fix=f"correct those values (a binary label is 0 or 1), or declare the reward's true range, e.g. "
            f"reward_ranges={{{column!r}: (0, {max(largest, 1.0):g})}}")


def contribution_share(contributions: np.ndarray, request_ids: np.ndarray, top: int = TOP_IDS
                       ) -> tuple[float, list]:
    """Largest share of ``Σ |contribution|`` carried by one request and the ids of the largest contributors
    (non-zero ones only, largest first)."""
    a = np.abs(np.asarray(contributions, dtype=float))
    total = float(a.sum())
    if a.size == 0 or total <= 0:
        return 0.0, []
    order = np.argsort(-a, kind="stable")[:top]
    order = order[a[order] > 0]
    return float(a[order[0]] / total), np.asarray(request_ids)[order].tolist()

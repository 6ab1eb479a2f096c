"""Aggregate timestamped outcome events to schedule blocks, excluding a burn-in after each switch.

Counts reconcile: events read = used + inside burn-in + outside the schedule + missing value.

>>> from recsys_causal.simulate import simulate_switchback
>>> from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule
>>> sb = simulate_switchback(n_clusters=2, n_blocks=12, seed=0)
>>> sched = validate_schedule(sb.schedule, SwitchbackDesign())
>>> blocks, counts = aggregate_events(sb.events, sched, burn_in_minutes=10)
>>> counts["read"] == counts["used"] + counts["burn_in"] + counts["outside_schedule"] + counts["missing_value"]
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import SchemaError
from recsys_causal.switchback.schedule import ScheduleError

AGGREGATES = ("mean", "sum", "count", "ratio")


def aggregate_events(
    events: pd.DataFrame,
    schedule: pd.DataFrame,
    *,
    value_col: str = "value",
    time_col: str = "event_time",
    burn_in_minutes: float = 0.0,
    aggregate: str = "mean",
    denominator_col: str | None = None,
    source: str | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-block outcomes (``y``, ``n_events``) joined to a validated schedule, and the event counts.

    ``aggregate="ratio"`` gives ``Σ value_col / Σ denominator_col`` per block (a ratio metric such as CTR).
    """
    src = source or "switchback events"
    if aggregate not in AGGREGATES:
        raise SchemaError(f"unknown aggregate {aggregate!r}", fix=f"use one of {list(AGGREGATES)}")
    if aggregate == "ratio" and denominator_col is None:
        raise SchemaError("a ratio metric needs denominator_col", fix="name the denominator column of the events")
    need = ("cluster", time_col, value_col) + ((denominator_col,) if aggregate == "ratio" else ())
    require_columns(events, need, what="the event table", source=src, fix="give cluster, event_time and the outcome column")
    ev_time = pd.to_datetime(events[time_col], utc=True, errors="coerce", format="ISO8601")
    values = pd.to_numeric(events[value_col], errors="coerce").to_numpy(dtype=float)
    t_ev, s_naive = naive_utc(ev_time), naive_utc(schedule["block_start"])
    block_of = _block_of(events["cluster"].astype(str).to_numpy(), t_ev, schedule, s_naive)
    outside = block_of < 0
    burn = _in_burn_in(block_of, t_ev, s_naive, schedule, burn_in_minutes)
    use = ~outside & ~burn & ~np.isnan(values)
    counts = {"read": int(len(events)), "used": int(use.sum()), "burn_in": int(burn.sum()),
              "outside_schedule": int(outside.sum()), "missing_value": int((~outside & ~burn & np.isnan(values)).sum())}
    empty = np.bincount(block_of[~outside], minlength=len(schedule)) == 0
    if empty.any():
        ids = (schedule["cluster"] + "@" + schedule["block_start"].astype(str))[empty]
        raise ScheduleError(f"{int(empty.sum())} blocks have no outcome events", source=src, count=int(empty.sum()),
                            examples=ids.head(5), fix="check the event export for these periods, or drop the blocks "
                            "from the schedule (and say so)")
    n = np.bincount(block_of[use], minlength=len(schedule))
    total = np.bincount(block_of[use], weights=values[use], minlength=len(schedule))
    blocks = schedule.copy()
    blocks["n_events"] = n
    with np.errstate(invalid="ignore", divide="ignore"):
        if aggregate == "ratio":
            den = pd.to_numeric(events[denominator_col], errors="coerce").fillna(0).to_numpy(dtype=float)
            den_total = np.bincount(block_of[use], weights=den[use], minlength=len(schedule))
            blocks["y"] = np.where(den_total > 0, total / np.where(den_total > 0, den_total, 1), np.nan)
        else:
            blocks["y"] = {"mean": total / n, "sum": total, "count": n.astype(float)}[aggregate]
    blocks.loc[n == 0, "y"] = np.nan  # everything fell in the burn-in
    return blocks, counts


def naive_utc(times) -> np.ndarray:
    """Timezone-aware times (a Series or array) as naive UTC ``datetime64`` values (NaT stays NaT)."""
    return pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None).to_numpy()


def block_index(cluster: np.ndarray, times, schedule: pd.DataFrame) -> np.ndarray:
    """The row of a validated ``schedule`` each (cluster, time) falls in, -1 outside the schedule."""
    return _block_of(np.asarray(cluster).astype(str), naive_utc(times), schedule, naive_utc(schedule["block_start"]))


def _block_of(cluster: np.ndarray, t_ev: np.ndarray, schedule: pd.DataFrame, s_naive: np.ndarray) -> np.ndarray:
    """Each event's block (row of ``schedule``): per cluster, the last block starting at or before the event,
    if the event falls before its end; -1 outside the schedule. Times are naive UTC."""
    block_of = np.full(cluster.size, -1, dtype=np.int64)
    e_naive = naive_utc(schedule["block_end"])
    for name, idx in schedule.groupby("cluster", sort=False).indices.items():
        sel = np.nonzero(cluster == name)[0]
        pos = np.searchsorted(s_naive[idx], t_ev[sel], side="right") - 1
        ok = (pos >= 0) & ~np.isnat(t_ev[sel])
        inside = np.zeros(sel.size, dtype=bool)
        inside[ok] = t_ev[sel][ok] < e_naive[idx][pos[ok]]
        block_of[sel[inside]] = idx[pos[inside]]
    return block_of


def _in_burn_in(block_of: np.ndarray, t_ev: np.ndarray, s_naive: np.ndarray, schedule: pd.DataFrame,
                burn_in_minutes: float) -> np.ndarray:
    """Events within ``burn_in_minutes`` of the start of a block whose assignment differs from the previous
    block of its cluster."""
    burn = np.zeros(block_of.size, dtype=bool)
    if burn_in_minutes <= 0:
        return burn
    treated = schedule["treated"].to_numpy()
    switched = treated != np.concatenate([[np.nan], treated[:-1]])
    switch_block = switched & (schedule["period"].to_numpy() != 0)
    inside = block_of >= 0
    b = block_of[inside]
    since = t_ev[inside] - s_naive[b]
    burn[inside] = switch_block[b] & (since < np.timedelta64(int(burn_in_minutes * 60e9), "ns"))
    return burn

"""Switchback schedules: validation against the declared design, and exact design probabilities.

A schedule has one row per cluster × time block: ``cluster``, ``block_start``, ``block_end`` and ``treated``
(or ``variant`` with values ``control`` / ``treatment``). The design it was drawn from is declared with
:class:`SwitchbackDesign`: ``bernoulli`` (each block treated independently with probability ``p``),
``balanced`` (exactly ``round(p · T)`` treated blocks per cluster, uniformly at random) or ``minimax``
(Bojinov, Simchi-Levi & Zhao's optimal design for carryover order ``m``: fair coins at randomisation points
``1, 2m+1, 3m+1, …, (n−2)m+1`` of ``T = n·m`` periods, assignment held in between).

>>> import pandas as pd
>>> from recsys_causal.switchback.design import make_schedule
>>> s = make_schedule(n_clusters=1, n_blocks=10, design=SwitchbackDesign("minimax", carryover_order=2), seed=0)
>>> s["coin"].tolist()   # randomisation points at periods 1, 5, 7: first and last runs are 2m long
[0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import DataValidationError, SchemaError

DESIGNS = ("bernoulli", "balanced", "minimax")


class ScheduleError(DataValidationError):
    """The schedule is malformed or contradicts its declared design."""


@dataclass(frozen=True)
class SwitchbackDesign:
    """The randomisation design a schedule was drawn from."""

    kind: str = "bernoulli"
    p: float = 0.5
    carryover_order: int | None = None  # required for "minimax"

    def __post_init__(self) -> None:
        if self.kind not in DESIGNS:
            raise SchemaError(f"unknown switchback design {self.kind!r}", fix=f"use one of {list(DESIGNS)}")
        if not 0 < self.p < 1:
            raise SchemaError(f"design probability p={self.p} must be strictly between 0 and 1",
                              fix="a design that never (or always) treats cannot estimate an effect")
        if self.kind == "minimax" and (self.carryover_order is None or self.carryover_order < 1):
            raise SchemaError("the minimax design needs carryover_order >= 1", fix="pass carryover_order=m")
        if self.kind == "minimax" and self.p != 0.5:
            raise SchemaError("the minimax design uses fair coins (p = 0.5)", fix="drop p or set p=0.5")


def minimax_coins(n_blocks: int, m: int) -> np.ndarray:
    """Coin (randomisation-unit) index of each block under the minimax design for carryover order ``m``.

    Randomisation points are at periods 1, 2m+1, 3m+1, ..., (n-2)m+1 (1-based) with ``T = n·m``; when ``T`` is
    not a multiple of ``m`` the last block absorbs the remainder.
    """
    n = n_blocks // m
    if n < 4:
        # too short for the regular design: one coin per m periods
        return np.arange(n_blocks) // m
    points = [1] + [k * m + 1 for k in range(2, n - 1)]
    starts = np.zeros(n_blocks, dtype=np.int64)
    starts[np.array(points) - 1] = 1
    return np.cumsum(starts) - 1


def validate_schedule(schedule: pd.DataFrame, design: SwitchbackDesign, *, source: str | None = None) -> pd.DataFrame:
    """A checked copy sorted by cluster and time, with ``treated``, ``period`` (0-based per cluster) and ``coin``."""
    src = source or "schedule"
    need = ["cluster", "block_start", "block_end"]
    if "treated" not in schedule.columns and "variant" not in schedule.columns:
        need.append("treated or variant")
    require_columns(schedule, need, what="the schedule", source=src,
                    fix="give cluster, block_start, block_end and treated (bool) or variant")
    s = _parse(schedule, src)
    _check_contiguous(s, src)
    s["period"] = s.groupby("cluster").cumcount()
    s["coin"] = _coins(s, design, src)
    _check_design_probabilities(s, design, src)
    return s


def _parse(schedule: pd.DataFrame, src: str) -> pd.DataFrame:
    """A copy with text clusters, UTC block times and a boolean ``treated``, sorted by cluster and start."""
    s = schedule.copy()
    s["cluster"] = s["cluster"].astype(str)
    for c in ("block_start", "block_end"):
        s[c] = pd.to_datetime(s[c], utc=True, errors="coerce", format="ISO8601")
        if s[c].isna().any():
            raise ScheduleError(f"{int(s[c].isna().sum())} unparsable {c} values", source=src, column=c,
                                fix="use timezone-aware ISO-8601 timestamps")
    if "treated" not in s.columns:
        labels = set(s["variant"].astype(str))
        if not labels <= {"control", "treatment"}:
            raise ScheduleError(f"unknown variant labels {sorted(labels - {'control', 'treatment'})}", source=src,
                                column="variant", fix="use 'control' and 'treatment' or a boolean 'treated' column")
        s["treated"] = s["variant"].astype(str) == "treatment"
    s["treated"] = s["treated"].astype(bool)
    return s.sort_values(["cluster", "block_start"], kind="stable").reset_index(drop=True)


def _block_ids(s: pd.DataFrame) -> pd.Series:
    return s["cluster"] + "@" + s["block_start"].astype(str)


def _check_contiguous(s: pd.DataFrame, src: str) -> None:
    """Blocks end after they start, and each follows the previous block of its cluster without overlap or gap."""
    ids = _block_ids(s)
    bad = s["block_end"] <= s["block_start"]
    if bad.any():
        raise ScheduleError(f"{int(bad.sum())} blocks end before they start", source=src, column="block_end",
                            count=int(bad.sum()), examples=ids[bad].head(5), fix="check block_start / block_end")
    same = s["cluster"].to_numpy()[1:] == s["cluster"].to_numpy()[:-1]
    nxt, end = s["block_start"].to_numpy()[1:], s["block_end"].to_numpy()[:-1]
    overlap = np.concatenate([[False], same & (nxt < end)])
    if overlap.any():
        raise ScheduleError(f"{int(overlap.sum())} blocks overlap the previous block of their cluster", source=src,
                            column="block_start", count=int(overlap.sum()), examples=ids[overlap].head(5),
                            fix="blocks of one cluster must not overlap")
    gap = np.concatenate([[False], same & (nxt > end)])
    if gap.any():
        raise ScheduleError(f"{int(gap.sum())} blocks start after a gap in their cluster's schedule", source=src,
                            column="block_start", count=int(gap.sum()), examples=ids[gap].head(5),
                            fix="make blocks contiguous (a gap breaks the carryover structure), or split the cluster")


def _coins(s: pd.DataFrame, design: SwitchbackDesign, src: str) -> np.ndarray:
    """The randomisation unit of each block: its period, or under the minimax design its coin (the schedule's
    assignment must then be constant within each coin)."""
    if design.kind != "minimax":
        return s["period"].to_numpy()
    coin = np.concatenate([minimax_coins(int(n), design.carryover_order)
                           for n in s.groupby("cluster", sort=False).size()])
    varies = s.assign(coin=coin).groupby(["cluster", "coin"])["treated"].nunique() > 1
    if varies.any():
        ex = [f"{c} coin {k}" for c, k in varies.index[varies.to_numpy()][:5]]
        raise ScheduleError(f"{int(varies.sum())} minimax randomisation units change assignment inside",
                            source=src, column="treated", count=int(varies.sum()), examples=ex,
                            fix="the schedule contradicts the minimax design; declare the design it was drawn from")
    return coin


def _check_design_probabilities(s: pd.DataFrame, design: SwitchbackDesign, src: str) -> None:
    """A balanced schedule treats round(p·T) blocks per cluster; a declared ``p_treat`` equals the design's p."""
    if design.kind == "balanced":
        want = np.round(design.p * s.groupby("cluster")["period"].transform("size").to_numpy())
        got = s.groupby("cluster")["treated"].transform("sum").to_numpy()
        off = want != got
        if off.any():
            clusters = pd.unique(s.loc[off, "cluster"])
            raise ScheduleError(f"{clusters.size} clusters do not have round(p·T) treated blocks", source=src,
                                column="treated", count=int(clusters.size), examples=clusters[:5],
                                fix="the schedule contradicts the balanced design; declare bernoulli if blocks were "
                                    "drawn independently")
    if "p_treat" in s.columns:
        off = ~np.isclose(pd.to_numeric(s["p_treat"], errors="coerce").to_numpy(dtype=float), design.p)
        if off.any():
            raise ScheduleError(f"{int(off.sum())} blocks declare p_treat different from the design's p={design.p}",
                                source=src, column="p_treat", count=int(off.sum()), examples=_block_ids(s)[off].head(5),
                                fix="declare the design the schedule was drawn from")


def window_probabilities(schedule: pd.DataFrame, design: SwitchbackDesign, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact probabilities that blocks ``t-m..t`` of a cluster are all treated / all control (NaN for t < m)."""
    period = schedule["period"].to_numpy()
    ok = period >= m
    if design.kind == "balanced":
        size = schedule.groupby("cluster", sort=False)["period"].transform("size").to_numpy()
        n1 = np.round(design.p * size)
        j = np.arange(m + 1)[:, None]
        # hypergeometric: m+1 given blocks all among the n1 treated (or the T - n1 control) blocks
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.prod(np.clip(n1 - j, 0, None) / (size - j), axis=0)
            b = np.prod(np.clip(size - n1 - j, 0, None) / (size - j), axis=0)
    else:
        # coins increase by at most one per block within a cluster: k distinct coins in the window t-m..t
        coin = schedule["coin"].to_numpy()
        k = coin - np.roll(coin, m) + 1
        a, b = design.p**k, (1 - design.p) ** k
    return np.where(ok, a, np.nan), np.where(ok, b, np.nan)


def draw_assignments(schedule: pd.DataFrame, design: SwitchbackDesign, n_draws: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``(n_draws, n_blocks)`` boolean assignments redrawn from the declared design (vectorised)."""
    n = len(schedule)
    out = np.empty((n_draws, n), dtype=bool)
    for _, idx in schedule.groupby("cluster", sort=False).indices.items():
        T = idx.size
        if design.kind == "balanced":
            n1 = round(design.p * T)
            ranks = np.argsort(rng.random((n_draws, T)), axis=1)
            out[:, idx] = ranks < n1
        else:
            coins = schedule["coin"].to_numpy()[idx]
            draws = rng.random((n_draws, coins.max() + 1)) < design.p
            out[:, idx] = draws[:, coins]
    return out

"""Sums of event weights in a time window after each anchor, within the same key (user, candidate), vectorised.

Events and anchors carry an integer key (e.g. a user code; -1: unknown, never matched) and a time (int64
nanoseconds). For every anchor at time ``t`` with window ``w`` the sum runs over events of the same key with
``t < time <= t + w`` (``include_start=False``) or ``t <= time <= t + w`` (``include_start=True``). All times are
mapped to one dense rank, so ``key * (ranks + 1) + rank`` orders (key, time) lexicographically in one int64
and a single ``searchsorted`` finds every window; no loop over users.

>>> import numpy as np
>>> s = window_sums(np.array([0, 0, 1]), np.array([0, 10, 0]), np.array([0, 0, 0, 1]),
...                 np.array([0, 5, 10, 3]), np.ones(4), np.array([10, 0, 2]), include_start=False)
>>> s.counts.tolist(), s.sums.tolist()
([2, 0, 0], [2.0, 0.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowSums:
    """Per anchor: how many events fell in its window and the sum of their weights; ``lo`` / ``hi`` delimit
    those events in ``order`` (the events sorted by key and time)."""

    counts: np.ndarray
    sums: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    order: np.ndarray

    def events_in(self, anchors: np.ndarray) -> np.ndarray:
        """Which events fall in the window of at least one of the selected ``anchors`` (a boolean mask)."""
        n = len(self.order)
        diff = np.zeros(n + 1, dtype=np.int64)
        np.add.at(diff, self.lo[anchors], 1)
        np.add.at(diff, self.hi[anchors], -1)
        inside_sorted = np.cumsum(diff[:n]) > 0
        out = np.zeros(n, dtype=bool)
        out[self.order] = inside_sorted
        return out


def window_sums(anchor_key: np.ndarray, anchor_time: np.ndarray, event_key: np.ndarray, event_time: np.ndarray,
                weight: np.ndarray, window: np.ndarray | int, *, include_start: bool) -> WindowSums:
    """Event counts and weight sums in each anchor's window (see the module docstring); keys are integers
    (-1 never matches), times and ``window`` int64 nanoseconds (``window`` per anchor or one value)."""
    a_key = np.asarray(anchor_key, dtype=np.int64)
    a_t = np.asarray(anchor_time, dtype=np.int64)
    e_key = np.asarray(event_key, dtype=np.int64)
    e_t = np.asarray(event_time, dtype=np.int64)
    end = a_t + np.broadcast_to(np.asarray(window, dtype=np.int64), a_t.shape)
    ranks, inverse = np.unique(np.concatenate([e_t, a_t, end]), return_inverse=True)
    base = np.int64(len(ranks) + 1)
    ne, na = len(e_t), len(a_t)
    e_sorted_key = np.where(e_key >= 0, e_key * base + inverse[:ne], -1)
    order = np.argsort(e_sorted_key, kind="stable")
    keys = e_sorted_key[order]
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(weight, dtype=float)[order])])
    start_key = a_key * base + inverse[ne:ne + na]
    end_key = a_key * base + inverse[ne + na:]
    hi = np.searchsorted(keys, end_key, side="right")
    lo = np.searchsorted(keys, start_key, side="left" if include_start else "right")
    unknown = a_key < 0
    lo = np.where(unknown, 0, lo)
    hi = np.where(unknown, 0, np.maximum(hi, lo))
    return WindowSums(hi - lo, cum[hi] - cum[lo], lo, hi, order)

"""Sampling for the decision-log simulator: candidate sets, slates from the ε-mixture of Plackett–Luce and a
uniform slate (with their exact joint probability), and clicks under the position-based or cascade model.

>>> rng = np.random.default_rng(0)
>>> offsets = np.array([0, 3, 5])
>>> s = show_slates(rng, np.zeros(5), offsets, np.ones(5, bool), 2, 1.0, 0.0, np.full((5, 2), 0.5))
>>> s.position.tolist().count(1.0), s.prob.round(4).tolist()   # one slot 1 per request; P = 1/3·1/2, 1/2·1
(2, [0.1667, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.plackett_luce import padded_scores


@dataclass(frozen=True)
class Slates:
    """Sampled slates: ``rows`` (requests × slots, row index or -1), the joint probability ``prob`` of each slate,
    and per candidate row ``position`` (NaN when not shown), ``shown``, ``pos_idx`` (0-based slot, 0 when not
    shown) and the logged ``propensity`` (NaN when not shown)."""

    rows: np.ndarray
    prob: np.ndarray
    position: np.ndarray
    shown: np.ndarray
    pos_idx: np.ndarray
    propensity: np.ndarray


def show_slates(rng: np.random.Generator, score: np.ndarray, offsets: np.ndarray, eligible: np.ndarray, k: int,
                temperature: float, epsilon: float, probs: np.ndarray) -> Slates:
    """Sample every request's slate and place its candidates; ``probs`` are the exact marginal probabilities
    (candidate rows × positions) that become the logged propensities."""
    n_rows = score.size
    slate_rows, slate_prob = sample_slates(rng, score, offsets, eligible, k, temperature, epsilon)
    position = np.full(n_rows, np.nan)
    shown = np.zeros(n_rows, dtype=bool)
    filled = slate_rows >= 0
    rows_flat = slate_rows[filled]
    position[rows_flat] = (np.nonzero(filled)[1] + 1).astype(float)
    shown[rows_flat] = True
    pos_idx = np.where(shown, np.nan_to_num(position, nan=1).astype(np.int64) - 1, 0)
    propensity = np.where(shown, probs[np.arange(n_rows), pos_idx], np.nan)
    return Slates(slate_rows, slate_prob, position, shown, pos_idx, propensity)


def one_logged_position(rng: np.random.Generator, slates: Slates, position_probs: np.ndarray,
                        click_model: str = "position") -> Slates:
    """Keep one shown item per request: the one at a position drawn with ``position_probs`` (independently of
    the slate), so its logged propensity stays the marginal probability of that item at that position; the
    joint slate probability no longer applies (NaN). Requests whose slate is shorter show nothing."""
    if click_model != "position" or position_probs.size != slates.rows.shape[1]:
        raise ValueError("logged_positions needs click_model='position' and one probability per position")
    k = rng.choice(position_probs.size, size=slates.rows.shape[0], p=position_probs / position_probs.sum())
    keep_rows = slates.rows[np.arange(k.size), k]
    rows = np.full_like(slates.rows, -1)
    rows[np.arange(k.size), k] = keep_rows
    shown = np.zeros_like(slates.shown)
    shown[keep_rows[keep_rows >= 0]] = True
    position = np.where(shown, slates.position, np.nan)
    return Slates(rows, np.full(k.size, np.nan), position, shown, np.where(shown, slates.pos_idx, 0),
                  np.where(shown, slates.propensity, np.nan))


def slate_outcomes(rng: np.random.Generator, theta: np.ndarray, slates: Slates, relevance: np.ndarray,
                   purchase_given_click: np.ndarray, hide_rate: np.ndarray, *, cascade: bool,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clicks, purchases and hides of every candidate row (NaN when not shown): position-based
    ``θ_k · ρ_i`` clicks, or cascade clicks with ``cascade=True``; purchases follow clicks."""
    n_rows = relevance.size
    th = theta[slates.pos_idx]
    u1, u2, u3 = rng.random(n_rows), rng.random(n_rows), rng.random(n_rows)
    click = (u1 < th * relevance).astype(float)
    if cascade:
        click = cascade_clicks(slates.rows, u1, relevance, n_rows)
    purchase = (click * (u2 < purchase_given_click)).astype(float)
    hide = (u3 < th * hide_rate).astype(float)
    for arr in (click, purchase, hide):
        arr[~slates.shown] = np.nan
    return click, purchase, hide


def cascade_clicks(slate_rows: np.ndarray, u: np.ndarray, relevance: np.ndarray, n_rows: int) -> np.ndarray:
    """Cascade clicks: scan each slate top-down, click position k with probability ρ if nothing above was."""
    click = np.zeros(n_rows)
    clicked = np.zeros(slate_rows.shape[0], dtype=bool)
    for k in range(slate_rows.shape[1]):
        rows = slate_rows[:, k]
        filled = rows >= 0
        hit = filled & ~clicked & (u[np.maximum(rows, 0)] < relevance[np.maximum(rows, 0)])
        click[rows[hit]] = 1.0
        clicked |= hit
    return click


def sample_items(rng: np.random.Generator, sizes: np.ndarray, n_items: int) -> np.ndarray:
    """Distinct item indices per request, concatenated in CSR order (chunked to bound memory)."""
    out = []
    chunk = max(1, 2_000_000 // n_items)
    n_max = int(sizes.max())
    for s in range(0, sizes.size, chunk):
        sz = sizes[s : s + chunk]
        keys = rng.random((sz.size, n_items))
        top = np.argpartition(keys, n_max - 1, axis=1)[:, :n_max] if n_max < n_items else np.argsort(keys, axis=1)
        mask = np.arange(n_max)[None, :] < sz[:, None]
        out.append(top[mask])
    return np.concatenate(out)


def sample_slates(rng, score, offsets, eligible, k, temperature, epsilon):
    """Sample each request's slate from the ε-mixture; return row indices (R, k) and the joint probability."""
    s = padded_scores(score, offsets, temperature, eligible)[0]
    n_req = s.shape[0]
    s -= np.max(s, axis=1, keepdims=True)
    w = np.exp(s)
    explore = rng.random(n_req) < epsilon
    keys = np.where(explore[:, None], np.where(np.isfinite(s), 0.0, -np.inf), s) + rng.gumbel(size=s.shape)
    order = np.argsort(-keys, axis=1)[:, :k]
    n_elig = np.isfinite(s).sum(axis=1)
    valid = np.arange(k)[None, :] < n_elig[:, None]
    # joint probability of the ordered slate under both mixture components
    chosen_w = np.take_along_axis(w, order, axis=1) * valid
    remaining = w.sum(axis=1, keepdims=True) - np.concatenate(
        [np.zeros((n_req, 1)), np.cumsum(chosen_w, axis=1)[:, :-1]], axis=1)
    pl = np.prod(np.where(valid, chosen_w / np.where(valid, remaining, 1.0), 1.0), axis=1)
    left = n_elig[:, None] - np.arange(k)[None, :]
    uni = np.prod(np.where(valid, 1.0 / np.maximum(left, 1), 1.0), axis=1)
    slate_prob = (1 - epsilon) * pl + epsilon * uni
    slate_rows = np.where(valid, offsets[:-1, None] + order, -1)
    return slate_rows, slate_prob

"""Simulated decision logs with exactly computable ground truth.

The logging ranker is an ε-mixture of a Plackett–Luce (softmax without replacement) ranking over a noisy
logging score and a uniformly random slate; it logs the exact marginal propensity of every shown candidate at
its position and the exact joint probability of the whole slate. Outcomes follow a position-based model:
``P(click | item i at position k) = θ_k · ρ_i``, ``P(purchase | i at k) = θ_k · ρ_i · τ_i`` (purchases follow
clicks) and ``P(hide | i at k) = θ_k · h_i``. The expected value of any target policy, given as marginal
position probabilities, is therefore an exact sum (:meth:`SimulatedLog.true_value`), not a Monte Carlo estimate.

With ``click_model="cascade"`` clicks follow the cascade model instead: the user scans the slate from the top
and clicks the item at position ``k`` with probability ``ρ_i`` if nothing above was clicked (at most one click
per slate; purchases follow clicks, hides stay position-based). The value of a deterministic target slate
``t`` is then ``Σ_k α_k ρ_{t_k} Π_{j<k} (1 − ρ_{t_j})``, again exact. ``log_prefix_propensity=True`` also logs,
per shown candidate, the exact probability ``prefix_propensity`` that the logged slate starts with the items
at positions ``1..k`` (:func:`~recsys_causal.plackett_luce.slate_prefix_probabilities`).

>>> sim = simulate_decision_log(n_requests=200, n_candidates=10, slate_size=3, seed=1)
>>> sim.log.n_requests, int(sim.log.shown.sum())
(200, 600)
>>> v = sim.true_value(sim.logging_position_probs, reward="click")
>>> 0.0 < v < 3.0
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.logs.model import DecisionLog
from recsys_causal.plackett_luce import (
    plackett_luce_marginals,
    slate_prefix_probabilities,
    uniform_slate_marginals,
)
from recsys_causal.simulate.assign import draw_arms
from recsys_causal.simulate.slates import (
    Slates,
    one_logged_position,
    sample_items,
    show_slates,
    slate_outcomes,
)
from recsys_causal.simulate.versions import add_version_columns, version_marginals, version_setup
from recsys_causal.simulate.world import World, make_world

START = pd.Timestamp("2026-06-01", tz="UTC")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class SimulatedLog:
    """A simulated log with the latent quantities needed for exact truth."""

    log: DecisionLog
    world: World
    slate_size: int
    position_bias: np.ndarray  # θ_k, length slate_size
    relevance: np.ndarray  # ρ_i per candidate row
    purchase_given_click: np.ndarray  # τ_i per candidate row
    hide_rate: np.ndarray  # h_i per candidate row
    logging_position_probs: np.ndarray  # (n_candidates, slate_size)
    epsilon: float
    temperature: float
    outcome_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    click_model: str = "position"

    def expected_reward(self, name: str) -> np.ndarray:
        """Exact ``E[reward | candidate placed at position k]`` as ``(n_candidates, slate_size)``."""
        base = {
            "click": self.relevance,
            "purchase": self.relevance * self.purchase_given_click,
            "hide": self.hide_rate,
        }
        if name not in base:
            raise KeyError(f"unknown simulated reward {name!r}; use click, purchase or hide")
        if self.click_model == "cascade" and name != "hide":
            raise ValueError("under the cascade click model a click depends on the items above it: use "
                             "true_value / request_values with a deterministic target")
        return base[name][:, None] * self.position_bias[None, :]

    def expected_composite_reward(self, weights: Mapping[str, float]) -> np.ndarray:
        return sum(float(w) * self.expected_reward(n) for n, w in weights.items())

    def request_values(
        self,
        target_position_probs: np.ndarray,
        reward: str | Mapping[str, float] = "click",
        position_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact expected slate value per request under a policy given by its position probabilities (under
        the cascade click model: a deterministic policy, probabilities 0 or 1)."""
        probs = np.asarray(target_position_probs, dtype=np.float64)
        if self.click_model == "cascade":
            return self._cascade_values(probs, reward, position_weights)
        k = probs.shape[1]
        exp = self.expected_reward(reward) if isinstance(reward, str) else self.expected_composite_reward(reward)
        w = np.ones(k) if position_weights is None else np.asarray(position_weights, dtype=np.float64)
        per_row = (probs * exp[:, :k] * w[None, :]).sum(axis=1)
        return self.log.per_request_sum(per_row)

    def true_value(
        self,
        target_position_probs: np.ndarray,
        reward: str | Mapping[str, float] = "click",
        position_weights: np.ndarray | None = None,
        *,
        mode: str = "ranking",
    ) -> float:
        """Exact mean expected slate value over the simulated requests (their contexts held fixed); with
        ``mode="logged_position"`` the estimand of that evaluation mode (:meth:`logged_position_value`)."""
        if mode == "logged_position":
            return self.logged_position_value(target_position_probs, reward)
        return float(self.request_values(target_position_probs, reward, position_weights).mean())

    def logged_position_value(self, target_position_probs: np.ndarray,
                              reward: str | Mapping[str, float] = "click") -> float:
        """Exact estimand of ``mode="logged_position"``: the mean over the shown impressions at positions the
        target covers (of requests with one there) of ``Σ_i π(i at k) E[reward | i at k]`` at the impression's
        logged position ``k`` (position-based click model; every reward observed)."""
        probs = np.asarray(target_position_probs, dtype=np.float64)
        k_max = probs.shape[1]
        exp = self.expected_reward(reward) if isinstance(reward, str) else self.expected_composite_reward(reward)
        per_position = np.stack([self.log.per_request_sum(probs[:, j] * exp[:, j]) for j in range(k_max)], axis=1)
        pos = np.nan_to_num(self.log.position, nan=0.0)
        rows = np.nonzero(self.log.shown & (pos >= 1) & (pos <= k_max))[0]
        return float(per_position[self.log.request_index[rows], pos[rows].astype(np.int64) - 1].mean())

    def _cascade_values(self, probs: np.ndarray, reward, position_weights) -> np.ndarray:
        if not np.all((probs == 0) | (probs == 1)):
            raise ValueError("exact values under the cascade click model need a deterministic target slate "
                             "(position probabilities 0 or 1)")
        weights = {reward: 1.0} if isinstance(reward, str) else dict(reward)
        unknown = set(weights) - {"click", "purchase", "hide"}
        if unknown:
            raise KeyError(f"unknown simulated reward {sorted(unknown)}; use click, purchase or hide")
        k_max = probs.shape[1]
        alpha = np.ones(k_max) if position_weights is None else np.asarray(position_weights, dtype=np.float64)
        n = self.log.n_requests
        survive, total = np.ones(n), np.zeros(n)
        for k in range(k_max):
            rows = np.nonzero(probs[:, k] == 1)[0]
            req = self.log.request_index[rows]
            rho, tau, hide = (np.zeros(n) for _ in range(3))
            rho[req], tau[req], hide[req] = self.relevance[rows], self.purchase_given_click[rows], self.hide_rate[rows]
            click = survive * rho
            value = (weights.get("click", 0.0) * click + weights.get("purchase", 0.0) * click * tau
                     + weights.get("hide", 0.0) * self.position_bias[k] * hide)
            total += alpha[k] * value
            survive = survive * (1 - rho)
        return total


def simulate_decision_log(
    n_requests: int = 5000, n_candidates: int | tuple[int, int] = 20, slate_size: int = 3, *, epsilon: float = 0.1,
    temperature: float = 1.0, position_bias: float = 0.8, logging_noise: float = 1.0, ineligible_share: float = 0.05,
    days: int = 14, world: World | None = None, experiment: Mapping[str, float] | None = None,
    treatment_score: str = "pred_new", with_events: bool = False, click_model: str = "position",
    log_prefix_propensity: bool = False, logged_positions: tuple[float, ...] | None = None,
    policy_versions: tuple[Mapping[str, float], ...] | None = None, seed: int = 0,
) -> SimulatedLog:
    """Simulate ``n_requests`` ranking decisions.

    ``n_candidates`` is a fixed count or an inclusive ``(low, high)`` range. ``position_bias`` is the exponent
    η in ``θ_k = k^-η``. With ``experiment`` (variant → share, e.g. ``{"control": 0.5, "treatment": 0.5}``) users
    are randomised; non-control variants log with the ``treatment_score`` ranker. The shadow scores
    ``pred_new`` (a better ranker) and ``pred_bold`` (one that favours items the logging ranker ranks low) are
    logged for every candidate. ``with_events`` also returns an outcome-events table with event times.
    ``click_model``: ``"position"`` (position-based, default) or ``"cascade"`` (see the module docstring);
    ``log_prefix_propensity`` adds the exact prefix propensity of every shown candidate.
    ``logged_positions`` (probabilities of positions ``1..slate_size``): each request shows ONE item, the one
    at a position drawn with them (position-based clicks; :func:`~recsys_causal.simulate.slates.one_logged_position`).
    ``policy_versions``: several logging versions (:mod:`recsys_causal.simulate.versions`).
    """
    if click_model not in ("position", "cascade"):
        raise ValueError(f"click_model must be 'position' or 'cascade', not {click_model!r}")
    rng = np.random.default_rng(seed)
    world = world if world is not None else make_world(seed=seed + 10_000)
    sizes = _candidate_counts(rng, n_requests, n_candidates, world.n_items)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    req = np.repeat(np.arange(n_requests), sizes)
    user = rng.integers(0, world.n_users, size=n_requests)
    seconds = np.sort(rng.uniform(0, days * 86400, size=n_requests))
    decision_time = (START + pd.to_timedelta(seconds, unit="s")).floor("us")
    surface = np.where(rng.random(n_requests) < 0.7, "home", "search")
    c = _draw_candidates(rng, world, sample_items(rng, sizes, world.n_items), user[req], ineligible_share,
                         logging_noise)
    variant, ranker_score = _assign_variants(rng, world, user, req, c, experiment, treatment_score)

    theta = np.arange(1, slate_size + 1, dtype=float) ** -position_bias
    ver = version_setup(policy_versions, n_requests) if policy_versions else None
    probs, slates, each = _rank_and_show(rng, ranker_score, offsets, req, c.eligible, slate_size, temperature,
                                         epsilon, ver)
    if logged_positions is not None:
        slates = one_logged_position(rng, slates, np.asarray(logged_positions, dtype=float), click_model)
    outcomes = slate_outcomes(rng, theta, slates, c.relevance, c.purchase_given_click, c.hide_rate,
                              cascade=click_model == "cascade")

    requests = _request_frame(decision_time, world.user_ids[user], surface, epsilon, slates.prob, variant)
    candidates = _candidate_frame(world, c, slates, outcomes)
    if log_prefix_propensity:
        prefix = slate_prefix_probabilities(ranker_score, offsets, slates.position, temperature, epsilon=epsilon,
                                            eligible=c.eligible)
        candidates.insert(candidates.columns.get_loc("propensity") + 1, "prefix_propensity", prefix)
    if ver is not None:
        add_version_columns(requests, candidates, ver, each, slates.shown, slates.pos_idx)
    log = DecisionLog(requests, candidates, offsets, ("click", "purchase", "hide"), source="simulated")
    events = _events(rng, requests, candidates, req) if with_events else pd.DataFrame()
    return SimulatedLog(
        log=log, world=world, slate_size=slate_size, position_bias=theta, relevance=c.relevance,
        purchase_given_click=c.purchase_given_click, hide_rate=c.hide_rate, logging_position_probs=probs,
        epsilon=epsilon, temperature=temperature, outcome_events=events, click_model=click_model,
    )


def _rank_and_show(rng, score, offsets, req, eligible, slate_size, temperature, epsilon, ver):
    """Exact marginal position probabilities of the logging ranker, the sampled slates and (several versions)
    every version's marginals; with versions each request ranks with its version's temperature and ε."""
    if ver is None:
        pl = plackett_luce_marginals(score, offsets, slate_size, temperature, eligible=eligible)
        uni = uniform_slate_marginals(offsets, slate_size, eligible=eligible)
        probs = (1 - epsilon) * pl + epsilon * uni
        return probs, show_slates(rng, score, offsets, eligible, slate_size, temperature, epsilon, probs), None
    each = version_marginals(ver, score, offsets, slate_size, eligible)
    probs = np.choose(ver.of_request[req][:, None], each)
    slates = show_slates(rng, score / ver.temperature[req], offsets, eligible, slate_size, 1.0, ver.epsilon, probs)
    return probs, slates, each


@dataclass(frozen=True)
class _Candidates:
    """Per candidate row: the item, its latent outcome rates, eligibility and the logged / shadow scores."""

    items: np.ndarray
    category: np.ndarray
    relevance: np.ndarray
    purchase_given_click: np.ndarray
    hide_rate: np.ndarray
    eligible: np.ndarray
    log_score: np.ndarray
    pred_new: np.ndarray
    pred_bold: np.ndarray


def _candidate_counts(rng: np.random.Generator, n_requests: int, n_candidates: int | tuple[int, int],
                      n_items: int) -> np.ndarray:
    if isinstance(n_candidates, int):
        sizes = np.full(n_requests, n_candidates, dtype=np.int64)
    else:
        sizes = rng.integers(n_candidates[0], n_candidates[1] + 1, size=n_requests)
    if sizes.max() > n_items:
        raise ValueError("n_candidates cannot exceed the number of items in the world")
    return sizes


def _draw_candidates(rng: np.random.Generator, world: World, items: np.ndarray, user: np.ndarray,
                     ineligible_share: float, logging_noise: float) -> _Candidates:
    """Latent rates of the candidates ``items`` shown to ``user`` (both per candidate row) and their scores."""
    n_rows = items.size
    cat = world.item_category[items]
    affinity = world.user_affinity[user, cat]
    logit_rel = -2.0 + affinity + world.item_quality[items]
    eligible = rng.random(n_rows) >= ineligible_share
    log_score = logit_rel + rng.normal(0, logging_noise, n_rows)
    pred_new = logit_rel + rng.normal(0, 0.3, n_rows)
    pred_bold = -log_score + rng.normal(0, 0.3, n_rows)
    return _Candidates(items, cat, _sigmoid(logit_rel), _sigmoid(-1.5 + 0.5 * affinity),
                       0.08 * _sigmoid(world.item_annoyance[items] - affinity), eligible, log_score, pred_new,
                       pred_bold)


def _assign_variants(rng: np.random.Generator, world: World, user: np.ndarray, req: np.ndarray, c: _Candidates,
                     experiment: Mapping[str, float] | None, treatment_score: str,
                     ) -> tuple[np.ndarray | None, np.ndarray]:
    """Each user's variant (``None`` without an experiment) and the score each candidate row is ranked by:
    the logging score, or the ``treatment_score`` shadow score in non-control variants."""
    if not experiment:
        return None, np.asarray(c.log_score)
    names, user_arm = draw_arms(rng, experiment, world.n_users)
    variant = np.array(names)[user_arm[user]]
    treated_rows = (variant != names[0])[req]
    alt = {"pred_new": c.pred_new, "pred_bold": c.pred_bold}[treatment_score]
    return variant, np.where(treated_rows, alt, c.log_score)


def _request_frame(decision_time: pd.DatetimeIndex, user_id: np.ndarray, surface: np.ndarray, epsilon: float,
                   slate_prob: np.ndarray, variant: np.ndarray | None) -> pd.DataFrame:
    requests = pd.DataFrame({
        "request_id": np.char.add("r", np.char.zfill(np.arange(len(user_id)).astype(str), 7)),
        "decision_time": decision_time, "user_id": user_id, "surface": surface, "model_version": "ranker-2026.05",
        "ranking_policy_version": "pl-softmax-v3", "exploration_policy_version": f"eps-{epsilon:g}",
        "slate_propensity": slate_prob,
    })
    if variant is not None:
        requests["experiment_id"] = "ranker_v2_test"
        requests["variant"] = variant
    return requests


def _candidate_frame(world: World, c: _Candidates, slates: Slates,
                     outcomes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    click, purchase, hide = outcomes
    return pd.DataFrame({
        "item_id": world.item_ids[c.items], "shown": slates.shown, "position": slates.position, "score": c.log_score,
        "propensity": slates.propensity, "eligible": c.eligible,
        "filter_reason": np.where(c.eligible, None, "out_of_stock"), "feature_category": c.category.astype(float),
        "feature_quality": world.item_quality[c.items], "pred_new": c.pred_new, "pred_bold": c.pred_bold,
        "click": click, "purchase": purchase, "hide": hide,
    })


def _events(rng, requests, candidates, req) -> pd.DataFrame:
    """Outcome events with timestamps: clicks within minutes, purchases within days of the click."""
    t0 = pd.DatetimeIndex(requests["decision_time"])[req]
    rid = requests["request_id"].to_numpy()[req]
    frames = []
    click = candidates["click"].to_numpy() == 1
    click_time = t0 + pd.to_timedelta(rng.exponential(120, size=req.size), unit="s")
    frames.append(pd.DataFrame({"request_id": rid[click], "item_id": candidates["item_id"].to_numpy()[click],
                                "event": "click", "event_time": click_time[click], "value": 1.0}))
    buy = candidates["purchase"].to_numpy() == 1
    buy_time = click_time + pd.to_timedelta(rng.exponential(2 * 86400, size=req.size), unit="s")
    frames.append(pd.DataFrame({"request_id": rid[buy], "item_id": candidates["item_id"].to_numpy()[buy],
                                "event": "purchase", "event_time": buy_time[buy],
                                "value": np.round(rng.lognormal(3, 0.5, size=int(buy.sum())), 2)}))
    hide = candidates["hide"].to_numpy() == 1
    hide_time = t0 + pd.to_timedelta(rng.exponential(60, size=req.size), unit="s")
    frames.append(pd.DataFrame({"request_id": rid[hide], "item_id": candidates["item_id"].to_numpy()[hide],
                                "event": "hide", "event_time": hide_time[hide], "value": 1.0}))
    ev = pd.concat(frames, ignore_index=True)
    ev["event_time"] = pd.to_datetime(ev["event_time"], utc=True).dt.floor("us")
    return ev.sort_values(["event_time", "request_id"], kind="stable").reset_index(drop=True)

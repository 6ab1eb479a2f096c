"""Paired lifts of candidate policies over the baseline, on the estimation path of
:func:`~recsys_causal.ope.evaluate_policies`: policy → components → moments →
:func:`~recsys_causal.ope.estimates.estimates_from_moments`.

The screen evaluates the item at position 1 (``mode="top_slot"``), the slate of the target's ``K`` positions with
the slate estimators (``mode="ranking"``), or every impression at its logged position (``"logged_position"``,
:mod:`recsys_causal.gate.modes`). The baseline is the logging policy (its on-policy mean) or a
target policy evaluated by the same estimator on the same requests. Reward-model predictions are computed
once per reward, only when an estimator needs them.

>>> from recsys_causal.simulate import simulate_decision_log
>>> from recsys_causal.ope import policies
>>> sim = simulate_decision_log(n_requests=2000, n_candidates=5, slate_size=1, seed=3)
>>> lifts = Lifts(sim.log, alpha=0.05)
>>> e, _ = lifts.lift(policies.softmax(sim.log, "pred_new", 1, name="new"), "click", "IPS", relative=False)
>>> e.name, e.details["quantity"], e.alpha
('new: lift in click (IPS)', 'lift', 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.estimate import Estimate
from recsys_causal.gate.modes import (
    _logged_position_lifts,
    logged_position_weights,
    position_support,
    support_rows,
    with_positions,
)
from recsys_causal.gate.versions import DEFAULT_VERSION_COLUMN, request_versions_or_none, version_support
from recsys_causal.kernel.moments import Moments
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.components import (
    SlateComponents,
    SlotComponents,
    components,
    logged_actions,
    slate_components,
)
from recsys_causal.ope.estimates import block_columns, estimates_from_moments, estimator_columns
from recsys_causal.ope.estimators import Estimator, resolve_estimators
from recsys_causal.ope.evaluate import estimator_warnings, policy_support, resolve_reward, reward_label
from recsys_causal.ope.multi_logger import multi_logger_options, multi_logger_setup
from recsys_causal.ope.policies import TargetPolicy
from recsys_causal.ope.reward_model import reward_predictions
from recsys_causal.ope.support import SupportReport, SupportThresholds


@dataclass
class Lifts:
    """Lift estimates on one log: ``alpha`` is the one-sided level of the screen, so every interval is two-sided
    at ``2 · alpha`` (its bounds are the one-sided bounds); ``reward_model`` as in ``evaluate_policies``;
    ``clusters`` (per request) make the standard errors cluster-robust."""

    log: DecisionLog
    alpha: float
    baseline: TargetPolicy | None = None
    reward_model: Any = None
    seed: int = 0
    clusters: np.ndarray | None = None
    cluster_col: str | None = None  # the request column of the clusters (logged_position mode reads it)
    version_col: str | None = DEFAULT_VERSION_COLUMN  # the logging-policy version per request
    multi_logger: str | None = None  # "stratified" or "balance" when the log mixes versions
    _rewards: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _predictions: dict[Any, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _last_slate: tuple | None = field(default=None, init=False, repr=False)

    def reward(self, spec: str | Mapping[str, float], with_model: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-candidate rewards and, when ``with_model``, the reward model's predictions (cached per reward)."""
        key = reward_label(spec)
        if key not in self._rewards:
            self._rewards[key] = resolve_reward(self.log, spec)[1]
        y = self._rewards[key]
        if with_model and key not in self._predictions:
            self._predictions[key] = reward_predictions(self.log, self.reward_model, y, key, seed=self.seed)
        return y, self._predictions.get(key) if with_model else None

    def lift(self, policy: TargetPolicy, spec: str | Mapping[str, float], estimator: Estimator | str, *,
             relative: bool, mask: np.ndarray | None = None, where: str = "", mode: str = "top_slot"
             ) -> tuple[Estimate, SlotComponents | SlateComponents]:
        """The (relative) lift of ``policy`` over the baseline in reward ``spec`` by ``estimator``, on the
        requests where ``mask`` (all by default; ``where`` names them in errors), and the policy's components
        (``mode`` top_slot or ranking; see :meth:`screened` for every mode)."""
        slate = mode == "ranking"
        est = resolve_estimators([estimator], slate=slate)[0]
        y, q = self.reward(spec, est.needs_reward_model and not slate)
        if slate and est.needs_reward_model:  # a slate estimator with a reward model (cascade-DR)
            q = self.slate_predictions(spec, y)
        log, probs, base = self.log, policy.table, None if self.baseline is None else self.baseline.table
        clusters = self.clusters
        if mask is not None:
            rows = mask[log.request_index]
            probs, base = probs.take(log.offsets, mask), None if base is None else base.take(log.offsets, mask)
            log, y, q = log.select_requests(mask), y[rows], None if q is None else q[rows]
            clusters = None if clusters is None else clusters[mask]
        label = reward_label(spec)
        last = self._last_slate  # the primary lift and its cross-checks share one policy's slate components
        if slate and mask is None and last is not None and last[0] is probs and last[1] == label:
            c = last[2]
        else:
            c = _components(log, probs, y, q, label, slate, policy.deterministic)
            self._last_slate = (probs, label, c) if slate and mask is None else None
        c = c if q is None or not slate else _with_model(c, log, probs, q)
        one = est
        c, est = self._multi_logger(log, c, est, mode, y, label)
        cols = estimator_columns([est], c, c.y @ c.alpha if slate else c.y)
        ref = None
        if base is not None:
            if slate and base.slate_size != probs.slate_size:
                raise EstimationError(f"the baseline {self.baseline.name!r} ranks {base.slate_size} positions, "
                                      f"{policy.name!r} {probs.slate_size}: a ranking lift compares equal slates",
                                      column="baseline", fix="give the baseline the candidate's slate_size")
            base_det = self.baseline.deterministic
            cb = _components(log, base, y, q, label, slate, base_det)
            cb = self._multi_logger(log, cb, one, mode, y, label)[0]
            cols.update(block_columns(1, est, cb if q is None or not slate else _with_model(cb, log, base, q)))
            ref = (self.baseline.name, 1)
        mom = Moments.from_columns(cols, clusters=None if clusters is None else clusters[c.requests])
        # exclusions are counted by the screen's data accounting, not repeated on every estimate
        warn = estimator_warnings([est], c, slate=True)[0] if slate else ()
        rows_out = estimates_from_moments(mom, [est, est] if ref else [est], policy=policy.name, reward=label,
                                          alpha=2 * self.alpha, baseline=ref, warnings=warn)
        kind = "relative lift" if relative else "lift"
        found = [e for e in rows_out if e.details["quantity"] == kind]
        if not found:
            raise EstimationError(f"the {ref[0] if ref else 'logging'} policy's value of {label!r} is 0{where}: "
                                  "a relative lift is undefined", column=label,
                                  fix="use an absolute lift (relative: false) or a reward with events here")
        return _named(found[0], policy.name, kind, label, est.name, mode), c

    def slate_predictions(self, spec, y: np.ndarray) -> np.ndarray:
        """Reward-model predictions per candidate (and position) for a slate estimator that reads them, from
        ``recsys_causal.ope.cascade_dr.slate_reward_predictions`` (cached per reward)."""
        key = ("slate", reward_label(spec))
        if key not in self._predictions:
            self._predictions[key] = _cascade_dr().slate_reward_predictions(self.log, self.reward_model, y, key[1],
                                                                            seed=self.seed)
        return self._predictions[key]

    def _multi_logger(self, log: DecisionLog, c, est: Estimator, mode: str, y: np.ndarray, label: str):
        """``c`` and ``est`` of the multiple-logger estimate (``multi_logger``: stratified by version, or the
        balance heuristic) when the evaluated requests mix versions; else unchanged."""
        if self.multi_logger is None:
            return c, est
        multi_logger_options(self.multi_logger, mode, self.version_col or DEFAULT_VERSION_COLUMN, None)
        if request_versions_or_none(log, self.version_col, c.requests) is None:
            return c, est
        c, used, _ = multi_logger_setup(log, c, logged_actions(log, y, label)[0], [est], method=self.multi_logger,
                                        version_col=self.version_col)
        return c, used[0]

    def by_version(self, support: SupportReport, w: np.ndarray, requests: np.ndarray,
                   thresholds: SupportThresholds | None, per_version: bool) -> tuple[SupportReport, list[dict]]:
        """Support per logging-policy version (rows when the evaluated requests mix versions); with
        ``per_version`` a weakly supported version makes ``support`` at most *weak*."""
        versions = request_versions_or_none(self.log, self.version_col, requests)
        if versions is None:
            return support, []
        rows, reasons = version_support(w, versions, thresholds)
        return (with_positions(support, reasons) if per_version else support), rows

    def screened(self, policy: TargetPolicy, spec: str | Mapping[str, float], estimator: Estimator | str, *,
                 relative: bool, mode: str = "top_slot", thresholds: SupportThresholds | None = None,
                 per_version: bool = False) -> tuple[Estimate, SupportReport, int, list[dict], list[dict]]:
        """The primary lift of ``policy`` in ``mode``, its support report (at most *weak* when a position, or
        with ``per_version`` a logging-policy version, is weakly supported), the number of requests evaluated
        (None when not known here), the support per position (empty in top_slot mode) and per version."""
        e, support, n_used, rows, (w, req) = self._screened(policy, spec, estimator, relative=relative, mode=mode,
                                                             thresholds=thresholds)
        support, vrows = self.by_version(support, w, req, thresholds, per_version)
        return e, support, n_used, rows, vrows

    def _screened(self, policy, spec, estimator, *, relative, mode, thresholds):
        if mode == "logged_position":
            e, support = _logged_position_lifts(self, policy, spec, estimator, relative=relative,
                                                thresholds=thresholds)
            w, _, req = logged_position_weights(self.log, policy, self.reward(spec, False)[0])
            # the library's support per position (its reasons are already on the report)
            rows = [] if support.by_position is None else support_rows(support.by_position, "position")
            excluded = e.details.get("excluded")
            n_used = None if excluded is None else self.log.n_requests - int(sum(excluded.values()))
            return _named(e, policy.name, e.details["quantity"], reward_label(spec), e.details["estimator"],
                          mode), support, n_used, rows, (w, req)
        e, c = self.lift(policy, spec, estimator, relative=relative, mode=mode)
        if mode == "top_slot":
            return e, policy_support(self.log, policy, c.w, c.p_log, c.requests, thresholds=thresholds), \
                c.requests.size, [], (c.w, c.requests)
        support = policy_support(self.log, policy, c.w.mean(axis=1), c.p_shown, c.requests, thresholds=thresholds,
                                 slate=True, contributions=(c.w * c.y) @ c.alpha, slate_pi=c.slate_pi)
        shown = np.ones(c.w.shape, dtype=bool) if c.shown is None else c.shown
        rows, reasons = position_support(c.w[shown], np.nonzero(shown)[1] + 1, thresholds)
        return e, with_positions(support, reasons), c.requests.size, rows, (c.w.mean(axis=1), c.requests)


def _components(log, probs, y, q, label, slate, deterministic):
    if slate:
        return slate_components(log, probs, y, deterministic=deterministic, reward_name=label)
    return components(log, probs, y, q, label)


def _cascade_dr():
    """The cascade-DR helpers of :mod:`recsys_causal.ope`, or a :class:`ConfigError` when this installation
    has none."""
    import importlib

    try:
        return importlib.import_module("recsys_causal.ope.cascade_dr")
    except ImportError:
        raise ConfigError("this slate estimator reads a reward model, which needs recsys_causal.ope.cascade_dr",
                          column="estimator", fix="use PI-IPS, SN-PI-IPS, RIPS (cascade) or slate IPS") from None


def _with_model(c, log, probs, q):
    return _cascade_dr().with_reward_model(c, log, probs, q)


def _named(e: Estimate, policy: str, kind: str, label: str, est: str, mode: str) -> Estimate:
    """The gate's name, method and details of a lift row (``excluded`` kept when the estimate has it)."""
    details = {"estimator": est, "reward": label, "quantity": kind, "policy": policy, "mode": mode}
    if "excluded" in e.details:
        details["excluded"] = e.details["excluded"]
    return replace(e, name=f"{policy}: {kind} in {label} ({est})", method=f"{est}, paired", details=details)

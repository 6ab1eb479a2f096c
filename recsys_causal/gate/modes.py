"""Evaluation modes of the screen, their default estimators and the support diagnostics per position.

- ``top_slot`` (default): the item shown at position 1 of each request, single-slot estimators (default DR,
  cross-checks IPS and SNIPS). Requests showing nothing at position 1 are excluded and counted.
- ``logged_position``: every shown impression at the position where it was logged, weighted by the target's
  probability of that item at that position over the logged propensity; evaluated by
  ``evaluate_policies(mode="logged_position")`` (single-slot estimators, default DR, IPS and SNIPS).
- ``ranking``: the whole slate of ``K`` positions with the slate estimators (:mod:`recsys_causal.ope.slate`):
  default position-based IPS (``PI-IPS``, unbiased when the reward at a position depends only on the item
  there), cross-checked by its self-normalised form (``SN-PI-IPS``) and, for a deterministic target on a log
  with ``slate_propensity`` whose slates it fills exactly, standard slate IPS (``slate IPS``, unbiased for any
  reward structure). Guardrails and protected segments are estimated in the candidate's mode, by DR
  (single-slot modes) or PI-IPS (ranking).

>>> [e.name for e in mode_estimators("ranking", None, None)[0:1]], check_mode("ranking")
(['PI-IPS'], 'ranking')
>>> rows, reasons = position_support(np.array([1.0, 1.0, 50.0, 1.0]), np.array([1, 1, 2, 2]))
>>> [(r["position"], round(r["max_weight_share"], 3)) for r in rows], reasons[0][:11]
([(1, 0.5), (2, 0.98)], 'position 1:')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.ope.estimators import Estimator, available_estimators, resolve_estimators
from recsys_causal.ope.support import SupportReport, SupportThresholds, group_support

MODES = ("top_slot", "logged_position", "ranking")
DEFAULT_ESTIMATORS = {"top_slot": ("DR", ("IPS", "SNIPS")), "logged_position": ("DR", ("IPS", "SNIPS")),
                      "ranking": ("PI-IPS", ("SN-PI-IPS", "slate IPS"))}
SEGMENT_ESTIMATORS = {"top_slot": "DR", "logged_position": "DR", "ranking": "PI-IPS"}
OPTIONAL_CHECKS = ("slate IPS",)  # default cross-checks left out where the log or target cannot give them


def check_mode(mode: str, key: str = "mode") -> str:
    """``mode`` when it is one of :data:`MODES`, else a :class:`ConfigError` naming ``key`` and the nearest."""
    from recsys_causal.suggest import choices_text, did_you_mean

    if mode not in MODES:
        raise ConfigError(f"{key}: unknown evaluation mode {mode!r}: not one of {choices_text(MODES)}"
                          f"{did_you_mean(str(mode), MODES)}", column=key,
                          fix="use top_slot (position 1), logged_position or ranking")
    return mode


def mode_estimators(mode: str, estimator, cross_check, *, key: str = "estimator"
                    ) -> tuple[Estimator, list[Estimator]]:
    """The primary estimator and the cross-checks (other than it) of ``mode``; ``None`` takes the mode's
    defaults (:data:`DEFAULT_ESTIMATORS`). An estimator of the wrong kind is a :class:`ConfigError` naming
    ``key`` and the valid names."""
    slate = mode == "ranking"
    default, checks = DEFAULT_ESTIMATORS[check_mode(mode)]
    out = []
    for k, specs in ((key, [default if estimator is None else estimator]),
                     (key.replace("estimator", "cross_check"), checks if cross_check is None else cross_check)):
        for spec in specs:
            try:
                out += resolve_estimators([spec], slate=slate)
            except ConfigError as exc:
                valid = available_estimators(slate=slate)
                raise ConfigError(f"{k}: {exc.message.rstrip('.')} (mode {mode!r} takes {', '.join(valid)})",
                                  column=k, fix=f"name one of {valid}, or change the mode") from None
    est = out[0]
    return est, [e for e in out[1:] if e != est]


def support_rows(table: pd.DataFrame, column: str) -> list[dict]:
    """JSON rows of a support-per-group table (:func:`~recsys_causal.ope.support.group_support`): the largest
    weight's share is reported as 0 for a group the target puts no weight on."""
    return [{column: row[column], "n": int(row["n"]), "ess": float(row["ess"]), "ess_ratio": float(row["ess_ratio"]),
             "max_weight": float(row["max_weight"]),
             "max_weight_share": float(row["max_weight_share"]) if row["mean_weight"] > 0 else 0.0}
            for row in table.to_dict("records")]


def position_support(w: np.ndarray, position: np.ndarray, thresholds: SupportThresholds | None = None
                     ) -> tuple[list[dict], list[str]]:
    """ESS, ESS ratio and largest weight share per logged position from per-impression importance weights
    ``w`` at ``position``, and the reasons a position is weakly supported (thresholds of the support report)."""
    th = thresholds or SupportThresholds()
    rows = support_rows(group_support(w, np.asarray(position, dtype=np.int64), "position"), "position")
    reasons = []
    for r in rows:
        k, n, ess, share = r["position"], r["n"], r["ess"], r["max_weight_share"]
        if share > th.max_weight_share:
            reasons.append(f"position {k}: one impression carries {share:.1%} of the weight (at most "
                           f"{th.max_weight_share:.1%})")
        if ess / n < th.min_ess_ratio:
            reasons.append(f"position {k}: ESS {ess:.0f} of {n} ({ess / n:.1%}) is below "
                           f"{th.min_ess_ratio:.1%}")
    return rows, reasons


def with_positions(support: SupportReport, reasons: Sequence[str]) -> SupportReport:
    """``support`` made at most *weak* with the per-position ``reasons`` added (none: unchanged)."""
    if not reasons:
        return support
    verdict = "weak" if support.verdict == "supported" else support.verdict
    return replace(support, verdict=verdict, reasons=[*support.reasons, *reasons])


def logged_position_weights(log, policy, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per impression shown at positions ``1..K`` of a request whose rewards there are all observed: the weight
    ``π(a, k) / p`` at its logged position ``k``, ``k`` and its request, for the support diagnostics."""
    K = policy.slate_size
    inside = log.shown & (np.nan_to_num(log.position) >= 1) & (np.nan_to_num(log.position) <= K)
    missing = np.bincount(log.request_index[inside & ~np.isfinite(reward)], minlength=log.n_requests) > 0
    rows = np.nonzero(inside & ~missing[log.request_index])[0]
    pos = log.position[rows].astype(np.int64)
    req = log.request_index[rows]
    return policy.table.at(log.offsets, rows, req, pos - 1) / log.propensity[rows], pos, req


def _logged_position_lifts(lifts, policy, spec, estimator, *, relative: bool, mask=None, where: str = "",
                           thresholds: SupportThresholds | None = None):
    """The lift of ``policy`` over the logging policy in ``logged_position`` mode and its support report,
    from ``evaluate_policies(..., mode="logged_position")``."""
    from recsys_causal.ope import evaluate as ope_evaluate
    from recsys_causal.ope.evaluate import reward_label
    if lifts.baseline is not None:
        raise ConfigError("mode 'logged_position' compares with the logging policy only", column="baseline",
                          fix="use baseline: logging, or mode: top_slot / ranking for a target baseline")
    log, pol = lifts.log, policy
    if mask is not None:
        log = log.select_requests(mask)
        pol = policy.select(lifts.log, mask)
    res = ope_evaluate.evaluate_policies(log, {pol.name: pol}, rewards=[spec], estimators=[estimator],
                                         mode="logged_position", reward_model=lifts.reward_model,
                                         cluster_col=lifts.cluster_col, alpha=2 * lifts.alpha,
                                         thresholds=thresholds, seed=lifts.seed, **_multi(lifts, log))
    label, kind = reward_label(spec), "relative lift" if relative else "lift"
    found = [e for e in res.estimates if e.details.get("quantity") == kind]
    if not found:
        raise EstimationError(f"the logging policy's value of {label!r} is 0{where}: a relative lift is undefined",
                              column=label, fix="use an absolute lift (relative: false) or a reward with events")
    e = found[0]
    return e, res.support[(pol.name, label)]


def _multi(lifts, log) -> dict:
    """The multiple-logger arguments of ``evaluate_policies`` when the log mixes versions (else none)."""
    from recsys_causal.gate.versions import request_versions_or_none

    if lifts.multi_logger is None or request_versions_or_none(log, lifts.version_col, np.arange(log.n_requests)) is None:
        return {}
    return {"multi_logger": lifts.multi_logger, "version_col": lifts.version_col}

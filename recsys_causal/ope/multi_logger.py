"""Several logging-policy versions in one log (a ranking-policy rollout inside the window).

``evaluate_policies(..., multi_logger=...)`` with the version per request in ``version_col`` (default
``ranking_policy_version``):

- ``"stratified"`` needs only each row's own logging propensity: every estimator runs within each version
  stratum and the strata are combined with their shares of the evaluated impressions,
  ``V̂ = Σ_v (n_v/n) V̂_v`` (shares held fixed: the versions are assigned by the rollout, not sampled). Its
  influence value is ``(n_v/n)·ψ_v`` within stratum ``v``, so the standard error is the stratified one
  ``√(Σ_v (n_v/n)² Var_v/n_v)``. For a mean-type estimator (IPS, DM, DR) it equals the pooled estimate with
  per-row propensities exactly (``Σ_v (n_v/n)(1/n_v)Σ_{r∈v} w_r y_r = (1/n)Σ_r w_r y_r``); self-normalised
  estimators (SNIPS, SNDR) normalise within each version.
- ``"balance"`` (the balance heuristic of Agarwal et al. 2017, "Effective evaluation using logged bandit
  feedback from multiple loggers"): weight ``π(a) / Σ_j (n_j/n) p_j(a)``. It needs **every** version's
  propensity of each logged item at its position: candidate columns given by ``version_propensities``
  (version → column), by default ``propensity_<version>``. Without them it cannot be computed and a
  :class:`~recsys_causal.errors.ConfigError` says to use ``"stratified"``. Its variance is never larger than the
  pooled per-row-propensity IPS (the mixture propensity is the logging distribution of the pooled sample).

Every estimate row says which ran (``details["multi_logger"]``, and the estimator label). The support report
gets a breakdown per version (ESS, mean and max weight, max weight share) unless ``support_groups`` is given.

>>> import numpy as np
>>> from recsys_causal.ope.components import SlotComponents
>>> from recsys_causal.ope.single_slot import SNIPS
>>> c = SlotComponents(w=np.array([2.0, 0.0, 1.0, 1.0]), y=np.array([1.0, 1.0, 0.0, 1.0]), q_a=np.zeros(4),
...                    dm=np.zeros(4), requests=np.arange(4), n_excluded=0)
>>> est = Stratified(SNIPS(), np.array([0, 0, 1, 1]), ("v1", "v2"))
>>> est.name, est.contributions(c)[0]          # ½·(2/2) + ½·(1/2)
('SNIPS (stratified by version)', 0.75)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.estimators import Estimator

METHODS = ("stratified", "balance")
DEFAULT_VERSION_COLUMN = "ranking_policy_version"


class Stratified(Estimator):
    """``base`` estimated within each stratum (``codes`` per evaluated row) and combined with the strata's
    shares of the rows; not registered (it wraps any registered estimator)."""

    def __init__(self, base: Estimator, codes: np.ndarray, labels: Sequence[str]) -> None:
        self.base, self.codes, self.labels = base, np.asarray(codes), tuple(labels)
        self.needs_reward_model = base.needs_reward_model

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.base.name} (stratified by version)"

    def terms(self, c) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        n = self.codes.size
        for v in range(len(self.labels)):
            inside = (self.codes == v).astype(float)
            share = inside.sum() / n
            if share == 0:
                continue
            for a, b in self.base.terms(c):
                b = np.broadcast_to(np.asarray(b, dtype=float), np.shape(a))
                out.append((share * a * inside, b * inside))
        return out

    def warnings(self, c) -> list[str]:
        return self.base.warnings(c)

    def __repr__(self) -> str:
        return f"Stratified({self.base!r}, versions={list(self.labels)})"


class BalanceLabel(Estimator):
    """``base`` on balance-heuristic weights (only the label differs; not registered)."""

    def __init__(self, base: Estimator) -> None:
        self.base = base
        self.needs_reward_model = base.needs_reward_model

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.base.name} (balance heuristic)"

    def terms(self, c) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.base.terms(c)

    def warnings(self, c) -> list[str]:
        return self.base.warnings(c)


def multi_logger_options(method: str | None, mode: str, version_col: str,
                         version_propensities: Mapping[str, str] | None) -> dict | None:
    """The checked multiple-logger options of :func:`~recsys_causal.ope.evaluate_policies` (None: off)."""
    if method is None:
        return None
    if method not in METHODS or mode == "ranking":
        raise ConfigError(f"multi_logger={method!r} with mode={mode!r}: use 'stratified' or 'balance' in mode "
                          "'top_slot' or 'logged_position'", column="multi_logger",
                          fix="'stratified' needs only the logged propensity; 'balance' needs every version's")
    return {"method": method, "version_col": version_col, "version_propensities": version_propensities}


def request_versions(log: DecisionLog, version_col: str) -> np.ndarray:
    """The version of every request, as text; a missing column or missing values are a :class:`ConfigError`."""
    if version_col not in log.requests.columns:
        raise ConfigError(f"multi_logger needs the version of every request: column {version_col!r} is not in "
                          "the request table", source=log.source, column=version_col,
                          fix="pass version_col= naming the ranking-policy version column")
    v = log.requests[version_col]
    if v.isna().any():
        raise ConfigError(f"{int(v.isna().sum())} requests have no {version_col!r}", source=log.source,
                          column=version_col, count=int(v.isna().sum()),
                          examples=log.request_ids[v.isna().to_numpy()][:5], fix="fill the version of every request")
    return v.astype(str).to_numpy()


def multi_logger_setup(log: DecisionLog, c, rows: np.ndarray, ests: Sequence[Estimator], *, method: str,
                       version_col: str = DEFAULT_VERSION_COLUMN,
                       version_propensities: Mapping[str, str] | None = None):
    """The components, estimators and per-row version labels of a multiple-logger evaluation (``rows``: the
    candidate rows of the components' entries)."""
    if method not in METHODS:
        raise ConfigError(f"unknown multi_logger {method!r}: use 'stratified' or 'balance'", column="multi_logger",
                          fix="multi_logger='stratified' needs only the logged propensity; 'balance' needs every "
                              "version's propensity per row")
    labels_per_row = request_versions(log, version_col)[c.requests]
    codes, labels = pd.factorize(labels_per_row, sort=True)
    if method == "stratified":
        return c, [Stratified(e, codes, list(labels)) for e in ests], labels_per_row
    shares = np.bincount(codes, minlength=len(labels)) / codes.size
    p_mix = np.zeros(rows.size)
    for j, name in enumerate(labels):
        p_mix += shares[j] * _version_propensity(log, str(name), version_propensities)[rows]
    bad = ~np.isfinite(p_mix) | (p_mix <= 0)
    if bad.any():
        raise EstimationError(f"{int(bad.sum())} evaluated rows have a missing or zero propensity under some "
                              "version", source=log.source, column="propensity_<version>", count=int(bad.sum()),
                              examples=log.request_ids[c.requests[bad]][:5],
                              fix="log every version's propensity, or use multi_logger='stratified'")
    c2 = replace(c, w=c.w * c.p_log / p_mix, p_log=p_mix)
    return c2, [BalanceLabel(e) for e in ests], labels_per_row


def _version_propensity(log: DecisionLog, version: str, columns: Mapping[str, str] | None) -> np.ndarray:
    column = (columns or {}).get(version, f"propensity_{version}")
    if column not in log.candidates.columns:
        raise ConfigError(f"the balance heuristic needs every version's propensity of each logged item: no column "
                          f"{column!r} for version {version!r}", source=log.source, column=column,
                          fix="log it (version_propensities={version: column}), or use multi_logger='stratified', "
                              "which needs only each row's own propensity")
    return log.column(column)

"""The surrogate index for long-term effects (Athey, Chetty, Imbens & Kang 2019).

An experiment that ran for days observes short-term surrogates (sessions, purchases in the first week) but not the
long-term outcome (90-day revenue, retention). A historical sample that observed both fits the index
``h(s, x) = E[long-term | surrogates s, pre-treatment covariates x]``; the long-term effect is estimated by the
treatment − control difference of the mean index in the experiment. Two assumptions make it the long-term effect:

* **surrogacy**: in the experiment, the treatment affects the long-term outcome only through the surrogates
  (given the covariates);
* **comparability**: ``E[long-term | s, x]`` is the same in the historical sample as in the experiment.

Fitting: the historical units are cross-fitted (``folds``) for the out-of-fold R² of the index (the diagnostic of
how much of the long-term outcome the surrogates carry); the experiment units are predicted by one fit on every
historical unit (they are not part of it, so there is no own-observation overfit; the samples must be disjoint).
Interval: a bootstrap over both samples (historical units resampled and the index refitted; experiment units
resampled within arm) with a normal interval from its standard error; the relative lift takes the bootstrap
covariance of the arm means into the kernel's delta method and Fieller interval. The experiment-only row treats
the index as known and understates the uncertainty. With ``validate=True`` (a past experiment that observed the
long-term outcome too) the realised long-term lift and the gap ``surrogate − realised`` are added; the gap's
interval comes from the same bootstrap.

>>> from recsys_causal.simulate.longterm import simulate_longterm
>>> sim = simulate_longterm(n_historical=2000, n_experiment=2000, seed=1)
>>> r = estimate_surrogate_index(sim.historical, sim.experiment, long_term="long_term",
...                              surrogates=["sessions_7d", "purchases_7d"], covariates=["pre_sessions", "tenure"],
...                              n_boot=50, seed=0)
>>> round(sim.true_effect, 2), r.lift.ci_low < sim.true_effect < r.lift.ci_high, r.r2_out_of_fold > 0.5
(0.8, True, True)
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import StatisticalWarning
from recsys_causal.checks import check_alpha
from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments import surrogate_fit as sf
from recsys_causal.experiments.surrogate_inputs import overlap_note, prepare_sample, require_rows
from recsys_causal.experiments.surrogate_rows import index_estimates, validation_estimates
from recsys_causal.results import ResultProtocol
from recsys_causal.threads import model_threads

#: below this out-of-fold R² the surrogates are said to explain little of the long-term outcome
MIN_R2 = 0.1
MIN_BOOT = 50


class WeakSurrogateWarning(StatisticalWarning):
    """The surrogates (with the covariates) explain little of the long-term outcome out of fold."""


@dataclass(eq=False)
class SurrogateIndexResult(ResultProtocol):
    """The surrogate-index projection of a long-term effect: ``estimates`` (lift, relative lift, the
    experiment-only row and, when validated, the realised lift and the gap), the out-of-fold R² of the index,
    whether the surrogates are weak, per-sample accounting (read = used + quarantined + excluded) and the
    per-unit index of the experiment (``index``)."""

    estimates: EstimateTable
    r2_out_of_fold: float
    weak_surrogates: bool
    counts: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    index: np.ndarray = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    @property
    def lift(self) -> Estimate:
        """The long-term lift (treatment − control) with the interval over both samples."""
        return self.estimates.estimates[0]

    @property
    def relative_lift(self) -> Estimate:
        return self.estimates.estimates[1]

    @property
    def gap(self) -> Estimate | None:
        """The validation gap ``surrogate − realised`` (``None`` without ``validate=True``)."""
        rows = [e for e in self.estimates if e.details.get("quantity") == "validation gap"]
        return rows[0] if rows else None

    def accounting(self) -> pd.DataFrame:
        """Rows read, used, quarantined and excluded (with reasons) per sample."""
        return pd.DataFrame([{"sample": k, "read": c["read"], "used": c["used"],
                              "quarantined": sum(c["quarantined"].values()), "excluded": sum(c["excluded"].values()),
                              "reasons": "; ".join(f"{r}: {n}" for r, n in {**c["quarantined"], **c["excluded"]}.items())}
                             for k, c in self.counts.items()])

    def reconciles(self) -> bool:
        """read = used + quarantined + excluded in both samples."""
        a = self.accounting()
        return bool((a["read"] == a["used"] + a["quarantined"] + a["excluded"]).all())

    def _title(self) -> str:
        return f"Surrogate index: long-term effect on {self.settings['long_term']}"

    def _headline(self) -> str:
        e = self.lift
        return (f"long-term lift {e.value:.4g} [{e.ci_low:.4g}, {e.ci_high:.4g}] ({100 * (1 - e.alpha):g}% interval, "
                f"bootstrap over both samples); out-of-fold R² of the index {self.r2_out_of_fold:.3f}")

    def _sections(self) -> list[tuple[str, Any]]:
        s = self.settings
        diagnostics = {"out-of-fold R² of the index": self.r2_out_of_fold, "weak surrogates": self.weak_surrogates,
                       "learner": s["learner"], "folds": s["folds"], "bootstrap replicates": s["n_boot"],
                       "surrogates": ", ".join(s["surrogates"]), "covariates": ", ".join(s["covariates"]) or "none"}
        return [("estimates", self.estimates), ("diagnostics", diagnostics), ("accounting", self.accounting())]

    def _data(self) -> dict[str, Any]:
        return {"r2_out_of_fold": self.r2_out_of_fold, "weak_surrogates": self.weak_surrogates,
                "counts": self.counts, "settings": self.settings}


def _arms(experiment: pd.DataFrame, variant_col: str, control: str, treatment: str | None) -> tuple[str, str]:
    if variant_col not in experiment.columns:
        return control, treatment or "treatment"  # prepare_sample names the missing column
    labels = set(experiment[variant_col].dropna().astype(str))
    if control not in labels:
        raise DataValidationError(f"no experiment unit has {variant_col} = {control!r} (labels: {sorted(labels)})",
                                  column=variant_col, fix="pass control= one of the labels")
    if treatment is None:
        others = sorted(labels - {control})
        if len(others) != 1:
            raise ConfigError(f"the experiment has {len(others)} non-control variants {others}; name the one to "
                              "compare", column="treatment", fix=f"pass treatment= one of {others}")
        treatment = others[0]
    return control, str(treatment)


def _samples(historical, experiment, long_term, features, variant_col, arms, validate, unit_col, folds):
    hist = prepare_sample(historical, "historical", features, outcome=long_term, unit_col=unit_col)
    exp = prepare_sample(experiment, "experiment", features, outcome=long_term if validate else None,
                         variant_col=variant_col, arms=arms, unit_col=unit_col)
    k = folds if isinstance(folds, int | np.integer) else 2
    require_rows(hist, max(2 * int(k), len(features) + 2), "the historical sample",
                 "give more historical units with the long-term outcome observed, or fewer features or folds")
    require_rows(exp, 2, "the experiment", "check the variant labels and the surrogate columns")
    return hist, exp


def _weak_warning(r2: float, min_r2: float, long_term: str) -> str | None:
    if r2 >= min_r2:
        return None
    return (f"the surrogates and covariates explain {r2:.1%} of {long_term!r} out of fold (below {min_r2:.0%}): the "
            "index carries little of the long-term outcome, so the projection rests heavily on surrogacy (any "
            "treatment path the surrogates miss is bias); add surrogates closer to the long-term outcome, or "
            "validate on a past experiment that observed it")


def estimate_surrogate_index(
    historical: pd.DataFrame, experiment: pd.DataFrame, *, long_term: str, surrogates: Sequence[str],
    covariates: Sequence[str] = (), variant_col: str = "variant", control: str = "control",
    treatment: str | None = None, learner: Any = "linear", folds: int | Sequence[int] = 5, n_boot: int = 200,
    alpha: float = 0.05, seed: int = 0, validate: bool = False, min_r2: float = MIN_R2,
    unit_col: str | None = None,
) -> SurrogateIndexResult:
    """Estimate the effect of an experiment on ``long_term`` from its ``surrogates`` with the surrogate index fitted
    on ``historical`` (see the module docstring for the method, the assumptions and the intervals).

    ``learner``: ``"linear"`` (least squares) or any scikit-learn regressor. ``folds``: the number of cross-fitting
    folds, or one fold label per usable historical row. ``validate``: the experiment observed ``long_term`` too;
    add the realised lift and the gap. ``unit_col`` names ids shown in messages. A :class:`WeakSurrogateWarning`
    is issued (and kept in ``warnings``) when the out-of-fold R² is below ``min_r2``.
    """
    alpha = check_alpha(alpha)
    if int(n_boot) < MIN_BOOT:
        raise ConfigError(f"n_boot must be at least {MIN_BOOT}, got {n_boot}", column="n_boot",
                          fix="use n_boot=200 or more")
    surrogates, covariates = list(surrogates), list(covariates)
    if not surrogates:
        raise ConfigError("at least one surrogate is needed", column="surrogates", fix="name the short-term columns")
    features = [*surrogates, *covariates]
    sf.make_learner(learner)  # a bad learner fails before any work
    arms = _arms(experiment, variant_col, control, treatment)
    hist, exp = _samples(historical, experiment, long_term, features, variant_col, arms, validate, unit_col, folds)
    fold_labels = sf.fold_ids(len(hist.y), folds, seed=seed)
    with model_threads():  # one context per analysis: entering it scans the loaded libraries
        r2 = sf.r_squared(hist.y, sf.cross_fit(learner, hist.z, hist.y, fold_labels))
        index = sf.fit(learner, hist.z, hist.y).predict(exp.z)
        boot, realised = sf.bootstrap_arm_means(learner, hist.z, hist.y, exp.z, exp.treated,
                                                exp.y if validate else None, n_boot=int(n_boot), seed=seed + 1)
    details = {"metric": long_term, "variant": arms[1], "n_historical": int(hist.y.size), "n_boot": int(n_boot),
               "learner": sf.learner_name(learner)}
    rows = index_estimates(index, exp.treated, boot, alpha=alpha, details=details)
    if validate:
        rows += validation_estimates(exp.y, exp.treated, rows[0], boot, realised, alpha=alpha, details=details)
    notes = [*hist.notes, *exp.notes, *filter(None, [overlap_note(historical, experiment, unit_col)])]
    weak = _weak_warning(r2, min_r2, long_term)
    if weak:
        _warnings.warn(weak, WeakSurrogateWarning, stacklevel=2)
        notes.append(weak)
    settings = {"long_term": long_term, "surrogates": surrogates, "covariates": covariates,
                "learner": sf.learner_name(learner), "folds": int(np.unique(fold_labels).size),
                "n_boot": int(n_boot), "alpha": alpha, "seed": seed, "control": arms[0], "treatment": arms[1],
                "validate": bool(validate), "min_r2": min_r2}
    return SurrogateIndexResult(EstimateTable(rows, title="long-term effect (surrogate index)"), r2, weak is not None,
                                {"historical": hist.counts, "experiment": exp.counts}, settings, index, notes)


__all__ = ["MIN_R2", "SurrogateIndexResult", "WeakSurrogateWarning", "estimate_surrogate_index"]

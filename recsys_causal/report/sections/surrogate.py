"""The surrogate-index section: the long-term effect projected from the experiment's short-term surrogates with an
index fitted on a historical sample (``surrogate:`` in ``experiment.yaml``), its interval over both samples, the
out-of-fold R² of the index and, when the experiment observed the long-term outcome too, the validation gap.

The projection is context for the decision, never a reason to ship on its own: it rests on surrogacy and
comparability, which the data cannot prove."""

from __future__ import annotations

import warnings
from typing import Any

from recsys_causal.estimate import interval_label
from recsys_causal.report.ab_units import ab_units, treatment_label
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding
from recsys_causal.report.inputs import check_columns
from recsys_causal.report.records import estimates_json
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Surrogate index (Athey, Chetty, Imbens & Kang 2019): E[long-term | surrogates, covariates] fitted on the "
          "historical sample ({learner}; out-of-fold R² from {folds}-fold cross-fitting), the experiment's units "
          "predicted by the fit on every historical unit, and the treatment − control difference of the mean index; "
          "interval from {n_boot} bootstrap replicates over both samples (historical units resampled and the index "
          "refitted, experiment units resampled within arm), relative lift by the delta method with Fieller's "
          "interval on their covariance. Assumes surrogacy (the treatment reaches the long-term outcome only through "
          "the surrogates) and comparability (the same E[long-term | surrogates, covariates] in both samples).")


def learner_object(name: str, seed: int) -> Any:
    """The regressor a YAML ``learner`` names (one thread each)."""
    if name == "linear":
        return "linear"
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    if name == "gradient_boosting":
        return GradientBoostingRegressor(random_state=seed)
    return RandomForestRegressor(n_estimators=200, min_samples_leaf=20, n_jobs=1, random_state=seed)


def _columns(sp) -> list[tuple[str, str]]:
    refs = [(f"surrogate.surrogates[{i}]", c) for i, c in enumerate(sp.surrogates)]
    return refs + [(f"surrogate.covariates[{i}]", c) for i, c in enumerate(sp.covariates)]


@register
class Surrogate(Section):
    """The long-term projection of the A/B plan's experiment from the surrogate index."""

    name, title, order = "surrogate", "Long-term effect (surrogate index)", 58
    designs, requires = ("ab",), "surrogate"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.experiments.surrogate import WeakSurrogateWarning, estimate_surrogate_index

        cfg, sp = ctx.cfg, ctx.cfg.surrogate
        units = ab_units(ctx).units
        historical, path = ctx.table(sp.historical, "surrogate.historical")
        check_columns(historical, [*_columns(sp), ("surrogate.long_term", sp.long_term)],
                      f"surrogate.historical ({path.name})")
        check_columns(units, _columns(sp), "the experiment's unit table")
        if sp.validate_:
            check_columns(units, [("surrogate.long_term", sp.long_term)], "the experiment's unit table (validate)")
        ctx.progress("projecting the long-term effect (surrogate index)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WeakSurrogateWarning)  # kept in the result's warnings, shown on the page
            r = estimate_surrogate_index(
                historical, units, long_term=sp.long_term, surrogates=sp.surrogates, covariates=sp.covariates,
                variant_col=cfg.variants.column, control=cfg.variants.control, treatment=treatment_label(cfg),
                learner=learner_object(sp.learner, cfg.seed), folds=sp.folds, n_boot=sp.n_boot, alpha=cfg.alpha,
                seed=cfg.seed, validate=sp.validate_, min_r2=sp.min_r2, unit_col=cfg.experiment.unit)
        data = {"long_term": sp.long_term, "surrogates": list(sp.surrogates), "covariates": list(sp.covariates),
                "learner": sp.learner, "historical": path.name, "r2_out_of_fold": r.r2_out_of_fold,
                "weak_surrogates": r.weak_surrogates, "validated": bool(sp.validate_),
                "estimates": estimates_json(r.estimates), "counts": r.counts, "warnings": list(r.warnings)}
        method = METHOD.format(learner=sp.learner, folds=r.settings["folds"], n_boot=sp.n_boot)
        return SectionResult(r, data, methods=[method], warnings=list(r.warnings),
                             quality={"surrogate_historical": r.counts["historical"]},
                             findings=[Finding("reason", _finding_text(r, cfg.alpha))])


def _finding_text(r, alpha: float) -> str:
    e = r.lift
    text = (f"Projected long-term effect on {r.settings['long_term']} (surrogate index) {e.value:.4g} "
            f"[{e.ci_low:.4g}, {e.ci_high:.4g}] ({interval_label(alpha)}); it assumes surrogacy and comparability")
    if r.gap is not None:
        g = r.gap
        text += f"; validation gap (surrogate − realised) {g.value:.4g} [{g.ci_low:.4g}, {g.ci_high:.4g}]"
    return text + "."

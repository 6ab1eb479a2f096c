"""The novelty-decay section: the daily effect by days since first exposure and the fitted decay (or, when the
decay is not identified, the constant-effect mean instead of a long-run effect)."""

from __future__ import annotations

from typing import Any

import numpy as np

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import interval_label
from recsys_causal.plotting import effect_by_day_figure, figure_svg
from recsys_causal.report.ab_units import ab_units, treatment_label
from recsys_causal.report.context import ReportContext
from recsys_causal.report.records import estimates_json, json_number, records
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Novelty: daily effect by days since first exposure (Welch, per day); decay curve "
          "long_run + (initial − long_run)·exp(−t/τ) by generalised least squares with the "
          "covariance of the daily effects; label novelty / primacy / stable. When the decay "
          "is not identified (stable, τ at a bound, or a long-run interval far wider than the "
          "daily ones) the constant-effect GLS mean is reported instead.")


@register
class Novelty(Section):
    """Daily effects of ``novelty.metric`` by days since first exposure and the decay fit, from the
    decision log of the A/B plan."""

    name, title, order = "novelty", "Novelty decay", 50
    designs, requires = ("ab",), "novelty"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.errors import EstimationError
        from recsys_causal.experiments import decay_from_panel, effect_by_day, novelty_panel

        cfg, nv = ctx.cfg, ctx.cfg.novelty
        log = ab_units(ctx).log
        ctx.progress("novelty-decay readout")
        require_columns(log.reward_columns, [nv.metric], error=ConfigError, fix="use one of the outcome columns",
                        message="novelty.metric: {first!r} is not an outcome of data.decision_log")
        panel = novelty_panel(log, metric=nv.metric, unit=cfg.experiment.unit, variant_col=cfg.variants.column,
                              as_of=cfg.data.as_of, days=nv.days)
        kw = {"metric": "value", "control": cfg.variants.control, "treatment": treatment_label(cfg),
              "alpha": cfg.alpha}
        section: dict[str, Any] = {"metric": nv.metric, "by_day": None, "fit": None, "note": None}
        fit = None
        try:
            daily, fit = decay_from_panel(panel, **kw)  # GLS with the covariance of the daily effects
        except EstimationError as exc:
            daily = effect_by_day(panel, **kw)
            section["note"] = f"decay curve not fitted: {exc}"
        curve, curve_label = (None, "") if fit is None else self._fit(section, fit, daily, nv.metric, cfg.alpha)
        section["by_day"] = records(daily)
        figure = figure_svg(effect_by_day_figure(daily, curve, nv.metric, interval=interval_label(cfg.alpha),
                                                 curve_label=curve_label))
        return SectionResult((daily, fit), section, figures={"novelty": figure}, methods=[METHOD])

    @staticmethod
    def _fit(section: dict, fit, daily, metric: str, alpha: float):
        """Put the decay fit into ``section`` (under ``fit`` when identified, else under ``decay`` with a note);
        returns the curve to draw and its legend label."""
        decay = {"label": fit.label, "long_run": estimates_json([fit.long_run])[0],
                 "initial": estimates_json([fit.initial])[0], "tau_days": json_number(fit.tau),
                 "p_initial_equals_long_run": json_number(fit.p_value), "identified": bool(fit.identified),
                 "effect": estimates_json([fit.effect])[0], "not_identified_reason": fit.note or None}
        if fit.identified:
            section["fit"] = decay
        else:  # no long-run effect to show: the page prints the note, the JSON keeps the fit under "decay"
            section["decay"] = decay
            section["note"] = _not_identified_text(metric, fit, alpha)
        curve_t = np.linspace(0, daily["days_since_exposure"].max(), 50)
        if fit.identified:
            return (curve_t, fit.predict(curve_t)), "fitted decay"
        return (curve_t, np.full(50, fit.effect.value)), "constant effect (decay not identified)"


def _not_identified_text(metric: str, fit, alpha: float) -> str:
    e = fit.effect
    return (f"{metric}: {fit.label}. The decay was not identified ({fit.note}), so no long-run effect is reported; "
            f"constant effect over the days (GLS mean with the covariance of the daily effects) {e.value:.4g} "
            f"[{e.ci_low:.4g}, {e.ci_high:.4g}] ({100 * (1 - alpha):g}% interval); test of initial = long-run "
            f"p = {fit.p_value:.4g}.")

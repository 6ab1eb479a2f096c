"""The time view: the cumulative effect of each primary mean, proportion or ratio metric by calendar day of
first exposure, and the sequential monitoring readout of those daily looks when ``monitoring`` is configured."""

from __future__ import annotations

import pandas as pd

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import figure_svg, interval_plot, literal_text
from recsys_causal.report.ab_units import ab_units, treatment_label
from recsys_causal.report.context import ReportContext
from recsys_causal.report.records import records
from recsys_causal.report.sections.base import Section, SectionResult, register
from recsys_causal.report.timeline import cumulative_by_day, monitoring_looks

METHOD = ("Effect over time: for each calendar day, the difference between arms among the units first exposed "
          "up to that day (each with its full metric window; no CUPED), with a Welch interval (delta method for "
          "ratio metrics).")
MONITORING = ("Sequential monitoring of the daily looks: always-valid normal-mixture confidence sequence tuned "
              "to the planned end, and Lan–DeMets O'Brien–Fleming group-sequential bounds on |z|.")


@register
class Timeline(Section):
    """Cumulative effect by day (a table and a figure per metric) and, with a monitoring plan, its sequential
    readout; needs each unit's first exposure (the decision-log path provides it)."""

    name, title, order, designs = "timeline", "Effect over time", 45, ("ab",)

    def run(self, ctx: ReportContext) -> SectionResult:
        cfg = ctx.cfg
        units = ab_units(ctx).units
        if cfg.first_exposure not in units.columns:
            return SectionResult()
        plan = _plan(cfg)
        out, figures, warnings = [], {}, []
        for m in cfg.metrics.primary:
            cols = {"mean": [m.column or m.name], "proportion": [m.column or m.name],
                    "ratio": [m.numerator, m.denominator]}.get(m.kind)
            if cols is None:
                continue
            tab = cumulative_by_day(units, cols, time_col=cfg.first_exposure, variant_col=cfg.variants.column,
                                    control=cfg.variants.control, treatment=treatment_label(cfg), alpha=cfg.alpha)
            entry = {"metric": m.name, "kind": m.kind, "by_day": records(tab), "monitoring": None}
            if plan is not None:
                looks = monitoring_looks(tab, plan)
                entry["monitoring"] = records(looks)
                warnings += [f"{m.name}: {w}" for w in looks.attrs["warnings"]]
            out.append(entry)
            figures[f"cumulative_{m.name}"] = figure_svg(_figure(tab, m.name, interval_label(cfg.alpha)))
        if not out:
            return SectionResult()
        data = {"metrics": out, "plan": None if plan is None else cfg.monitoring.model_dump()}
        methods = [METHOD] + ([MONITORING] if plan is not None else [])
        return SectionResult(out, data, figures=figures, methods=methods, warnings=warnings)


def _plan(cfg):
    from recsys_causal.experiments.sequential import MonitoringPlan

    mon = cfg.monitoring
    return None if mon is None else MonitoringPlan(planned_n=mon.planned_n, final_se=mon.final_se, alpha=cfg.alpha)


def _figure(tab: pd.DataFrame, metric: str, interval: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    at = list(range(1, len(tab) + 1))
    interval_plot(ax, tab["value"], tab["ci_low"], tab["ci_high"], at=at, capsize=3,
                  label=f"cumulative effect ({interval})")
    step = max(1, len(at) // 8)
    ax.set_xticks(at[::step], [d[5:] for d in tab["day"]][::step])
    ax.set_xlabel("calendar day of first exposure (UTC, month-day)")
    ax.set_ylabel(f"effect on {metric}")
    ax.set_title(f"{metric}: cumulative effect by day")
    fig.legend(loc="outside lower center", frameon=False)
    literal_text(fig)
    return fig

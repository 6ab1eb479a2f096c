"""The sample-size section: for each inconclusive primary metric, the minimum detectable effect at the current
sample and, with a planned effect (``power.mde``), how many more units and days the planned power needs."""

from __future__ import annotations

from recsys_causal.report.ab_units import ab_readout, ab_units
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding, duration, pct
from recsys_causal.report.power import daily_rate, plan_row
from recsys_causal.report.records import estimates_json
from recsys_causal.report.sections.ab import decides, primary_finding
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Sample size: minimum detectable effect (MDE) = (z(1 − alpha/2) + z(power)) × the readout's standard "
          "error; units needed = units now × (MDE / planned effect)², the standard error falling as 1/√n with "
          "the same split; days = more units ÷ units enrolled per day so far (first to last first exposure).")


@register
class SampleSize(Section):
    """MDE now and the units and days still needed, for every primary metric the decision leaves open."""

    name, title, order, designs = "power", "Sample size for the open metrics", 35, ("ab",)

    def run(self, ctx: ReportContext) -> SectionResult:
        cfg = ctx.cfg
        spec = cfg.power
        power, relative = (spec.power, spec.relative) if spec else (0.8, True)
        effect = spec.mde if spec else None
        ab = ab_readout(ctx)
        open_keys = {(e.details.get("metric"), e.details.get("variant")) for e in ab.metrics
                     if decides(e) and primary_finding(e, cfg.alpha, "").kind == "unknown"}
        if not open_keys:
            return SectionResult()
        want = "relative" if relative else "absolute"
        chosen = [row for row in estimates_json(ab.metrics) if (row.get("metric"), row.get("variant")) in open_keys
                  and row.get("lift") in (want, None) and row.get("se")]
        units = ab_units(ctx).units
        rate = daily_rate(units[cfg.first_exposure]) if cfg.first_exposure in units.columns else None
        rows = [plan_row(r, alpha=cfg.alpha, power=power, effect=effect, rate=rate) for r in chosen]
        window = duration(cfg.data.metric_window) if cfg.data.decision_log else None
        findings = [Finding("reason", _sentence(r, window)) for r in rows]
        return SectionResult(rows, {"rows": rows, "metric_window": window}, methods=[METHOD], findings=findings)


def _sentence(r: dict, window: str | None) -> str:
    show = pct if r["lift"] == "relative" else (lambda v: f"{v:.3g}")
    what = "relative lift" if r["lift"] == "relative" else "effect"
    head = (f"{r['metric']} ({r['variant']}): at the current {r['n']} units the smallest {what} detectable with "
            f"{100 * r['power']:g}% power is {show(r['mde'])}")
    if r["planned_effect"] is None:
        return head + "; set power.mde in the YAML to see how long to keep running."
    if r["more_units"] == 0:
        return head + f", so the planned {show(r['planned_effect'])} is already within reach of this sample."
    more = f"{r['more_units']} more units"
    if r["more_days"] is None:
        return head + f"; to detect the planned {show(r['planned_effect'])} it needs about {more}."
    tail = f", plus the metric window ({window}) for the last units" if window else ""
    return (head + f"; to detect the planned {show(r['planned_effect'])}, keep running for about "
            f"{r['more_days']} more days ({more} at {r['units_per_day']:.0f} units a day{tail}).")

"""The long-term section: A/B readouts at several horizons after first exposure (e.g. 7 / 14 / 30 days) from the
decision log of the A/B plan, each with its count of mature units (``longterm:`` in the YAML)."""

from __future__ import annotations

from typing import Any

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.ab_units import ab_units
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding, pct
from recsys_causal.report.records import estimates_json, json_number, records
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Long-term readouts: at each horizon h (days after a unit's first exposure) only units whose window "
          "[t0, t0 + h] has closed by as_of are analysed (the others are counted as immature, never zero-filled); "
          "outcomes are summed over [t0, t0 + h) and user-level outcomes (retention: another request in "
          "(t0, t0 + h]; '<event> by user': an event of the user on any item in [t0, t0 + h]) are labels over the "
          "unit's own window; flagged users and units whose outcome a broken event makes unknown are excluded and "
          "counted. Each horizon is one A/B readout (Welch; Holm across its metrics); horizons are not adjusted "
          "across.")


@register
class LongTerm(Section):
    """Lifts of ``longterm.metrics`` at each of ``longterm.horizons``, the units analysed and left out at each
    horizon, and a finding when the longest horizon shows a significant decline."""

    name, title, order = "longterm", "Long-term readouts", 57
    designs, requires = ("ab",), "longterm"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.experiments.horizons import analyze_horizons

        cfg, lt = ctx.cfg, ctx.cfg.longterm
        log = ab_units(ctx).log
        events = self._events(ctx)
        flags = ctx.table(lt.flags, "longterm.flags")[0] if lt.flags else None
        ctx.progress("long-term readouts at " + ", ".join(f"{h:g}d" for h in lt.horizons))
        self._check_metrics(lt, log)
        r = analyze_horizons(log, metrics=[m.to_metric("primary") for m in lt.metrics], horizons=lt.horizons,
                             as_of=cfg.data.as_of, outcomes=lt.outcomes, events=events, flags=flags,
                             unit_col=cfg.experiment.unit, variant_col=cfg.variants.column,
                             control=cfg.variants.control, expected_split=cfg.variants.expected_split,
                             alpha=cfg.alpha)
        data: dict[str, Any] = {"horizons_days": [json_number(h) for h in r.horizons], "outcomes": list(lt.outcomes),
                                "lifts": estimates_json(r.estimates), "units": records(r.counts)}
        quality = {"longterm_units": data["units"]}
        rel = [e for e in r.estimates if e.details.get("lift") == "relative"]
        figures = {"longterm": figure_svg(bar_intervals(
            [f"{e.details['metric']} at {e.details['horizon_days']:g}d" for e in rel], [e.value for e in rel],
            [e.ci_low for e in rel], [e.ci_high for e in rel], title="Relative lift by horizon",
            xlabel="relative lift (treatment / control − 1)", interval=interval_label(cfg.alpha)))} if rel else {}
        return SectionResult(r, data, figures=figures, methods=[METHOD], warnings=r._warnings(), quality=quality,
                             findings=self.findings(r, cfg.alpha))

    @staticmethod
    def _events(ctx: ReportContext):
        lt, d = ctx.cfg.longterm, ctx.cfg.data
        needs = [o for o in lt.outcomes if not o.strip().lower().startswith("retention")]
        if needs and not d.outcome_events:
            raise ConfigError(f"longterm.outcomes {needs} need data.outcome_events", column="longterm.outcomes",
                              fix="add data.outcome_events, or keep only 'retention after exposure'")
        return ctx.table(d.outcome_events, "data.outcome_events")[0] if needs else None

    @staticmethod
    def _check_metrics(lt, log) -> None:
        from recsys_causal.experiments.horizons import outcome_specs

        known = {*log.reward_columns, "impressions", "n_requests", *(s.column for s in outcome_specs(lt.outcomes))}
        for i, m in enumerate(lt.metrics):
            metric = m.to_metric("primary")
            missing = sorted(set(metric.columns) - known)
            if missing:
                raise ConfigError(f"longterm.metrics[{i}] ({m.name!r}) reads {missing}, which the unit table lacks",
                                  column=f"longterm.metrics[{i}]",
                                  fix=f"use the log's outcomes, impressions, n_requests or an outcome of "
                                      f"longterm.outcomes: {sorted(known)}")

    @staticmethod
    def findings(r, alpha: float) -> list[Finding]:
        """At the longest horizon: a significant decline of a metric is a blocker, otherwise one reason line."""
        h = r.horizons[-1]
        iv = interval_label(alpha)
        out = []
        for e in r.estimates:
            if e.details["horizon_days"] != h or e.details.get("lift") != "relative":
                continue
            label = f"{e.details['metric']} at {h:g} days ({e.details['n_mature_units']} mature units)"
            p = json_number(e.details.get("p_adjusted", e.p_value))
            text = f"{label}: {pct(e.value)} [{pct(e.ci_low)}, {pct(e.ci_high)}] ({iv})"
            if p is not None and p < alpha and e.value < 0:
                out.append(Finding("blocker", f"Long-term decline: {text}, adjusted p = {p:.2g}."))
            else:
                out.append(Finding("reason", f"Long-term readout {text}."))
        return out

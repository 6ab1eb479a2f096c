"""One call for a switchback readout: schedule checks, burn-in, design-based, regression and randomization results.

>>> from recsys_causal.simulate import simulate_switchback
>>> sb = simulate_switchback(n_clusters=2, n_blocks=96, direct_effect=0.5, seed=4)
>>> r = analyze_switchback(sb.schedule, sb.events, carryover_order=0, burn_in_minutes=5, n_draws=1000)
>>> r.counts["read"] == r.counts["used"] + r.counts["burn_in"] + r.counts["outside_schedule"] + r.counts["missing_value"]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from recsys_causal.caveats import (
    AssumptionWarning,
    DataQualityWarning,
    category_of,
    caveat,
    emits_caveats,
    estimate_caveats,
)
from recsys_causal.checks import unique_units
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimatesView, EstimateTable
from recsys_causal.frames import to_pandas
from recsys_causal.logs.model import DecisionLog
from recsys_causal.progress import progress_option
from recsys_causal.switchback.blocks import aggregate_events
from recsys_causal.switchback.estimators import (
    carryover_disagreements,
    carryover_table,
    design_based_estimate,
    regression_estimate,
)
from recsys_causal.switchback.randomization import RandomizationResult, randomization_test
from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule


@dataclass(frozen=True)
class SwitchbackGuardrail:
    """A guardrail metric of the events: ``value_col`` aggregated per block (``mean``, ``sum``, ``count`` or
    ``ratio`` over ``denominator_col``), with a direction and an absolute non-inferiority margin."""

    value_col: str
    direction: str
    margin: float
    aggregate: str = "mean"
    denominator_col: str | None = None


@dataclass
class SwitchbackReadout(EstimatesView):
    """Estimates of the always-treat versus never-treat effect and the evidence behind them."""

    estimates: EstimateTable
    randomization: RandomizationResult
    carryover: EstimateTable
    blocks: pd.DataFrame
    counts: dict[str, int]
    design: SwitchbackDesign
    carryover_order: int
    burn_in_minutes: float
    warnings: list[str] = field(default_factory=list)
    guardrails: EstimateTable | None = None

    def _headline(self) -> str:
        return (f"SwitchbackReadout({self.design.kind} design, m={self.carryover_order}, "
                f"burn-in {self.burn_in_minutes:g} min, {len(self.blocks)} blocks, events {self.counts})")

    def __repr__(self) -> str:
        r = self.randomization
        lines = [self._headline()]
        lines += [f"  {e!r}" for e in self.estimates]
        lines.append(f"  randomization test: p={r.p_value:.4g} ({r.n_draws} draws), "
                     f"{100 * (1 - r.alpha):.0f}% CI [{r.ci_low:.4g}, {r.ci_high:.4g}]")
        return "\n".join(lines)

    def _sections(self) -> list[tuple[str, Any]]:
        parts: list[tuple[str, Any]] = [("estimates", self.estimates), ("carryover", self.carryover)]
        if self.guardrails is not None:
            parts.append(("guardrails", self.guardrails))
        return [*parts, ("randomization", self.randomization)]

    def plot(self, kind: str = "effects"):
        """A matplotlib Figure (shown inline in Jupyter) of ``kind``: ``"effects"``, the effect at every assumed
        carryover order (design-based and regression) with its interval, and the guardrails against their
        margins; ``"periods"``, the outcome of every block over calendar time by arm."""
        from recsys_causal.experiments.ab_readout import guardrail_rows
        from recsys_causal.plotting import Rows, points_over_time, rows_figure

        if kind == "periods":
            b = self.blocks.dropna(subset=["y"])
            metric = self.estimates[0].details.get("metric", "outcome")
            return points_over_time(b["block_start"], b["y"], b["treated"].map({True: "treatment", False: "control"}),
                                    title=f"{metric} of each block by arm", ylabel=f"block {metric}")
        if kind != "effects":
            raise ConfigError(f"switchback readouts have no {kind!r} plot", fix="use kind='effects' or 'periods'")
        return rows_figure(Rows.of(self.carryover, title="Effect by assumed carryover order m",
                                   xlabel="always-treat minus never-treat effect"),
                           guardrail_rows(self.guardrails or []))

    def _caveats(self) -> list[tuple[type, str]]:
        """Its warnings, its estimates' and guardrails', and carryover orders that disagree with the chosen one."""
        return [(category_of(w), w) for w in self.warnings] + estimate_caveats(self._estimates(), self.warnings) + [
            (AssumptionWarning, t) for t in carryover_disagreements(self.carryover, self.carryover_order)]

    def _estimates(self) -> list[Estimate]:
        """The effect estimates and the guardrails (the carryover table: ``readout.carryover``)."""
        return [*self.estimates, *(self.guardrails or [])]

    def _data(self) -> dict[str, Any]:
        return {"counts": self.counts, "design": self.design.kind, "carryover_order": self.carryover_order,
                "burn_in_minutes": self.burn_in_minutes}


@emits_caveats
@progress_option
def analyze_switchback(
    schedule: pd.DataFrame,
    events: pd.DataFrame | DecisionLog | None = None,
    *,
    block_outcomes: pd.DataFrame | None = None,
    design: SwitchbackDesign | None = None,
    carryover_order: int = 0,
    max_carryover_order: int = 2,
    burn_in_minutes: float = 0.0,
    value_col: str = "value",
    aggregate: str = "mean",
    denominator_col: str | None = None,
    guardrails: tuple[SwitchbackGuardrail, ...] | list[SwitchbackGuardrail] = (),
    n_draws: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    progress: bool | None = None,
    **log_options: Any,
) -> SwitchbackReadout:
    """Analyse a switchback from its schedule and either timestamped ``events`` or per-block ``block_outcomes``
    (columns ``cluster``, ``block_start``, ``y``). ``aggregate="ratio"`` with ``denominator_col`` reads out a
    ratio metric; each guardrail gets the m-aware design-based estimate and an ok / violated / inconclusive
    verdict from a one-sided non-inferiority test against its margin (as in the A/B readout). Caveats are also
    emitted as :class:`~recsys_causal.caveats.StatisticalWarning`; ``progress`` shows a bar over the
    randomization draws (:mod:`recsys_causal.progress`).

    ``events`` may be a :class:`~recsys_causal.logs.model.DecisionLog` whose requests carry the cluster and
    the variant (``log_options``: ``cluster_col="region"``, ``variant_col``, labels; see
    :func:`~recsys_causal.switchback.from_log.switchback_events_from_log`): every request's variant is checked
    against the schedule, mismatches counted in ``counts`` and warned about."""
    schedule, events, block_outcomes = _as_tables(schedule, events, block_outcomes)
    design = design or SwitchbackDesign()
    sched = validate_schedule(schedule, design)
    from_log = None
    if isinstance(events, DecisionLog):
        from_log = _log_events(events, sched, value_col, denominator_col, guardrails, log_options)
        events = from_log.events
    if guardrails and events is None:
        raise ConfigError("guardrails need timestamped events", fix="pass events= with the guardrail columns")
    blocks, counts = _blocks(sched, events, block_outcomes, value_col=value_col, burn_in_minutes=burn_in_minutes,
                             aggregate=aggregate, denominator_col=denominator_col)
    warnings = [] if from_log is None else from_log.warnings()
    counts = counts if from_log is None else {**counts, **from_log.counts}
    if blocks["y"].isna().any():
        warnings.append(caveat(f"{int(blocks['y'].isna().sum())} blocks have no usable outcome (burn-in or "
                               "missing) and are left out of the design-based estimate", DataQualityWarning))
    details = {"quantity": "lift", "metric": value_col}
    design_est = design_based_estimate(blocks, design, carryover_order, alpha=alpha)
    reg_est, _ = regression_estimate(blocks, carryover_order, alpha=alpha)
    ri = randomization_test(blocks, design, carryover_order, n_draws=n_draws, seed=seed, alpha=alpha)
    carry = carryover_table(blocks, design, max_carryover_order, alpha=alpha)
    carry = EstimateTable([_with(e, details) for e in carry], title=carry.title)
    table = EstimateTable([_with(design_est, details), _with(reg_est, details)],
                          title="Switchback: effect of always vs never treating")
    g_table = None
    if guardrails:
        g_table = _guardrail_table(guardrails, events, sched, design, carryover_order, burn_in_minutes, alpha)
    return SwitchbackReadout(table, ri, carry, blocks, counts, design, carryover_order, burn_in_minutes, warnings,
                             g_table)


def _with(estimate: Estimate, details: dict[str, Any]) -> Estimate:
    return replace(estimate, details={**estimate.details, **details})


def _blocks(sched: pd.DataFrame, events: pd.DataFrame | None, block_outcomes: pd.DataFrame | None, *,
            value_col: str, burn_in_minutes: float, aggregate: str,
            denominator_col: str | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-block outcomes of the schedule, from timestamped events or given per block, and their counts."""
    if events is not None:
        return aggregate_events(events, sched, value_col=value_col, burn_in_minutes=burn_in_minutes,
                                aggregate=aggregate, denominator_col=denominator_col)
    if block_outcomes is None:
        raise ConfigError("give events or block_outcomes", fix="pass the timestamped events or per-block outcomes")
    bo = block_outcomes.copy()
    bo["cluster"] = bo["cluster"].astype(str)
    bo["block_start"] = pd.to_datetime(bo["block_start"], utc=True, format="ISO8601")
    bo, _ = unique_units(bo[["cluster", "block_start", "y"]], ["cluster", "block_start"], table="block outcomes")
    blocks = sched.merge(bo, on=["cluster", "block_start"], how="left", validate="one_to_one")
    return blocks, {"blocks": len(blocks), "blocks_without_outcome": int(blocks["y"].isna().sum())}


def _as_tables(*tables: Any) -> tuple:
    """Each given table as pandas (any dataframe in; a decision log stays a log)."""
    return tuple(t if t is None or isinstance(t, DecisionLog) else to_pandas(t, what="analyze_switchback")
                 for t in tables)


def _log_events(log: DecisionLog, sched: pd.DataFrame, value_col: str, denominator_col: str | None,
                guardrails, options: dict[str, Any]):
    """The events of every outcome the readout needs (metric, denominator, guardrails) from a decision log."""
    from recsys_causal.switchback.from_log import switchback_events_from_log

    names = [value_col, *([denominator_col] if denominator_col else [])]
    names += [c for g in guardrails for c in (g.value_col, g.denominator_col) if c]
    return switchback_events_from_log(log, sched, value_col=names, **options)


def _guardrail_table(guardrails, events, sched, design, carryover_order, burn_in_minutes, alpha) -> EstimateTable:
    """The m-aware design-based estimate of each guardrail metric with its non-inferiority verdict."""
    from recsys_causal.experiments import Guardrail

    rows = []
    for g in guardrails:
        g_blocks, _ = aggregate_events(events, sched, value_col=g.value_col, burn_in_minutes=burn_in_minutes,
                                       aggregate=g.aggregate, denominator_col=g.denominator_col)
        est = design_based_estimate(g_blocks, design, carryover_order, alpha=alpha)
        est = replace(est, name=f"guardrail {g.value_col}",
                      details={**est.details, "quantity": "lift", "metric": g.value_col})
        rows.append(Guardrail(g.value_col, direction=g.direction, margin=g.margin, relative=False,
                              alpha=alpha).evaluate(est))
    return EstimateTable(rows, title="Switchback guardrails")

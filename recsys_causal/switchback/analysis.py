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

from recsys_causal.checks import unique_units
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimatesView, EstimateTable
from recsys_causal.frames import to_pandas
from recsys_causal.switchback.blocks import aggregate_events
from recsys_causal.switchback.estimators import carryover_table, design_based_estimate, regression_estimate
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

    def _estimates(self) -> list[Estimate]:
        """The effect estimates and the guardrails (the carryover table: ``readout.carryover``)."""
        return [*self.estimates, *(self.guardrails or [])]

    def _data(self) -> dict[str, Any]:
        return {"counts": self.counts, "design": self.design.kind, "carryover_order": self.carryover_order,
                "burn_in_minutes": self.burn_in_minutes}


def analyze_switchback(
    schedule: pd.DataFrame,
    events: pd.DataFrame | None = None,
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
) -> SwitchbackReadout:
    """Analyse a switchback from its schedule and either timestamped ``events`` or per-block ``block_outcomes``
    (columns ``cluster``, ``block_start``, ``y``). ``aggregate="ratio"`` with ``denominator_col`` reads out a
    ratio metric; each guardrail gets the m-aware design-based estimate and an ok / violated / inconclusive
    verdict from a one-sided non-inferiority test against its margin (as in the A/B readout)."""
    schedule, events, block_outcomes = (None if t is None else to_pandas(t, what="analyze_switchback")
                                     for t in (schedule, events, block_outcomes))
    design = design or SwitchbackDesign()
    sched = validate_schedule(schedule, design)
    if guardrails and events is None:
        raise ConfigError("guardrails need timestamped events", fix="pass events= with the guardrail columns")
    blocks, counts = _blocks(sched, events, block_outcomes, value_col=value_col, burn_in_minutes=burn_in_minutes,
                             aggregate=aggregate, denominator_col=denominator_col)
    warnings = []
    if blocks["y"].isna().any():
        warnings.append(f"{int(blocks['y'].isna().sum())} blocks have no usable outcome (burn-in or missing) and "
                        "are left out of the design-based estimate")
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

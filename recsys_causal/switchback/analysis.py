"""One call for a switchback readout: schedule checks, burn-in, design-based, regression and randomization results.

>>> from recsys_causal.simulate import simulate_switchback
>>> sb = simulate_switchback(n_clusters=2, n_blocks=96, direct_effect=0.5, seed=4)
>>> r = analyze_switchback(sb.schedule, sb.events, carryover_order=0, burn_in_minutes=5, n_draws=1000)
>>> r.counts["read"] == r.counts["used"] + r.counts["burn_in"] + r.counts["outside_schedule"] + r.counts["missing_value"]
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

import pandas as pd

from recsys_causal.checks import unique_units
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import EstimatesView, EstimateTable
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

    def __repr__(self) -> str:
        r = self.randomization
        lines = [f"SwitchbackReadout({self.design.kind} design, m={self.carryover_order}, "
                 f"burn-in {self.burn_in_minutes:g} min, {len(self.blocks)} blocks, events {self.counts})"]
        lines += [f"  {e!r}" for e in self.estimates]
        lines.append(f"  randomization test: p={r.p_value:.4g} ({r.n_draws} draws), "
                     f"{100 * (1 - r.alpha):.0f}% CI [{r.ci_low:.4g}, {r.ci_high:.4g}]")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self).splitlines()[0])}</p>" + self.estimates._repr_html_() + \
            self.carryover._repr_html_()


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
    design = design or SwitchbackDesign()
    sched = validate_schedule(schedule, design)
    if events is not None:
        blocks, counts = aggregate_events(events, sched, value_col=value_col, burn_in_minutes=burn_in_minutes,
                                          aggregate=aggregate, denominator_col=denominator_col)
    elif block_outcomes is not None:
        bo = block_outcomes.copy()
        bo["cluster"] = bo["cluster"].astype(str)
        bo["block_start"] = pd.to_datetime(bo["block_start"], utc=True, format="ISO8601")
        bo, _ = unique_units(bo[["cluster", "block_start", "y"]], ["cluster", "block_start"], table="block outcomes")
        blocks = sched.merge(bo, on=["cluster", "block_start"], how="left", validate="one_to_one")
        counts = {"blocks": len(blocks), "blocks_without_outcome": int(blocks["y"].isna().sum())}
    else:
        raise ConfigError("give events or block_outcomes", fix="pass the timestamped events or per-block outcomes")
    warnings = []
    if blocks["y"].isna().any():
        warnings.append(f"{int(blocks['y'].isna().sum())} blocks have no usable outcome (burn-in or missing) and "
                        "are left out of the design-based estimate")
    design_est = design_based_estimate(blocks, design, carryover_order, alpha=alpha)
    reg_est, _ = regression_estimate(blocks, carryover_order, alpha=alpha)
    ri = randomization_test(blocks, design, carryover_order, n_draws=n_draws, seed=seed, alpha=alpha)
    carry = carryover_table(blocks, design, max_carryover_order, alpha=alpha)
    table = EstimateTable([design_est, reg_est], title="Switchback: effect of always vs never treating")
    g_table = None
    if guardrails:
        if events is None:
            raise ConfigError("guardrails need timestamped events", fix="pass events= with the guardrail columns")
        from recsys_causal.experiments import Guardrail

        rows = []
        for g in guardrails:
            g_blocks, _ = aggregate_events(events, sched, value_col=g.value_col, burn_in_minutes=burn_in_minutes,
                                           aggregate=g.aggregate, denominator_col=g.denominator_col)
            est = design_based_estimate(g_blocks, design, carryover_order, alpha=alpha)
            est = replace(est, name=f"guardrail {g.value_col}")
            rows.append(Guardrail(g.value_col, direction=g.direction, margin=g.margin, relative=False,
                                  alpha=alpha).evaluate(est))
        g_table = EstimateTable(rows, title="Switchback guardrails")
    return SwitchbackReadout(table, ri, carry, blocks, counts, design, carryover_order, burn_in_minutes, warnings,
                             g_table)

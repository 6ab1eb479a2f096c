"""A/B experiment analysis: SRM, lifts with intervals, CUPED, guardrails, multiplicity, sequential monitoring,
novelty decay and planning. See ``docs/ab.md``.

>>> from recsys_causal.experiments import analyze_ab, Guardrail
>>> from recsys_causal.simulate.ab import simulate_ab
>>> r = analyze_ab(simulate_ab(n_units=2000, seed=0).units, metrics=["revenue"],
...                expected_split={"control": 0.5, "treatment": 0.5})
>>> r.srm.flagged
False
"""

from recsys_causal.experiments.cuped import cuped_lift
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.horizons import HorizonReadout, analyze_horizons
from recsys_causal.experiments.means import mean_lift, proportion_lift
from recsys_causal.experiments.metric_base import as_metric
from recsys_causal.experiments.metric_quantile import Quantile
from recsys_causal.experiments.metric_types import Mean, Proportion, Ratio
from recsys_causal.experiments.novelty import (
    DecayFit,
    decay_from_panel,
    effect_by_day,
    effect_covariance,
    fit_decay,
    novelty_panel,
    plot_decay,
    plot_effect_by_day,
)
from recsys_causal.experiments.power import mde, power, proportion_sd, required_sample_size
from recsys_causal.experiments.pretreatment import check_pre_treatment
from recsys_causal.experiments.quantiles import quantile_lift
from recsys_causal.experiments.ratio import linearize, ratio_lift
from recsys_causal.experiments.readout import ABReadout, Metric, analyze_ab, analyze_by_window
from recsys_causal.experiments.sequential import (
    MonitoringPlan,
    cs_radius,
    cs_rho2,
    cs_z_boundary,
    cumulative_looks,
    monitoring_table,
    obf_spending,
    obrien_fleming_bounds,
)
from recsys_causal.experiments.srm import SRMResult, srm_from_counts, srm_test
from recsys_causal.experiments.surrogate import (
    SurrogateIndexResult,
    WeakSurrogateWarning,
    estimate_surrogate_index,
)
from recsys_causal.experiments.unit_metrics import (
    UnitMetrics,
    join_unit_tables,
    unit_metrics_from_log,
    windowed_unit_metrics,
)
from recsys_causal.kernel.multiplicity import adjust, adjust_by_hypothesis

__all__ = [
    "ABReadout",
    "DecayFit",
    "decay_from_panel",
    "Guardrail",
    "HorizonReadout",
    "Mean",
    "Metric",
    "MonitoringPlan",
    "Proportion",
    "Quantile",
    "Ratio",
    "SRMResult",
    "SurrogateIndexResult",
    "UnitMetrics",
    "WeakSurrogateWarning",
    "adjust",
    "adjust_by_hypothesis",
    "analyze_ab",
    "analyze_by_window",
    "analyze_horizons",
    "as_metric",
    "check_pre_treatment",
    "cs_radius",
    "cs_rho2",
    "cs_z_boundary",
    "cumulative_looks",
    "cuped_lift",
    "effect_by_day",
    "estimate_surrogate_index",
    "effect_covariance",
    "fit_decay",
    "join_unit_tables",
    "linearize",
    "mde",
    "mean_lift",
    "novelty_panel",
    "monitoring_table",
    "obf_spending",
    "obrien_fleming_bounds",
    "plot_decay",
    "plot_effect_by_day",
    "power",
    "proportion_lift",
    "proportion_sd",
    "quantile_lift",
    "ratio_lift",
    "required_sample_size",
    "srm_from_counts",
    "srm_test",
    "unit_metrics_from_log",
    "windowed_unit_metrics",
]

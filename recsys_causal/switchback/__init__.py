"""Switchback experiments: schedules and designs, burn-in, design-based and regression estimators,
randomization inference and carryover diagnostics."""

from recsys_causal.switchback.analysis import SwitchbackGuardrail, SwitchbackReadout, analyze_switchback
from recsys_causal.switchback.blocks import aggregate_events
from recsys_causal.switchback.design import make_schedule
from recsys_causal.switchback.estimators import carryover_table, design_based_estimate, regression_estimate
from recsys_causal.switchback.from_log import switchback_events_from_log, switchback_log_from_events
from recsys_causal.switchback.randomization import RandomizationResult, randomization_test
from recsys_causal.switchback.schedule import (
    ScheduleError,
    SwitchbackDesign,
    minimax_coins,
    validate_schedule,
)

__all__ = [
    "RandomizationResult",
    "ScheduleError",
    "SwitchbackDesign",
    "SwitchbackGuardrail",
    "SwitchbackReadout",
    "aggregate_events",
    "analyze_switchback",
    "carryover_table",
    "design_based_estimate",
    "make_schedule",
    "minimax_coins",
    "randomization_test",
    "regression_estimate",
    "switchback_events_from_log",
    "switchback_log_from_events",
    "validate_schedule",
]

"""recsys-causal: causal evaluation and experimentation for recommender systems, from decision logs.

>>> import recsys_causal as rc
>>> sim = rc.simulate_decision_log(n_requests=50, n_candidates=5, slate_size=2, seed=0)
>>> log, report = rc.read_decision_log(sim.log.to_long_frame(), require_propensity=True)
>>> report.reconciles()
True
"""

from __future__ import annotations

import logging as _logging
from typing import TYPE_CHECKING, Any

from recsys_causal.caveats import AssumptionWarning, DataQualityWarning, StatisticalWarning, SupportWarning
from recsys_causal.errors import (
    ConfigError,
    DataValidationError,
    EstimationError,
    InputFileError,
    OutputError,
    RecsysCausalError,
    SchemaError,
)
from recsys_causal.version import package_version

if TYPE_CHECKING:  # every other public name, imported on first use (see __getattr__ below)
    from recsys_causal.estimate import Estimate, EstimateTable
    from recsys_causal.experiments import (
        ABReadout,
        Guardrail,
        HorizonReadout,
        Metric,
        MonitoringPlan,
        SRMResult,
        analyze_ab,
        analyze_horizons,
        monitoring_table,
        srm_test,
        unit_metrics_from_log,
    )
    from recsys_causal.experiments.surrogate import (
        SurrogateIndexResult,
        WeakSurrogateWarning,
        estimate_surrogate_index,
    )
    from recsys_causal.frames import FrameTypeError, to_pandas
    from recsys_causal.incrementality import (
        HoldoutReadout,
        analyze_holdout,
        holdout_mde,
        holdout_units_from_log,
        holdout_units_needed,
    )
    from recsys_causal.incrementality.complier import ComplierReadout, complier_effects
    from recsys_causal.logs import (
        DecisionLog,
        LabelSpec,
        LogFilters,
        ReadResult,
        Reason,
        ValidationIssue,
        ValidationReport,
        attach_labels,
        lifecycle_segment,
        read_decision_log,
        write_decision_log,
        write_partitioned_log,
    )
    from recsys_causal.ope import (
        Estimator,
        OPEResult,
        SupportReport,
        TargetPolicy,
        available_estimators,
        evaluate_policies,
        get_estimator,
    )
    from recsys_causal.results import IntervalError, ResultProtocol
    from recsys_causal.scale import (
        DuckDBEngine,
        SparkEngine,
        analyze_ab_sql,
        evaluate_policies_sql,
        unit_metrics_sql,
    )
    from recsys_causal.simulate import (
        SimulatedLog,
        simulate_decision_log,
        simulate_holdout,
        simulate_holdout_log,
        simulate_switchback,
    )
    from recsys_causal.simulate.longterm import SimulatedLongTerm, simulate_longterm
    from recsys_causal.switchback import (
        SwitchbackDesign,
        SwitchbackReadout,
        analyze_switchback,
        make_schedule,
    )


def _lazy_names() -> dict[str, str]:
    """Public name → module, read from the ``if TYPE_CHECKING:`` imports above (one list for type checkers and
    for the lazy loader)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    return {a.asname or a.name: str(node.module) for node in block.body if isinstance(node, ast.ImportFrom)
            for a in node.names}


_LAZY = _lazy_names()


def __getattr__(name: str) -> Any:
    """A public name imported from its module on first use (PEP 562), so ``import recsys_causal`` loads no
    numerical library; subpackages (``recsys_causal.ope``, ...) import on attribute access too."""
    import importlib
    import importlib.util

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = package_version()
_logging.getLogger(__name__).addHandler(_logging.NullHandler())  # the CLIs (or the application) configure output

__all__ = [
    "AssumptionWarning",
    "DataQualityWarning",
    "StatisticalWarning",
    "SupportWarning",
    "DuckDBEngine",
    "SparkEngine",
    "analyze_ab_sql",
    "evaluate_policies_sql",
    "unit_metrics_sql",
    "write_partitioned_log",
    "OPEResult",
    "SupportReport",
    "TargetPolicy",
    "evaluate_policies",
    "Estimator",
    "available_estimators",
    "get_estimator",
    "ABReadout",
    "Guardrail",
    "HorizonReadout",
    "Metric",
    "MonitoringPlan",
    "SRMResult",
    "analyze_ab",
    "analyze_horizons",
    "monitoring_table",
    "srm_test",
    "unit_metrics_from_log",
    "ComplierReadout",
    "ConfigError",
    "DataValidationError",
    "DecisionLog",
    "Estimate",
    "EstimateTable",
    "EstimationError",
    "HoldoutReadout",
    "IntervalError",
    "InputFileError",
    "OutputError",
    "LabelSpec",
    "LogFilters",
    "ReadResult",
    "Reason",
    "ResultProtocol",
    "RecsysCausalError",
    "SchemaError",
    "SimulatedLog",
    "SimulatedLongTerm",
    "SurrogateIndexResult",
    "SwitchbackDesign",
    "SwitchbackReadout",
    "ValidationIssue",
    "ValidationReport",
    "WeakSurrogateWarning",
    "analyze_holdout",
    "analyze_switchback",
    "attach_labels",
    "estimate_surrogate_index",
    "complier_effects",
    "holdout_mde",
    "holdout_units_needed",
    "holdout_units_from_log",
    "lifecycle_segment",
    "make_schedule",
    "read_decision_log",
    "simulate_decision_log",
    "simulate_holdout",
    "simulate_holdout_log",
    "simulate_longterm",
    "simulate_switchback",
    "write_decision_log",
    "FrameTypeError",
    "to_pandas",
]

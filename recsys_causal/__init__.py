"""recsys-causal: causal evaluation and experimentation for recommender systems, from decision logs.

>>> import recsys_causal as rc
>>> sim = rc.simulate_decision_log(n_requests=50, n_candidates=5, slate_size=2, seed=0)
>>> log, report = rc.read_decision_log(sim.log.to_long_frame(), require_propensity=True)
>>> report.reconciles()
True
"""

from recsys_causal.errors import (
    ConfigError,
    DataValidationError,
    EstimationError,
    InputFileError,
    OutputError,
    RecsysCausalError,
    SchemaError,
)
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments import (
    ABReadout,
    Guardrail,
    Metric,
    MonitoringPlan,
    SRMResult,
    analyze_ab,
    monitoring_table,
    srm_test,
    unit_metrics_from_log,
)
from recsys_causal.frames import FrameTypeError, to_pandas
from recsys_causal.incrementality import HoldoutReadout, analyze_holdout, holdout_mde, holdout_units_needed
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
    simulate_switchback,
)
from recsys_causal.switchback import SwitchbackDesign, SwitchbackReadout, analyze_switchback, make_schedule
from recsys_causal.version import package_version

__version__ = package_version()

__all__ = [
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
    "Metric",
    "MonitoringPlan",
    "SRMResult",
    "analyze_ab",
    "monitoring_table",
    "srm_test",
    "unit_metrics_from_log",
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
    "SwitchbackDesign",
    "SwitchbackReadout",
    "ValidationIssue",
    "ValidationReport",
    "analyze_holdout",
    "analyze_switchback",
    "attach_labels",
    "holdout_mde",
    "holdout_units_needed",
    "lifecycle_segment",
    "make_schedule",
    "read_decision_log",
    "simulate_decision_log",
    "simulate_holdout",
    "simulate_switchback",
    "write_decision_log",
    "FrameTypeError",
    "to_pandas",
]

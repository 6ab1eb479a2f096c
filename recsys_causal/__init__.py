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
    RecsysCausalError,
    SchemaError,
)
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.logs import (
    DecisionLog,
    LabelSpec,
    LogFilters,
    ReadResult,
    Reason,
    ValidationIssue,
    ValidationReport,
    attach_labels,
    read_decision_log,
    write_decision_log,
)
from recsys_causal.simulate import SimulatedLog, lifecycle_segment, simulate_decision_log

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataValidationError",
    "DecisionLog",
    "Estimate",
    "EstimateTable",
    "EstimationError",
    "InputFileError",
    "LabelSpec",
    "LogFilters",
    "ReadResult",
    "Reason",
    "RecsysCausalError",
    "SchemaError",
    "SimulatedLog",
    "ValidationIssue",
    "ValidationReport",
    "attach_labels",
    "lifecycle_segment",
    "read_decision_log",
    "simulate_decision_log",
    "write_decision_log",
]

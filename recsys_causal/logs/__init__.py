"""Decision logs: the data model, readers, validation, label windows and user segments."""

from recsys_causal.logs.labels import LabelSpec, attach_labels
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.readers import (
    LogFilters,
    ReadResult,
    read_decision_log,
    to_nested_table,
    write_decision_log,
    write_partitioned_log,
)
from recsys_causal.logs.report import Reason, ValidationIssue, ValidationReport
from recsys_causal.logs.segments import lifecycle_segment
from recsys_causal.logs.validation import ValidationOptions, validate_long_frame

__all__ = [
    "DecisionLog",
    "LabelSpec",
    "LogFilters",
    "ReadResult",
    "Reason",
    "ValidationIssue",
    "ValidationOptions",
    "ValidationReport",
    "attach_labels",
    "lifecycle_segment",
    "read_decision_log",
    "to_nested_table",
    "validate_long_frame",
    "write_decision_log",
    "write_partitioned_log",
]

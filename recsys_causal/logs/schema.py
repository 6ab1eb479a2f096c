"""Column names of the decision-log contract (documented in ``decision_logs/SCHEMA.md``).

>>> "request_id" in REQUEST_COLUMNS
True
"""

from __future__ import annotations

import re

#: Timestamp text that ends in a zone designator (``Z`` or an offset such as ``+02:00``).
TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")

REQUEST_ID = "request_id"
DECISION_TIME = "decision_time"
ITEM_ID = "item_id"
SHOWN = "shown"
POSITION = "position"
PROPENSITY = "propensity"
ELIGIBLE = "eligible"

#: Request-level columns: required first, then optional.
REQUIRED_REQUEST_COLUMNS: tuple[str, ...] = (REQUEST_ID, DECISION_TIME)
OPTIONAL_REQUEST_COLUMNS: tuple[str, ...] = (
    "user_id",
    "surface",
    "model_version",
    "ranking_policy_version",
    "exploration_policy_version",
    "experiment_id",
    "variant",
    "slate_propensity",
    "slate_id",
)
REQUEST_COLUMNS: tuple[str, ...] = REQUIRED_REQUEST_COLUMNS + OPTIONAL_REQUEST_COLUMNS

#: Candidate-level columns with a fixed meaning. ``pred_<name>`` columns are model predictions and
#: ``feature_<name>`` columns are candidate features; every other numeric candidate column is an outcome.
REQUIRED_CANDIDATE_COLUMNS: tuple[str, ...] = (ITEM_ID, SHOWN)
OPTIONAL_CANDIDATE_COLUMNS: tuple[str, ...] = (POSITION, "score", PROPENSITY, "sources", ELIGIBLE, "filter_reason",
                                               "prefix_propensity", "suppressed")
CANDIDATE_COLUMNS: tuple[str, ...] = REQUIRED_CANDIDATE_COLUMNS + OPTIONAL_CANDIDATE_COLUMNS

PREDICTION_PREFIX = "pred_"
FEATURE_PREFIX = "feature_"

#: Request-level string columns that identify the logging policy.
POLICY_VERSION_COLUMNS: tuple[str, ...] = ("ranking_policy_version", "exploration_policy_version", "model_version")


def is_outcome_column(name: str) -> bool:
    """Whether a candidate column holds an outcome (reward).

    >>> is_outcome_column("click"), is_outcome_column("pred_new"), is_outcome_column("score")
    (True, False, False)
    """
    return (
        name not in CANDIDATE_COLUMNS
        and name not in REQUEST_COLUMNS
        and not name.startswith(PREDICTION_PREFIX)
        and not name.startswith(FEATURE_PREFIX)
        and name != "candidates"
        and name != "predictions"
    )

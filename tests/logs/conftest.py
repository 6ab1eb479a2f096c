import pandas as pd
import pytest


def tiny_frame() -> pd.DataFrame:
    """Three requests, two candidates each, one shown per request; all valid."""
    return pd.DataFrame(
        {
            "request_id": ["r1", "r1", "r2", "r2", "r3", "r3"],
            "decision_time": ["2026-06-01T10:00:00Z"] * 2 + ["2026-06-01T11:00:00+02:00"] * 2
            + ["2026-06-02T09:30:00Z"] * 2,
            "user_id": ["u1", "u1", "u2", "u2", "u1", "u1"],
            "ranking_policy_version": ["v1"] * 6,
            "item_id": ["a", "b", "a", "c", "b", "c"],
            "shown": [True, False, True, False, False, True],
            "position": [1, None, 1, None, None, 1],
            "propensity": [0.7, None, 0.4, None, None, 0.9],
            "click": [1.0, None, 0.0, None, None, 1.0],
        }
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return tiny_frame()

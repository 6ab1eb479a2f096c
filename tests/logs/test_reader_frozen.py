"""The reader's result on hostile logs equals the result frozen before its fast paths (frames, dtypes, offsets,
counts, issues and quarantined rows), and the unchecked read of a clean Parquet log builds the same log."""

import json
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_logs import CASES, FROZEN, make_clean_parquet, read_case, record  # noqa: E402


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_equals_frozen_result(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log, report = read_case(name)
    want = json.loads((FROZEN / f"{name}.json").read_text())
    assert record(log, report) == want
    pd.testing.assert_frame_equal(log.requests, pd.read_parquet(FROZEN / f"{name}.requests.parquet"),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(log.candidates, pd.read_parquet(FROZEN / f"{name}.candidates.parquet"),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(report.quarantine.astype(str),
                                  pd.read_parquet(FROZEN / f"{name}.quarantine.parquet"), check_dtype=False)
    assert report.reconciles()


def test_unchecked_read_of_a_clean_log_builds_the_same_log(tmp_path):
    """The benchmark's baseline (no rule) and the checked reader agree on a clean grouped Parquet log."""
    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    from bench_read import UNCHECKED

    from recsys_causal import read_decision_log

    path = make_clean_parquet(tmp_path / "clean.parquet")
    scope: dict = {}
    exec(UNCHECKED, scope)
    log, report = read_decision_log(path, require_propensity=True, as_of="2026-07-01T00:00:00Z")
    assert report.n_requests_quarantined == 0
    for dictionary in (False, True):
        plain, nbytes = scope["read_unchecked"](str(path), dictionary=dictionary)
        assert nbytes > 0
        pd.testing.assert_frame_equal(log.requests, plain.requests)
        pd.testing.assert_frame_equal(log.candidates, plain.candidates)
        assert log.offsets.tolist() == plain.offsets.tolist() and log.reward_columns == plain.reward_columns

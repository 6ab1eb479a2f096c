"""Every reader format round-trips the same DecisionLog; bad files give clear errors; inputs stay untouched."""

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_causal import (
    InputFileError,
    LogFilters,
    read_decision_log,
    simulate_decision_log,
    write_decision_log,
)


@pytest.fixture(scope="module")
def base():
    sim = simulate_decision_log(n_requests=400, n_candidates=(2, 9), slate_size=3, seed=5)
    log, report = read_decision_log(sim.log.to_long_frame(), require_propensity=True)
    assert report.issues == []
    return log


def canonical(log):
    frame = log.to_long_frame()
    frame = frame[sorted(frame.columns)]
    return frame.sort_values(["request_id", "item_id"]).reset_index(drop=True)


def digest(path):
    h = hashlib.sha256()
    for p in sorted([path] if path.is_file() else path.rglob("*")):
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    "name, nested", [("long.parquet", False), ("long.csv", False), ("nested.parquet", True), ("nested.jsonl", True)]
)
def test_file_formats_round_trip(tmp_path, base, name, nested):
    path = write_decision_log(base, tmp_path / name, nested=nested)
    before = digest(path)
    log, report = read_decision_log(path, require_propensity=True)
    assert report.issues == [] and report.reconciles()
    pd.testing.assert_frame_equal(canonical(log), canonical(base), check_dtype=False)
    assert log.offsets.tolist() == base.offsets.tolist()
    assert log.reward_columns == base.reward_columns
    assert digest(path) == before  # input never modified


def test_hive_partitioned_directory_round_trips_and_pushes_filters(tmp_path, base):
    frame = base.to_long_frame()
    frame["day"] = frame["decision_time"].dt.strftime("%Y-%m-%d")
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "logs",
                        partition_cols=["day", "surface"])
    before = digest(tmp_path / "logs")
    log, _ = read_decision_log(tmp_path / "logs", require_propensity=True)
    got = canonical(log)[canonical(base).columns]
    pd.testing.assert_frame_equal(got, canonical(base), check_dtype=False)

    start, end = pd.Timestamp("2026-06-03T00:00:00Z"), pd.Timestamp("2026-06-06T00:00:00Z")
    filtered, _ = read_decision_log(tmp_path / "logs", filters=LogFilters(start=start, end=end, surfaces=["home"]))
    req = base.requests
    expected = req[(req.decision_time >= start) & (req.decision_time < end) & (req.surface == "home")]
    assert sorted(filtered.request_ids) == sorted(expected.request_id)
    assert digest(tmp_path / "logs") == before


def test_dataframe_filters_are_reported(base):
    log, report = read_decision_log(base.to_long_frame(), filters=LogFilters(surfaces=["search"]))
    assert set(log.requests["surface"]) == {"search"}
    assert report.issue("filtered").count == int((base.to_long_frame()["surface"] != "search").sum())


def test_nested_jsonl_with_empty_candidate_list(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text(
        '{"request_id": "r1", "decision_time": "2026-06-01T10:00:00Z", "candidates": ['
        '{"item_id": "a", "shown": true, "position": 1, "propensity": 0.5, "click": 1, "sources": ["popular", "cf"],'
        ' "predictions": {"new": 0.3}}, {"item_id": "b", "shown": false, "predictions": {"new": 0.9}}]}\n'
        '{"request_id": "r2", "decision_time": "2026-06-01T10:05:00Z", "candidates": []}\n'
    )
    log, report = read_decision_log(path, require_propensity=True)
    assert log.n_requests == 1 and report.issue("empty_request").examples == ("r2",)
    assert log.candidates["pred_new"].tolist() == [0.3, 0.9]
    assert log.candidates["sources"].tolist()[0] == "popular|cf"


def write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: d / "missing.parquet", "does not exist"),
        (lambda d: d, "no .parquet files"),
        (lambda d: write(d / "empty.csv", b""), "file is empty"),
        (lambda d: write(d / "t.parquet", b"PAR1\x00\x01garbage"), "cannot be read as parquet"),
        (lambda d: write(d / "latin.csv", "request_id,item_id\nr\xe9,a\n".encode("latin-1")), "not valid UTF-8"),
        (lambda d: write(d / "bad.jsonl", b'{"request_id": "r1", "candidates": [\n'), "cannot be read as jsonl"),
    ],
)
def test_bad_files_raise_input_file_error(tmp_path, setup, message):
    path = setup(tmp_path)
    with pytest.raises(InputFileError) as err:
        read_decision_log(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_truncated_parquet(tmp_path, base):
    path = write_decision_log(base, tmp_path / "full.parquet")
    data = path.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="complete"):
        read_decision_log(tmp_path / "cut.parquet")


def test_output_written_atomically_and_unwritable_directory(tmp_path, base):
    with pytest.raises(InputFileError, match="does not exist"):
        write_decision_log(base, tmp_path / "nope" / "x.parquet")
    write_decision_log(base, tmp_path / "x.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


def test_memory_is_proportional_to_rows(base):
    """The log holds flat columns only: bytes per candidate row do not grow with catalogue or slate size."""
    per_row = base.candidates.memory_usage(deep=True).sum() / base.n_candidates
    assert per_row < 400
    assert base.offsets.nbytes == 8 * (base.n_requests + 1)
    assert np.all(np.diff(base.offsets) == base.sizes)

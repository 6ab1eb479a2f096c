"""Every validation rule: a malformed input, the reason code, the count, the example ids and the message."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal import SchemaError, read_decision_log
from recsys_causal.logs import Reason


def quarantined(report, code):
    issue = report.issue(code)
    assert issue.severity == "quarantine"
    return issue


def test_clean_frame_has_no_issues(frame):
    log, report = read_decision_log(frame, require_propensity=True)
    assert report.issues == []
    assert (report.n_requests_read, report.n_requests_used, report.n_requests_quarantined) == (3, 3, 0)
    assert log.offsets.tolist() == [0, 2, 4, 6]
    # +02:00 is converted to UTC
    assert log.requests["decision_time"].iloc[1] == pd.Timestamp("2026-06-01T09:00:00Z")


@pytest.mark.parametrize("column", ["request_id", "decision_time", "item_id", "shown"])
def test_missing_required_column_is_fatal(frame, column):
    with pytest.raises(SchemaError) as err:
        read_decision_log(frame.drop(columns=[column]))
    assert column in str(err.value) and "SCHEMA.md" in str(err.value)
    assert err.value.code == "missing_column"


@pytest.mark.parametrize(("rename", "call", "headline", "near"), [
    ({"decision_time": "decison_time"}, {}, "missing required column(s) ['decision_time']", "decison_time"),
    ({"click": "clicks"}, {"rewards": ["click"]}, "reward column 'click' does not exist", "clicks"),
    ({"user_id": "userid"}, {"unit_column": "user_id"}, "unit column 'user_id' does not exist", "userid"),
], ids=["required", "reward", "unit"])
def test_missing_column_names_nearest_match_and_existing_columns(frame, rename, call, headline, near):
    """A misspelt column: the message names the column and the nearest existing one, the fix lists the columns."""
    with pytest.raises(SchemaError) as err:
        read_decision_log(frame.rename(columns=rename), **call)
    e = err.value
    assert e.message == f"{headline} (did you mean {near!r}?)"
    assert e.code == "missing_column" and e.count == 1 and e.column == headline.split("'")[1]
    assert e.source == "DataFrame" and f"'{near}'" in e.fix and "existing columns" in e.fix


def test_missing_propensity_column_when_required(frame):
    with pytest.raises(SchemaError, match="propensity"):
        read_decision_log(frame.drop(columns=["propensity"]), require_propensity=True)


def test_naive_timestamp_is_fatal_with_examples_and_fix(frame):
    frame["decision_time"] = "2026-06-01 10:00:00"
    with pytest.raises(SchemaError) as err:
        read_decision_log(frame)
    msg = str(err.value)
    assert "6 decision_time values have no timezone" in msg and "'r1'" in msg and "assume_timezone" in msg
    log, _ = read_decision_log(frame, assume_timezone="Europe/Berlin")
    assert log.requests["decision_time"].iloc[0] == pd.Timestamp("2026-06-01T08:00:00Z")


def test_numeric_timestamp_is_fatal(frame):
    frame["decision_time"] = 1.7e9
    with pytest.raises(SchemaError, match="numeric"):
        read_decision_log(frame)


def test_unparsable_timestamp_quarantines_request(frame):
    frame.loc[frame.request_id == "r2", "decision_time"] = "not a time"
    log, report = read_decision_log(frame)
    issue = quarantined(report, Reason.UNPARSABLE_TIMESTAMP)
    assert (issue.count, issue.examples) == (1, ("r2",))
    assert report.quarantine_counts == {"unparsable_timestamp": 1}
    assert log.request_ids.tolist() == ["r1", "r3"]


def test_future_timestamp(frame):
    log, report = read_decision_log(frame, as_of="2026-06-02T00:00:00Z")
    issue = quarantined(report, Reason.FUTURE_TIMESTAMP)
    assert (issue.count, issue.examples) == (1, ("r3",))


def test_duplicate_candidate(frame):
    extra = frame.iloc[[1]].copy()
    log, report = read_decision_log(pd.concat([frame, extra], ignore_index=True))
    issue = quarantined(report, Reason.DUPLICATE_CANDIDATE)
    assert (issue.count, issue.examples) == (1, ("r1",))
    assert "retries" in issue.fix
    assert report.n_rows_read == 7 and report.n_rows_used == 4 and report.n_rows_quarantined == 3


def test_duplicate_position(frame):
    frame.loc[1, ["shown", "position", "propensity", "click"]] = [True, 1, 0.2, 0.0]
    _, report = read_decision_log(frame)
    issue = quarantined(report, Reason.DUPLICATE_POSITION)
    assert (issue.count, issue.examples) == (1, ("r1",))


def test_shown_without_position(frame):
    frame.loc[0, "position"] = None
    _, report = read_decision_log(frame)
    issue = quarantined(report, Reason.SHOWN_WITHOUT_POSITION)
    assert (issue.count, issue.examples, issue.column) == (1, ("r1",), "position")


def test_invalid_position(frame):
    frame.loc[0, "position"] = 0
    frame.loc[2, "position"] = 1.5
    _, report = read_decision_log(frame)
    issue = quarantined(report, Reason.INVALID_POSITION)
    assert (issue.count, set(issue.examples)) == (2, {"r1", "r2"})


@pytest.mark.parametrize("bad", [None, np.nan, 0.0, -0.1, 1.5])
def test_invalid_propensity_on_shown(frame, bad):
    frame.loc[2, "propensity"] = bad
    log, report = read_decision_log(frame, require_propensity=True)
    issue = quarantined(report, Reason.INVALID_PROPENSITY)
    assert (issue.count, issue.examples) == (1, ("r2",))
    assert "<= 0 or > 1" in issue.message
    # not required: kept
    _, report2 = read_decision_log(frame, require_propensity=False)
    assert not report2.has(Reason.INVALID_PROPENSITY)


def test_propensity_sum_above_one_over_candidate_set(frame):
    # single-slot log: the not-shown candidate carries its probability for position 1
    frame.loc[1, ["position", "propensity"]] = [1, 0.5]  # 0.7 + 0.5 > 1
    frame.loc[3, ["position", "propensity"]] = [1, 0.6]  # 0.4 + 0.6 = 1 exactly: fine
    _, report = read_decision_log(frame, require_propensity=True)
    issue = quarantined(report, Reason.PROPENSITY_SUM_EXCEEDS_ONE)
    assert (issue.count, issue.examples) == (1, ("r1",))
    _, report2 = read_decision_log(frame, require_propensity=True, full_candidate_set=False)
    assert not report2.has(Reason.PROPENSITY_SUM_EXCEEDS_ONE)


def test_shown_ineligible_is_a_warning_and_rows_are_kept(frame):
    frame["eligible"] = True
    frame.loc[0, "eligible"] = False
    log, report = read_decision_log(frame)
    issue = report.issue(Reason.SHOWN_INELIGIBLE)
    assert (issue.severity, issue.count, issue.examples) == ("warning", 1, ("r1",))
    assert log.n_requests == 3


def test_request_with_no_candidates(frame):
    empty = pd.DataFrame({"request_id": ["r4"], "decision_time": ["2026-06-03T00:00:00Z"],
                          "ranking_policy_version": ["v1"]})
    log, report = read_decision_log(pd.concat([frame, empty], ignore_index=True))
    issue = quarantined(report, Reason.EMPTY_REQUEST)
    assert (issue.count, issue.examples) == (1, ("r4",))
    assert report.n_requests_read == 4 and log.n_requests == 3


def test_mixed_policy_versions_warns_and_offers_stratification(frame):
    frame.loc[frame.request_id == "r3", "ranking_policy_version"] = "v2"
    log, report = read_decision_log(frame)
    issue = report.issue(Reason.MIXED_POLICY_VERSIONS)
    assert issue.severity == "warning" and "stratify" in issue.fix and "v1: 2" in issue.message
    parts = log.stratify("ranking_policy_version")
    assert {k: v.n_requests for k, v in parts.items()} == {"v1": 2, "v2": 1}


def test_outcome_on_unshown_candidate(frame):
    frame.loc[1, "click"] = 1.0
    _, report = read_decision_log(frame)
    issue = quarantined(report, Reason.OUTCOME_ON_UNSHOWN)
    assert (issue.count, issue.examples) == (1, ("r1",))


def test_inconsistent_request_fields(frame):
    frame.loc[1, "user_id"] = "someone_else"
    _, report = read_decision_log(frame)
    assert quarantined(report, Reason.INCONSISTENT_REQUEST_FIELDS).examples == ("r1",)


def test_rows_without_request_id_are_quarantined_not_dropped(frame):
    frame.loc[5, "request_id"] = None
    log, report = read_decision_log(frame)
    issue = report.issue(Reason.MISSING_REQUEST_ID)
    assert (issue.count, issue.unit) == (1, "rows")
    assert report.n_rows_read == report.n_rows_used + report.n_rows_quarantined == 6
    assert report.quarantine["quarantine_reason"].tolist() == ["missing_request_id"]


def test_invalid_shown_values(frame):
    frame["shown"] = frame["shown"].astype(object)
    frame.loc[0, "shown"] = "maybe"
    _, report = read_decision_log(frame)
    assert quarantined(report, Reason.INVALID_SHOWN).examples == ("r1",)


def test_non_numeric_reward_column_named_explicitly(frame):
    frame["click"] = frame["click"].astype(object)
    frame.loc[0, "click"] = "yes"
    with pytest.raises(SchemaError) as err:
        read_decision_log(frame, rewards=["click"])
    assert "1 non-numeric" in str(err.value) and "'r1'" in str(err.value)


def test_counts_reconcile_with_several_reasons_on_one_request(frame):
    """A request hit by two rules is counted once, under the first reason in the documented order."""
    frame.loc[0, "position"] = None  # shown without position
    frame.loc[1, "click"] = 1.0  # outcome on unshown, same request
    frame.loc[2, "propensity"] = 2.0  # invalid propensity
    log, report = read_decision_log(frame, require_propensity=True)
    assert report.quarantine_counts == {"shown_without_position": 1, "invalid_propensity": 1}
    assert report.issue(Reason.OUTCOME_ON_UNSHOWN).count == 1
    assert report.reconciles()
    assert report.n_requests_read == log.n_requests + report.n_requests_quarantined
    assert set(report.quarantine["quarantine_reason"]) == {"shown_without_position", "invalid_propensity"}
    frame_counts = report.counts().set_index("requests")["count"].to_dict()
    assert frame_counts["read"] == 3 and frame_counts["used"] == 1


def test_quarantine_written_atomically(tmp_path, frame):
    frame.loc[0, "position"] = None
    _, report = read_decision_log(frame)
    out = report.write_quarantine(tmp_path / "q.parquet")
    back = pd.read_parquet(out)
    assert back["quarantine_reason"].tolist() == ["shown_without_position"] * 2
    assert [p.name for p in tmp_path.iterdir()] == ["q.parquet"]


def test_report_repr_and_frame(frame):
    frame.loc[0, "position"] = None
    _, report = read_decision_log(frame)
    assert "1 quarantined" in repr(report)
    assert report.to_frame()["code"].tolist() == ["shown_without_position"]
    assert "<table" in report._repr_html_()


def test_log_column_lookups_name_nearest_match(frame):
    """DecisionLog.column / request_column / reward and from_frames: one missing-column check, nearest match."""
    from recsys_causal.logs.model import DecisionLog

    log, _ = read_decision_log(frame)
    cases = [(lambda: log.column("clik"), "candidate column 'clik' does not exist (did you mean 'click'?)"),
             (lambda: log.request_column("user"), "request column 'user' does not exist (did you mean 'user_id'?)"),
             (lambda: log.reward("clicks"), "reward column 'clicks' does not exist (did you mean 'click'?)"),
             (lambda: DecisionLog.from_frames(log.requests, log.candidates, source="c.parquet"),  # no request_id
              "candidate table has no column(s) ['request_id']")]
    for call, message in cases:
        with pytest.raises(SchemaError) as err:
            call()
        assert err.value.message == message and "existing columns" in err.value.fix


def test_missing_propensity_is_not_matched_to_another_schema_column(frame):
    """slate_propensity (a joint slate probability) is never offered in place of a missing propensity."""
    with pytest.raises(SchemaError) as err:
        read_decision_log(frame.drop(columns=["propensity"]).assign(slate_propensity=0.5), require_propensity=True)
    assert err.value.message == "missing required column(s) ['propensity']"

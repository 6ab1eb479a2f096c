"""One "missing columns" check (recsys_causal.checks.require_columns) behind every analysis that reads columns:
each names what lacks which column, the nearest existing match and the existing columns, with a typed error."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError, SchemaError

UNITS = pd.DataFrame({"user_id": ["a", "b"], "variant": ["control", "treatment"], "revenue": [1.0, 2.0],
                      "converted": [0, 1]})


def test_helper_message_fix_and_column():
    with pytest.raises(SchemaError) as info:
        require_columns(UNITS, ["revenue", "revenu", "clicks"], what="unit table", source="units.csv")
    err = info.value
    assert err.message == "unit table has no column(s) ['revenu', 'clicks'] (did you mean 'revenue'?)"
    assert err.source == "units.csv" and err.column == "revenu"
    assert err.fix == ("pass one of the existing columns ['converted', 'revenue', 'user_id', 'variant'] "
                       "or add the column")


def test_helper_accepts_column_names_keys_and_error_type():
    require_columns(["a", "b"], ["b", "a", "a"])  # engine views pass their column names; repeats are fine
    with pytest.raises(ConfigError) as info:
        require_columns(UNITS, {"revenu": "metrics.primary[0].name", "x": "segments[0]"}, what="the unit table",
                        keys={"revenu": "metrics.primary[0].name", "x": "segments[0]"}, error=ConfigError,
                        fix="fix the YAML")
    err = info.value
    assert err.message == ("metrics.primary[0].name: column 'revenu' is not in the unit table (did you mean "
                           "'revenue'?) (and 1 more: ['x'])")
    assert err.column == "metrics.primary[0].name"
    assert err.fix.startswith("fix the YAML (existing columns: ['converted',")


def test_helper_message_reserved_and_count():
    """``message`` sets the opening words, ``reserved`` columns are never the nearest match, ``count`` counts."""
    with pytest.raises(SchemaError) as info:
        require_columns(["slate_propensity", "clicks"], ["propensity", "click"], source="log.csv",
                        message="missing required column(s) {missing}, first {first!r}", code="missing_column")
    err = info.value
    assert err.message == ("missing required column(s) ['propensity', 'click'], first 'propensity' "
                           "(did you mean 'slate_propensity'?)")
    assert (err.count, err.column, err.code, err.source) == (2, "propensity", "missing_column", "log.csv")
    with pytest.raises(SchemaError) as info:
        require_columns(["slate_propensity", "clicks"], ["propensity"], reserved=["slate_propensity"])
    assert info.value.message == "unit table has no column(s) ['propensity']"
    assert "'slate_propensity'" in info.value.fix  # still listed among the existing columns


def _holdout():
    from recsys_causal import analyze_holdout

    analyze_holdout(pd.DataFrame({"group": ["holdout", "treated"], "exposed": [0, 1], "converted": [0, 1]}),
                    outcome_col="convreted")


def _schedule():
    from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule

    validate_schedule(pd.DataFrame({"clustr": ["c"], "block_start": ["2026-06-01T00:00Z"],
                                    "block_end": ["2026-06-01T01:00Z"], "treated": [True]}),
                      SwitchbackDesign())


def _events():
    from recsys_causal.switchback.blocks import aggregate_events

    aggregate_events(pd.DataFrame({"cluster": ["c"], "event_time": ["2026-06-01T00:10Z"], "valeu": [1.0]}),
                     pd.DataFrame())


def _labels():
    from recsys_causal import DecisionLog, attach_labels

    req = pd.DataFrame({"request_id": ["r"], "decision_time": pd.to_datetime(["2026-06-01T00:00Z"])})
    cand = pd.DataFrame({"request_id": ["r"], "item_id": ["i"], "shown": [True], "position": [1.0]})
    attach_labels(DecisionLog.from_frames(req, cand), pd.DataFrame({"request_id": ["r"], "item_id": ["i"],
                  "event": ["click"], "event_tme": ["2026-06-01T00:01Z"]}), ["click@1h"])


def _segments():
    from recsys_causal.hte import segment_effects

    segment_effects(UNITS, metrics=["revenu"])


def _cate():
    from recsys_causal.hte import fit_cate

    fit_cate(UNITS, outcome="revenu", treatment="converted", covariates=[])


def _engine():
    import duckdb

    from recsys_causal.scale import DuckDBEngine

    con = duckdb.connect()
    con.register("units_view", UNITS)
    DuckDBEngine(con, "units_view", "units.parquet").require(["revenu"], what="unit table")


@pytest.mark.parametrize(("call", "typo", "near"), [
    (_holdout, "convreted", "converted"), (_schedule, "cluster", "clustr"), (_events, "value", "valeu"),
    (_labels, "event_time", "event_tme"), (_segments, "revenu", "revenue"), (_cate, "revenu", "revenue"),
    (_engine, "revenu", "revenue"),
], ids=["holdout", "switchback schedule", "switchback events", "outcome events", "segments", "cate", "engine"])
def test_every_call_site_names_column_nearest_match_and_existing_columns(call, typo, near):
    with pytest.raises(SchemaError) as info:
        call()
    err = info.value
    assert f"no column(s) ['{typo}'" in err.message and f"(did you mean '{near}'?)" in err.message
    assert err.column == typo and f"'{near}'" in err.fix and "existing columns" in err.fix

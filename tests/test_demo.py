"""The main job on the shipped example runs end to end and its counts reconcile."""

import json
import shutil
from pathlib import Path

import pandas as pd

from recsys_causal.demo import main
from recsys_causal.simulate.sample import make_dirty

ROOT = Path(__file__).resolve().parent.parent


def test_demo_on_shipped_sample(tmp_path, capsys):
    data = ROOT / "decision_logs"
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    assert main([str(data), str(tmp_path)]) == 0
    result = json.loads((tmp_path / "sample_validation.json").read_text())
    assert result["sample"]["requests"] == 4000
    dirty = result["dirty_sample"]
    assert dirty["reconciles"] and dirty["read"] == 30
    # one request per injected quarantine bug (see make_dirty), two for the propensity bugs
    assert dirty["quarantined_by_reason"] == {
        "unparsable_timestamp": 1, "duplicate_candidate": 1, "shown_without_position": 1,
        "invalid_propensity": 2, "outcome_on_unshown": 1,
    }
    assert {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} == before
    written = sorted(p.name for p in tmp_path.iterdir())
    longterm = json.loads((tmp_path / "longterm_report.json").read_text())["longterm"]
    units = {u["horizon_days"]: u for u in longterm["units"]}
    assert longterm["horizons_days"] == [7, 14, 30] and units[30]["units_immature"] > 0
    assert units[30]["units_used"] < units[7]["units_used"] and all(u["reconciles"] for u in units.values())
    assert written == sorted(["sample_dirty_quarantine.csv", "sample_validation.json"]
                             + [f"{d}_report.{x}" for d in ("ab", "holdout", "holdout_log", "switchback", "longterm")
                                for x in ("html", "json")])


def test_demo_missing_data_exits_2_without_traceback(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_shipped_dirty_sample_is_reproducible(tmp_path):
    shutil.copy(ROOT / "decision_logs" / "sample_dirty.csv", tmp_path / "shipped.csv")
    make_dirty().to_csv(tmp_path / "again.csv", index=False)
    again, shipped = (pd.read_csv(tmp_path / f, dtype=str) for f in ("again.csv", "shipped.csv"))
    assert list(again.columns) == list(shipped.columns) and again.shape == shipped.shape
    numeric = [c for c in shipped.columns if pd.to_numeric(shipped[c], errors="coerce").notna().sum()
               == shipped[c].notna().sum() and shipped[c].notna().any()]
    # text columns are identical; floats may differ in the last printed digit between numpy builds
    pd.testing.assert_frame_equal(again.drop(columns=numeric), shipped.drop(columns=numeric))
    pd.testing.assert_frame_equal(again[numeric].astype(float), shipped[numeric].astype(float), rtol=1e-12)

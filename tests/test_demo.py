"""The main job on the shipped example runs end to end and its counts reconcile."""

import json
import shutil
from pathlib import Path

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
    assert written == sorted(["sample_dirty_quarantine.csv", "sample_validation.json"]
                             + [f"{d}_report.{x}" for d in ("ab", "holdout", "switchback") for x in ("html", "json")])


def test_demo_missing_data_exits_2_without_traceback(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_shipped_dirty_sample_is_reproducible(tmp_path):
    shutil.copy(ROOT / "decision_logs" / "sample_dirty.csv", tmp_path / "shipped.csv")
    make_dirty().to_csv(tmp_path / "again.csv", index=False)
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "shipped.csv").read_text()

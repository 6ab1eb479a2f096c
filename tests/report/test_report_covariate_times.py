"""covariate_times / first_exposure in the shipped A/B example (decision-log path): the pre-treatment check runs
from the YAML against each unit's first exposure built from the log."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from recsys_causal.report.cli import main


def _run(example_dir, extra: dict, name: str) -> int:
    cfg = yaml.safe_load((example_dir / "ab.yaml").read_text())
    cfg.pop("ope_screen", None)
    cfg.pop("novelty", None)
    cfg.update(extra)
    path = example_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return main([str(path), "--quiet", "--out", str(example_dir / f"{name}.html"),
                 "--json", str(example_dir / f"{name}.json")])


def test_covariate_times_from_the_yaml_on_the_decision_log_path(example_dir, capsys):
    users_path = example_dir.parent.parent / "decision_logs" / "sample_ab_users.parquet"
    users = pd.read_parquet(users_path)
    users["pre_clicks_at"] = pd.Timestamp("2026-05-31T00:00:00Z")  # the log starts on 2026-06-01
    users.to_parquet(users_path)
    assert _run(example_dir, {"covariate_times": {"pre_clicks": "pre_clicks_at"}}, "ok") in (0, 1, 3)
    rows = json.loads((example_dir / "ok.json").read_text())["metrics"]
    assert all(r["method"].startswith("cuped") for r in rows)
    # one declared time inside the experiment: units first exposed before it are refused, by name
    assert _run(example_dir, {"covariate_times": {"pre_clicks": "2026-06-05T00:00:00Z"}}, "late") == 2
    err = capsys.readouterr().err
    assert "covariate 'pre_clicks' is measured after first exposure" in err and "Traceback" not in err
    # a first_exposure column that does not exist is a config error naming the key
    assert _run(example_dir, {"covariate_times": {"pre_clicks": "pre_clicks_at"}, "first_exposure": "nope"},
                "nokey") == 2
    assert "first_exposure" in capsys.readouterr().err

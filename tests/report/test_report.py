"""causal-report end to end: HTML numbers equal JSON numbers, schema, decisions, errors, escaping."""

import json
import time
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml
from report_tables import ROOT, parse_tables

from recsys_causal.report import build_report, main
from recsys_causal.report.render import fmt

SCHEMA = json.loads((ROOT / "recsys_causal" / "schemas" / "report.schema.json").read_text())


@pytest.mark.parametrize("design", ["ab", "holdout", "switchback"])
def test_examples_render_and_html_equals_json(example_dir, design):
    start = time.perf_counter()
    html_path, json_path, _ = build_report(example_dir / f"{design}.yaml")
    assert time.perf_counter() - start < 60
    data = json.loads(json_path.read_text())
    jsonschema.validate(data, SCHEMA)
    html = html_path.read_text()
    tables = parse_tables(html)
    assert f'id="verdict">{data["decision"]["verdict"]}<' in html
    if design == "ab":
        rows = tables["metrics-table"][1:]
        assert [r[6] for r in rows] == [fmt(m["value"]) for m in data["metrics"]]
        assert [r[7] for r in rows] == [f"[{fmt(m['ci_low'])}, {fmt(m['ci_high'])}]" for m in data["metrics"]]
        assert [r[9] for r in rows] == [fmt(m["p_adjusted"]) for m in data["metrics"]]
        g_rows = tables["guardrails-table"][1:]
        assert [r[6] for r in g_rows] == [g["verdict"] for g in data["guardrails"]]
        assert [r[3] for r in g_rows] == [fmt(g["harm"]) for g in data["guardrails"]]
        s_rows = tables["segments-table"][1:]
        assert [r[4] for r in s_rows] == [fmt(e["value"]) for e in data["segments"]["effects"]]
        srm = tables["srm"][1]
        assert srm[-2] == fmt(data["data_quality"]["srm"]["p_value"])
        o_rows = tables["ope-table"][1:]
        assert [r[2] for r in o_rows] == [c["verdict"] for c in data["ope"]["candidates"]]
        assert [r[3] for r in o_rows] == [fmt(c["primary"]["value"]) for c in data["ope"]["candidates"]]
        n_rows = tables["novelty-table"][1:]
        assert [r[1] for r in n_rows] == [fmt(d["effect"]) for d in data["novelty"]["by_day"]]
    elif design == "holdout":
        rows = tables["holdout-table"][1:]
        assert [r[1] for r in rows] == [fmt(e["value"]) for e in data["holdout"]["estimates"]]
    else:
        rows = tables["switchback-table"][1:]
        assert [r[1] for r in rows[:-1]] == [fmt(e["value"]) for e in data["switchback"]["estimates"]]
        assert rows[-1][3] == fmt(data["switchback"]["randomization"]["p_value"])
    repro = dict(tables["reproducibility"][1:])
    assert repro["config sha256"] == data["reproducibility"]["config_sha256"]
    assert "<script" not in html.lower() and "http://" not in html.replace("http://www.w3.org", "")


def test_ab_numbers_match_the_analysis_api(example_dir):
    """The report's lift equals a direct call of the A/B readout on the same units."""
    from recsys_causal import read_decision_log
    from recsys_causal.experiments import Metric, analyze_ab, unit_metrics_from_log

    _, json_path, _ = build_report(example_dir / "ab.yaml")
    data = json.loads(json_path.read_text())
    log, _ = read_decision_log(example_dir.parent.parent / "decision_logs" / "sample_ab_decision_log.parquet")
    um = unit_metrics_from_log(log, window="7D", as_of="2026-06-20T00:00:00Z")
    users = pd.read_parquet(example_dir.parent.parent / "decision_logs" / "sample_ab_users.parquet")
    r = analyze_ab(um.units.merge(users, on="user_id"), metrics=[Metric.ratio("ctr", "click", "impressions")],
                   covariates=["pre_clicks"], expected_split={"control": 0.5, "treatment": 0.5}, unit_col="user_id")
    direct = r.lift("ctr", relative=True)
    reported = next(m for m in data["metrics"] if m["metric"] == "ctr" and m["lift"] == "relative")
    assert reported["value"] == pytest.approx(direct.value, rel=1e-12)
    assert reported["ci_low"] == pytest.approx(direct.ci_low, rel=1e-12)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def load_example(example_dir, name="ab"):
    return yaml.safe_load((example_dir / f"{name}.yaml").read_text())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.update(colour="red"), "unknown key 'colour'"),
        (lambda c: c["experiment"].update(design="bandit"), "experiment.design"),
        (lambda c: c.update(alpha="high"), "alpha"),
        (lambda c: c["data"].update(decision_log="missing.parquet"), "data.decision_log: file 'missing.parquet'"),
        (lambda c: c.pop("metrics"), "needs a metrics section"),
        (lambda c: c["guardrails"][0].update(margin=-1), "guardrails[0].margin"),
    ],
)
def test_config_errors_exit_2_without_traceback_and_no_output(example_dir, capsys, mutate, message):
    cfg = load_example(example_dir)
    mutate(cfg)
    path = write_config(example_dir / "bad.yaml", cfg)
    out = example_dir / "x.html"
    assert main([str(path), "--out", str(out), "--json", str(example_dir / "x.json"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists() and not (example_dir / "x.json").exists()


def test_yaml_alias_bomb_and_directory_paths_rejected(example_dir, capsys):
    bomb = example_dir / "bomb.yaml"
    bomb.write_text("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    assert main([str(bomb), "--quiet"]) == 2
    assert "aliases are not allowed" in capsys.readouterr().err
    assert main([str(example_dir), "--quiet"]) == 2
    assert "directory" in capsys.readouterr().err


def test_unwritable_output_directory(example_dir, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main([str(example_dir / "holdout.yaml"), "--out", str(blocker / "r.html"), "--quiet"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_hostile_strings_are_escaped(example_dir):
    data_dir = example_dir.parent.parent / "decision_logs"
    users = pd.read_parquet(data_dir / "sample_ab_users.parquet")
    hostile = "<script>alert('x')</script>"
    users.loc[users.region == "region_0", "region"] = hostile
    users.to_parquet(data_dir / "sample_ab_users.parquet")
    cfg = load_example(example_dir)
    cfg["experiment"]["name"] = "<img src=x onerror=alert(1)>"
    cfg["experiment"]["description"] = hostile
    path = write_config(example_dir / "hostile.yaml", cfg)
    html_path, _, _ = build_report(path, example_dir / "h.html", example_dir / "h.json")
    html = html_path.read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_novelty_panel_hand_worked():
    """Two users: u1 (treatment) clicks on days 0 and 2, u2 (control) on day 0; closed days fill with 0."""
    from recsys_causal import DecisionLog
    from recsys_causal.experiments.novelty import novelty_panel

    t = pd.to_datetime(["2026-06-01T10:00Z", "2026-06-01T12:00Z", "2026-06-03T11:00Z", "2026-06-02T09:00Z"])
    req = pd.DataFrame({"request_id": ["a", "b", "c", "d"], "decision_time": t, "user_id": ["u1", "u1", "u1", "u2"],
                        "variant": ["treatment", "treatment", "treatment", "control"]})
    cand = pd.DataFrame({"request_id": ["a", "b", "c", "d"], "item_id": "i", "shown": True, "position": 1.0,
                         "click": [1.0, 1.0, 1.0, 1.0]})
    log = DecisionLog.from_frames(req, cand)
    panel = novelty_panel(log, metric="click", unit="user_id", variant_col="variant",
                          as_of="2026-06-05T00:00Z", days=7)
    got = {(r.unit_id, r.days_since_exposure): r.value for r in panel.itertuples()}
    # u1 first seen 06-01 10:00: days 0, 1, 2 closed by 06-05 00:00 (3 full days); u2 from 06-02 09:00: days 0, 1
    assert got == {("u1", 0): 2.0, ("u1", 1): 0.0, ("u1", 2): 1.0, ("u2", 0): 1.0, ("u2", 1): 0.0}

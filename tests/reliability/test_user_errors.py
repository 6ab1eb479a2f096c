"""Catalogue: duplicate unit rows never double ``n``, and every user error is a typed error (exit 2 in the CLIs).

Three classes of cases (see ``CATALOGUE``):

- data accounting, unit tables: a unit table, covariates table, holdout table, segment table or block-outcome
  table that repeats a unit is either an error naming the table, the key column, the count and example ids with
  a fix (rows that differ), or an exact copy that is removed, counted and reported, and the estimates are then
  identical to the run on the clean table (never an interval narrowed by a doubled ``n``);
- typed user errors, YAML configs: both CLIs exit 2 with a message naming the YAML key (and the nearest valid
  choice for typos), no traceback, byte-identical inputs, no new outputs and previous outputs unchanged;
- typed user errors, Python API: bad input raises a ``RecsysCausalError`` subclass with a message naming the
  problem, time zones included.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys_causal import (
    ConfigError,
    DataValidationError,
    RecsysCausalError,
    SchemaError,
    analyze_ab,
    analyze_holdout,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "reports" / "examples"


# ----------------------------------------------------------------------------- shared fixtures and helpers




def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file of the copied project except the output directory."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "out" not in p.relative_to(root).parts}


def previous_outputs(out_dir: Path) -> dict[str, bytes]:
    """Outputs of an earlier run at every path the failing run would write."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = {}
    for name in ("r.html", "r.json", "g.json", "g.md", "g.html"):
        (out_dir / name).write_bytes(f"previous {name}\n".encode())
        previous[name] = (out_dir / name).read_bytes()
    return previous


def run_cli(tool: str, config: Path, out_dir: Path) -> int:
    from recsys_causal.gate import main as gate_main
    from recsys_causal.report import main as report_main

    if tool == "report":
        return report_main([str(config), "--out", str(out_dir / "r.html"), "--json", str(out_dir / "r.json"),
                            "--quiet"])
    return gate_main([str(config), "--json", str(out_dir / "g.json"), "--markdown", str(out_dir / "g.md"),
                      "--html", str(out_dir / "g.html")])


def assert_refused(project: Path, capsys, tool: str, config: Path, fragments: list[str]) -> str:
    """Exit 2, every fragment in the message, no traceback, inputs byte-identical, outputs as before."""
    out_dir = project / "out"
    previous = previous_outputs(out_dir)
    before = tree_digest(project)
    code = run_cli(tool, config, out_dir)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert tree_digest(project) == before
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == previous
    return err


def example(project: Path, name: str) -> dict:
    return yaml.safe_load((project / "reports" / "examples" / f"{name}.yaml").read_text())


def write_config(project: Path, name: str, cfg: dict | str) -> Path:
    path = project / "reports" / "examples" / f"case_{name}.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg, sort_keys=False))
    return path


def small_ab(cfg: dict) -> dict:
    """The A/B example without the slow optional sections (OPE screen, novelty, segments)."""
    for key in ("ope_screen", "novelty", "segments"):
        cfg.pop(key, None)
    return cfg


def report_json(project: Path, capsys, config: Path) -> dict:
    out = project / "out_ok"
    from recsys_causal.report import main as report_main

    code = report_main([str(config), "--out", str(out / "r.html"), "--json", str(out / "r.json"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    data = json.loads((out / "r.json").read_text())
    shutil.rmtree(out)
    return data


def interval_rows(rows: list[dict]) -> list[tuple]:
    return [(r["name"], r["value"], r["se"], r["ci_low"], r["ci_high"], r["n"]) for r in rows]


def same_estimates(a, b) -> None:
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa["name"]) == list(fb["name"])
    for col in ("value", "se", "ci_low", "ci_high", "n"):
        np.testing.assert_allclose(fa[col].to_numpy(float), fb[col].to_numpy(float), rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- A. data accounting: unit tables


def _ab_units():
    from recsys_causal.simulate.ab import simulate_ab

    return simulate_ab(n_units=600, seed=4).units


def _holdout_units():
    from recsys_causal.simulate import simulate_holdout

    return simulate_holdout(n_units=3000, seed=4).units


def conflict_rows(frame: pd.DataFrame, column: str, k: int = 3) -> pd.DataFrame:
    """``frame`` plus a second, different row for its first ``k`` units."""
    extra = frame.iloc[:k].copy()
    extra[column] = extra[column] + 1.0
    return pd.concat([frame, extra], ignore_index=True)


def assert_duplicate_error(exc: RecsysCausalError, table: str, key: str, ids: list) -> None:
    text = str(exc)
    assert table in text and repr(key) in text and "3 units" in text and "Fix:" in text
    assert exc.count == 3 and exc.column == key and set(exc.examples) == set(ids)


def a_ab_conflict(_project, _capsys):
    u = _ab_units()
    with pytest.raises(DataValidationError) as err:
        analyze_ab(conflict_rows(u, "revenue"), metrics=["revenue"], unit_col="unit_id",
                   expected_split={"control": 0.5, "treatment": 0.5})
    assert_duplicate_error(err.value, "unit table", "unit_id", u["unit_id"].iloc[:3].tolist())


def a_ab_every_row_twice(_project, _capsys):
    u = _ab_units()
    kw = dict(metrics=["revenue", "converted"], covariates=["pre_revenue"], unit_col="unit_id",
              expected_split={"control": 0.5, "treatment": 0.5})
    clean = analyze_ab(u, **kw)
    twice = analyze_ab(pd.concat([u, u], ignore_index=True), **kw)
    same_estimates(twice.metrics, clean.metrics)
    assert twice.n_units == clean.n_units and sum(twice.n_units.values()) == len(u)
    assert twice.deduplication.rows_removed == len(u) and twice.deduplication.units == len(u)
    assert any("exact duplicate rows" in w for w in twice.warnings)
    # without the unit key nothing can be checked: the doubled n narrows the interval by about sqrt(2)
    blind = analyze_ab(pd.concat([u, u], ignore_index=True), **{**kw, "unit_col": None})
    ratio = clean.lift("revenue", relative=False).se / blind.lift("revenue", relative=False).se
    assert abs(ratio - np.sqrt(2)) < 0.01


def a_covariates_twice(_project, _capsys):
    from recsys_causal.checks import join_units

    u = _ab_units()
    base, cov = u.drop(columns=["pre_revenue"]), u[["unit_id", "pre_revenue"]]
    kw = dict(metrics=["revenue"], covariates=["pre_revenue"], unit_col="unit_id",
              expected_split={"control": 0.5, "treatment": 0.5})
    clean, none_removed = join_units(base, cov, "unit_id", name="users.parquet")
    twice, removed = join_units(base, pd.concat([cov, cov], ignore_index=True), "unit_id", name="users.parquet")
    assert none_removed.rows_removed == 0 and removed.rows_removed == len(u) and len(twice) == len(u)
    same_estimates(analyze_ab(twice, **kw).metrics, analyze_ab(clean, **kw).metrics)
    assert "users.parquet" in removed.message() and str(len(u)) in removed.message()


def a_covariates_conflict(_project, _capsys):
    from recsys_causal.checks import join_units

    u = _ab_units()
    cov = conflict_rows(u[["unit_id", "pre_revenue"]], "pre_revenue")
    with pytest.raises(DataValidationError) as err:
        join_units(u.drop(columns=["pre_revenue"]), cov, "unit_id", name="users.parquet")
    assert_duplicate_error(err.value, "users.parquet", "unit_id", u["unit_id"].iloc[:3].tolist())


def a_covariates_column_clash(_project, _capsys):
    from recsys_causal.checks import join_units

    u = _ab_units()
    with pytest.raises(SchemaError, match=r"both have column\(s\) \['variant'\]"):
        join_units(u, u[["unit_id", "variant"]], "unit_id", name="users.parquet")


def a_holdout_twice(_project, _capsys):
    h = _holdout_units()
    kw = dict(covariates=["pre_conversions"], revenue_col="revenue")
    clean = analyze_holdout(h, **kw)
    twice = analyze_holdout(pd.concat([h, h], ignore_index=True), **kw)
    same_estimates(twice.estimates, clean.estimates)
    assert twice.counts["duplicate_rows_removed"] == len(h) and twice.counts["units"] == len(h)
    assert twice.counts["rows_read"] == 2 * len(h) and twice.counts["used"] == clean.counts["used"]
    assert any("exact duplicate rows" in w for w in twice.warnings)


def a_holdout_conflict(_project, _capsys):
    h = _holdout_units()
    with pytest.raises(DataValidationError) as err:
        analyze_holdout(conflict_rows(h, "revenue"), revenue_col="revenue", source="holdout.parquet")
    assert_duplicate_error(err.value, "holdout.parquet", "unit_id", h["unit_id"].iloc[:3].tolist())


def a_segments_twice(_project, _capsys):
    from recsys_causal.hte import segment_effects

    u = _ab_units()
    kw = dict(metrics=["revenue"], segments=["segment"], min_units=10, unit_col="unit_id")
    clean = segment_effects(u, **kw)
    twice = segment_effects(pd.concat([u, u], ignore_index=True), **kw)
    same_estimates(twice.effects, clean.effects)
    assert any(f"{len(u)} exact duplicate rows" in w for w in twice.warnings)


def a_segments_conflict(_project, _capsys):
    from recsys_causal.hte import segment_effects

    u = _ab_units()
    with pytest.raises(DataValidationError) as err:
        segment_effects(conflict_rows(u, "revenue"), metrics=["revenue"], segments=["segment"], min_units=10,
                        unit_col="unit_id")
    assert_duplicate_error(err.value, "segment unit table", "unit_id", u["unit_id"].iloc[:3].tolist())


def _blocks():
    from recsys_causal.switchback import make_schedule

    sched = make_schedule(3, 12, seed=2)
    rng = np.random.default_rng(0)
    outcomes = sched[["cluster", "block_start"]].assign(y=rng.normal(size=len(sched)) + sched["treated"])
    return sched, outcomes


def a_block_outcomes_twice(_project, _capsys):
    from recsys_causal.switchback import analyze_switchback

    sched, bo = _blocks()
    clean = analyze_switchback(sched, block_outcomes=bo, n_draws=200, seed=1)
    twice = analyze_switchback(sched, block_outcomes=pd.concat([bo, bo], ignore_index=True), n_draws=200, seed=1)
    same_estimates(twice.estimates, clean.estimates)
    assert len(twice.blocks) == len(sched)


def a_block_outcomes_conflict(_project, _capsys):
    from recsys_causal.switchback import analyze_switchback

    sched, bo = _blocks()
    bad = pd.concat([bo, bo.iloc[:3].assign(y=bo["y"].iloc[:3] + 1)], ignore_index=True)
    with pytest.raises(DataValidationError) as err:
        analyze_switchback(sched, block_outcomes=bad, n_draws=200)
    assert "block outcomes" in str(err.value) and "cluster+block_start" in str(err.value)
    assert err.value.count == 3 and "Fix:" in str(err.value)


def _repeated_table(project: Path, source: str, column: str, out: str, conflict: bool) -> Path:
    """A shipped table with every row twice (exact copies) or a few units repeated with a different ``column``."""
    table = pd.read_parquet(project / "decision_logs" / source)
    rows = conflict_rows(table, column) if conflict else pd.concat([table, table], ignore_index=True)
    path = project / "decision_logs" / out
    rows.to_parquet(path)
    return path


def _users_twice(project: Path, conflict: bool) -> Path:
    return _repeated_table(project, "sample_ab_users.parquet", "pre_clicks", "users_repeated.parquet", conflict)


def a_report_covariates_twice(project, capsys):
    clean = report_json(project, capsys, write_config(project, "clean", small_ab(example(project, "ab"))))
    _users_twice(project, conflict=False)
    cfg = small_ab(example(project, "ab"))
    cfg["data"]["covariates_table"] = "../../decision_logs/users_repeated.parquet"
    data = report_json(project, capsys, write_config(project, "twice", cfg))
    assert interval_rows(data["metrics"]) == interval_rows(clean["metrics"])
    assert data["metrics"][0]["method"].startswith("cuped")
    assert data["data_quality"]["duplicate_rows_removed"]["data.covariates_table"]["rows"] == 3000
    assert data["decision"]["verdict"] == clean["decision"]["verdict"]
    assert any("3000 exact duplicate rows" in w for w in data["warnings"])


def a_report_covariates_conflict(project, capsys):
    path = _users_twice(project, conflict=True)
    cfg = small_ab(example(project, "ab"))
    cfg["data"]["covariates_table"] = "../../decision_logs/users_repeated.parquet"
    assert_refused(project, capsys, "report", write_config(project, "conflict", cfg),
                   [str(path), "3 units", "'user_id'", "u000000", "Fix: aggregate"])


def _holdout_file(project: Path, conflict: bool) -> Path:
    return _repeated_table(project, "sample_holdout_units.parquet", "revenue", "holdout_repeated.parquet", conflict)


def a_report_holdout_twice(project, capsys):
    clean = report_json(project, capsys, project / "reports" / "examples" / "holdout.yaml")
    _holdout_file(project, conflict=False)
    cfg = example(project, "holdout")
    cfg["data"]["units"] = "../../decision_logs/holdout_repeated.parquet"
    data = report_json(project, capsys, write_config(project, "twice", cfg))
    assert interval_rows(data["holdout"]["estimates"]) == interval_rows(clean["holdout"]["estimates"])
    assert data["data_quality"]["units"] == clean["data_quality"]["units"]
    assert data["data_quality"]["duplicate_rows_removed"]["data.units"]["rows"] == 40000
    assert data["decision"] == clean["decision"]


def a_report_holdout_conflict(project, capsys):
    path = _holdout_file(project, conflict=True)
    cfg = example(project, "holdout")
    cfg["data"]["units"] = "../../decision_logs/holdout_repeated.parquet"
    assert_refused(project, capsys, "report", write_config(project, "conflict", cfg),
                   [str(path), "3 units", "'unit_id'", "'u0'", "Fix:"])


def _ab_units_config(project: Path, units: pd.DataFrame) -> Path:
    units.to_parquet(project / "decision_logs" / "ab_units.parquet")
    cfg = {"experiment": {"name": "units", "design": "ab", "unit": "unit_id"},
           "data": {"units": "../../decision_logs/ab_units.parquet"},
           "metrics": {"primary": [{"name": "revenue"}]}, "covariates": ["pre_revenue"]}
    return write_config(project, "units", cfg)


def a_report_units_conflict(project, capsys):
    u = _ab_units()
    config = _ab_units_config(project, conflict_rows(u, "revenue"))
    assert_refused(project, capsys, "report", config, ["ab_units.parquet", "3 units", "'unit_id'",
                                                       repr(u["unit_id"].iloc[0]), "Fix:"])


def a_report_units_twice(project, capsys):
    u = _ab_units()
    clean = report_json(project, capsys, _ab_units_config(project, u))
    data = report_json(project, capsys, _ab_units_config(project, pd.concat([u, u], ignore_index=True)))
    assert interval_rows(data["metrics"]) == interval_rows(clean["metrics"])
    assert data["data_quality"]["duplicate_rows_removed"]["data.units"]["rows"] == len(u)
    assert data["data_quality"]["units"] == clean["data_quality"]["units"]


CASES_A = [
    ("A/B unit table: a unit repeated with different values", a_ab_conflict),
    ("A/B unit table: every row twice (exact copies)", a_ab_every_row_twice),
    ("CUPED covariates table listing every unit twice", a_covariates_twice),
    ("covariates table repeating units with different values", a_covariates_conflict),
    ("covariates table repeating a unit-table column", a_covariates_column_clash),
    ("holdout table: every row twice", a_holdout_twice),
    ("holdout table: a unit repeated with different values", a_holdout_conflict),
    ("segment table: every row twice", a_segments_twice),
    ("segment table: a unit repeated with different values", a_segments_conflict),
    ("switchback block outcomes: every block twice", a_block_outcomes_twice),
    ("switchback block outcomes: a block repeated with different values", a_block_outcomes_conflict),
    ("report: covariates table listing every unit twice", a_report_covariates_twice),
    ("report: covariates table with conflicting repeats", a_report_covariates_conflict),
    ("report: holdout table listing every unit twice", a_report_holdout_twice),
    ("report: holdout table with conflicting repeats", a_report_holdout_conflict),
    ("report: A/B unit table with conflicting repeats", a_report_units_conflict),
    ("report: A/B unit table listing every unit twice", a_report_units_twice),
]


@pytest.mark.parametrize("case", CASES_A, ids=[c[0] for c in CASES_A])
def test_unit_tables(project, capsys, case):
    case[1](project, capsys)


# ----------------------------------------------------------------------------- B. typed user errors: YAML configs


def edit(fn):
    """A case that edits the parsed example; the edited mapping is dumped back (NaN as ``.nan``)."""
    def make(cfg: dict, text: str) -> dict | str:
        out = fn(cfg)
        return cfg if out is None else out
    return make


def raw(fn):
    """A case that edits the example's YAML text."""
    return lambda cfg, text: fn(text)


NAN, INF = float("nan"), float("inf")
DEEP = "name: x\nlog: " + "[" * 3000 + "]" * 3000 + "\n"
DEEP_MAP = "experiment: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"

# (id, tool, example, mutation, fragments of the message)
CASES_B = [
    ("gate: unparsable log.as_of", "gate", "screen", edit(lambda c: c["log"].update(as_of="yesterday")),
     ["log.as_of", "'yesterday'", "ISO 8601"]),
    ("gate: impossible log.start", "gate", "screen", edit(lambda c: c["log"].update(start="2026-13-01T00:00:00Z")),
     ["log.start", "2026-13-01"]),
    ("gate: timezone-naive log.end", "gate", "screen", edit(lambda c: c["log"].update(end="2026-06-30T00:00:00")),
     ["log.end", "has no timezone"]),
    ("gate: unquoted YAML date as log.as_of", "gate", "screen",
     raw(lambda t: t.replace('as_of: "2026-06-20T00:00:00Z"', "as_of: 2026-06-20")),
     ["log.as_of", "date without a time"]),
    ("gate: log.start after log.end", "gate", "screen",
     edit(lambda c: c["log"].update(start="2026-06-10T00:00:00Z", end="2026-06-01T00:00:00Z")),
     ["log:", "is not before end"]),
    ("gate: label window '7 dayz'", "gate", "screen", edit(lambda c: c["log"].update(labels=["click within 7 dayz"])),
     ["log.labels[0]", "7 dayz"]),
    ("gate: label window of zero", "gate", "screen",
     edit(lambda c: c["log"]["labels"].__setitem__(1, "purchase within 0d")), ["log.labels[1]", "longer than zero"]),
    ("gate: label window of 100 years", "gate", "screen",
     edit(lambda c: c["log"]["labels"].__setitem__(0, "click within 5200w")), ["log.labels[0]", "five years"]),
    ("gate: two labels with one column", "gate", "screen",
     edit(lambda c: c["log"]["labels"].append("click within 1d")), ["log.labels", "['click']", "more than once"]),
    ("gate: negative seed", "gate", "screen", edit(lambda c: c.update(seed=-1)), ["seed", "greater than or equal to 0"]),
    ("gate: seed above 2**32-1", "gate", "screen", edit(lambda c: c.update(seed=2**32)), ["seed", "4294967295"]),
    ("gate: boolean seed", "gate", "screen", edit(lambda c: c.update(seed=True)), ["seed", "valid integer"]),
    ("gate: alpha .nan", "gate", "screen", edit(lambda c: c.update(alpha=NAN)), ["alpha", "finite number"]),
    ("gate: alpha above 0.5", "gate", "screen", edit(lambda c: c.update(alpha=0.6)), ["alpha", "0.5"]),
    ("gate: alpha 0", "gate", "screen", edit(lambda c: c.update(alpha=0)), ["alpha", "greater than 0"]),
    ("gate: guardrail margin .inf", "gate", "screen", edit(lambda c: c["guardrails"][0].update(margin=INF)),
     ["guardrails[0].margin", "finite number"]),
    ("gate: min_lift .nan", "gate", "screen", edit(lambda c: c["primary"].update(min_lift=NAN)),
     ["primary.min_lift", "finite number"]),
    ("gate: support threshold .nan", "gate", "screen", edit(lambda c: c["support"].update(min_ess_ratio=NAN)),
     ["support.min_ess_ratio", "finite number"]),
    ("gate: temperature .inf", "gate", "screen", edit(lambda c: c["candidates"][0].update(temperature=INF)),
     ["candidates[0].temperature", "finite number"]),
    ("gate: duplicate candidate names", "gate", "screen",
     edit(lambda c: c["candidates"].append(dict(c["candidates"][0], score="pred_bold"))),
     ["candidates", "'new-softmax' appears more than once"]),
    ("gate: YAML duplicate key", "gate", "screen", raw(lambda t: t + "alpha: 0.1\n"),
     ["duplicate key 'alpha'", "first at line 21", "line 31"]),
    ("gate: YAML duplicate nested key", "gate", "screen",
     raw(lambda t: t.replace("primary: {reward: click,", "primary: {reward: click, reward: hide,")),
     ["duplicate key 'reward'", "line 16"]),
    ("gate: deeply nested YAML", "gate", "screen", raw(lambda t: DEEP), ["nesting deeper than 50 levels"]),
    ("gate: estimator typo", "gate", "screen", edit(lambda c: c.update(estimator="SNDRR")),
     ["estimator", "did you mean 'SNDR'"]),
    ("gate: candidate kind typo", "gate", "screen", edit(lambda c: c["candidates"][0].update(kind="sotfmax")),
     ["candidates[0].kind", "did you mean 'softmax'"]),
    ("gate: multiplicity typo", "gate", "screen", edit(lambda c: c.update(multiplicity="holmes")),
     ["multiplicity", "did you mean 'holm'"]),
    ("gate: unknown top-level key typo", "gate", "screen", edit(lambda c: c.update(guardrail=c.pop("guardrails"))),
     ["unknown key 'guardrail'", "did you mean 'guardrails'"]),
    ("gate: unknown nested key typo", "gate", "screen", edit(lambda c: c["primary"].update(min_lft=0.1)),
     ["unknown key 'primary.min_lft'", "did you mean 'min_lift'"]),
    ("gate: primary reward typo", "gate", "screen", edit(lambda c: c["primary"].update(reward="clik")),
     ["primary.reward", "did you mean 'click'"]),
    ("gate: guardrail reward typo", "gate", "screen", edit(lambda c: c["guardrails"][0].update(reward="hied")),
     ["guardrails[0].reward", "did you mean 'hide'"]),
    ("gate: score column typo", "gate", "screen", edit(lambda c: c["candidates"][1].update(score="pred_bodl")),
     ["candidates[1].score", "did you mean 'pred_bold'"]),
    ("gate: protected segment column typo", "gate", "screen",
     edit(lambda c: c["protected_segments"][0].update(column="surfce")),
     ["protected_segments[0].column", "did you mean 'surface'"]),
    ("gate: composite reward with all-zero weights", "gate", "screen",
     edit(lambda c: c["primary"].update(reward={"click": 0.0, "purchase": 0.0})),
     ["primary.reward", "non-zero weight"]),
    ("gate: reward that is 0 everywhere", "gate", "screen",
     edit(lambda c: (c["log"]["labels"].append("checkout within 7d"), c["primary"].update(reward="checkout"))[-1]),
     ["primary.reward", "'checkout' is 0 on all", "label window"]),
    ("report: unparsable data.as_of", "report", "ab", edit(lambda c: c["data"].update(as_of="20/06/2026 noon")),
     ["data.as_of", "20/06/2026 noon"]),
    ("report: timezone-naive data.as_of", "report", "ab", edit(lambda c: c["data"].update(as_of="2026-06-20T00:00")),
     ["data.as_of", "has no timezone"]),
    ("report: metric window '7 dayz'", "report", "ab", edit(lambda c: c["data"].update(metric_window="7 dayz")),
     ["data.metric_window", "'7 dayz'"]),
    ("report: metric window of zero", "report", "ab", edit(lambda c: c["data"].update(metric_window="0D")),
     ["data.metric_window", "longer than zero"]),
    ("report: metric window of 20 years", "report", "ab", edit(lambda c: c["data"].update(metric_window="7300D")),
     ["data.metric_window", "five years"]),
    ("report: negative seed", "report", "holdout", edit(lambda c: c.update(seed=-7)), ["seed"]),
    ("report: boolean seed", "report", "holdout", edit(lambda c: c.update(seed=False)), ["seed", "valid integer"]),
    ("report: alpha .nan", "report", "holdout", edit(lambda c: c.update(alpha=NAN)), ["alpha", "finite number"]),
    ("report: alpha above 0.5", "report", "holdout", edit(lambda c: c.update(alpha=0.75)), ["alpha", "0.5"]),
    ("report: expected split not summing to 1", "report", "ab",
     edit(lambda c: c["variants"].update(expected_split={"control": 0.4, "treatment": 0.4})),
     ["variants.expected_split", "sum to 0.8", "'control': 0.5"]),
    ("report: negative expected split", "report", "ab",
     edit(lambda c: c["variants"].update(expected_split={"control": 1.5, "treatment": -0.5})),
     ["variants.expected_split", "positive"]),
    ("report: expected split .inf", "report", "ab",
     edit(lambda c: c["variants"]["expected_split"].update(treatment=INF)),
     ["variants.expected_split.treatment", "finite number"]),
    ("report: control typo", "report", "ab", edit(lambda c: c["variants"].update(control="contrl")),
     ["variants", "did you mean 'control'"]),
    ("report: guardrail margin .nan", "report", "ab", edit(lambda c: c["guardrails"][0].update(margin=NAN)),
     ["guardrails[0].margin", "finite number"]),
    ("report: switchback p .nan", "report", "switchback", edit(lambda c: c["switchback"].update(p=NAN)),
     ["switchback.p", "finite number"]),
    ("report: metric kind typo", "report", "ab", edit(lambda c: c["metrics"]["primary"][1].update(kind="maen")),
     ["metrics.primary[1].kind", "did you mean 'mean'"]),
    ("report: quantile metric without q", "report", "ab",
     edit(lambda c: c["metrics"]["secondary"].append({"name": "p90", "kind": "quantile", "column": "click"})),
     ["metrics.secondary[1]", "strictly between 0 and 1"]),
    ("report: duplicate metric names", "report", "ab",
     edit(lambda c: c["metrics"]["secondary"].append({"name": "click", "kind": "mean"})),
     ["metrics", "'click' appears more than once"]),
    ("report: YAML duplicate key", "report", "holdout", raw(lambda t: t + "seed: 8\n"),
     ["duplicate key 'seed'", "first at line 17"]),
    ("report: deeply nested YAML mapping", "report", "ab", raw(lambda t: DEEP_MAP), ["nesting deeper than 50"]),
    ("report: unknown key typo", "report", "ab", edit(lambda c: c.update(guardrail=c.pop("guardrails"))),
     ["unknown key 'guardrail'", "did you mean 'guardrails'", "valid keys"]),
    ("report: design typo", "report", "holdout", edit(lambda c: c["experiment"].update(design="holdot")),
     ["experiment.design", "did you mean 'holdout'"]),
    ("report: metric column typo", "report", "ab", edit(lambda c: c["metrics"]["primary"][1].update(name="clik")),
     ["metrics.primary[1].name", "did you mean 'click'", "'purchase'"]),
    ("report: covariate typo", "report", "ab", edit(lambda c: c.update(covariates=["pre_clikcs"])),
     ["covariates[0]", "did you mean 'pre_clicks'"]),
    ("report: segment column typo", "report", "ab", edit(lambda c: c["segments"].update(columns=["regoin"])),
     ["segments.columns[0]", "did you mean 'region'"]),
    ("report: guardrail metric typo", "report", "ab", edit(lambda c: c["guardrails"][0].update(metric="hdie")),
     ["guardrails[0].metric", "did you mean 'hide'"]),
    ("report: holdout column typo", "report", "holdout", edit(lambda c: c["holdout"].update(outcome_col="convertd")),
     ["holdout.outcome_col", "did you mean 'converted'", "data.units"]),
    ("report: experiment.unit typo with a decision log", "report", "ab",
     edit(lambda c: small_ab(c)["experiment"].update(unit="usr_id")),
     ["experiment.unit", "did you mean 'user_id'", "sample_ab_decision_log.parquet"]),
    ("report: variants.column typo with a decision log", "report", "ab",
     edit(lambda c: small_ab(c)["variants"].update(column="varaint")), ["variants.column", "did you mean 'variant'"]),
    ("report: variant label typo in expected_split", "report", "ab",
     edit(lambda c: small_ab(c)["variants"].update(expected_split={"control": 0.5, "treatmnt": 0.5})),
     ["variants.expected_split.treatmnt", "did you mean 'treatment'", "'control', 'treatment'"]),
    ("report: holdout group label typo", "report", "holdout",
     edit(lambda c: c["holdout"].update(treated_label="treatd")),
     ["holdout.treated_label", "did you mean 'treated'"]),
    ("report: novelty metric typo", "report", "ab",
     edit(lambda c: (c.pop("ope_screen"), c.pop("segments"), c["novelty"].update(metric="clcik"))[-1]),
     ["novelty.metric", "did you mean 'click'"]),
    ("report: data file name typo", "report", "holdout",
     edit(lambda c: c["data"].update(units="../../decision_logs/sample_holdout_unit.parquet")),
     ["data.units", "does not exist", "did you mean 'sample_holdout_units.parquet'"]),
]


@pytest.mark.parametrize("case", CASES_B, ids=[c[0] for c in CASES_B])
def test_yaml_configs(project, capsys, case):
    name, tool, base, mutate, fragments = case
    text = (project / "reports" / "examples" / f"{base}.yaml").read_text()
    config = write_config(project, "bad", mutate(yaml.safe_load(text), text))
    assert_refused(project, capsys, tool, config, fragments)


def test_hive_decision_log_in_report(project, capsys):
    """A Hive-partitioned directory (a documented reader format) works as the report's decision log and gives
    the numbers of the single-file log; its inputs hash covers the directory's files."""
    from recsys_causal import read_decision_log, write_partitioned_log

    log, _ = read_decision_log(project / "decision_logs" / "sample_ab_decision_log.parquet")
    write_partitioned_log(log, project / "decision_logs" / "ab_hive", partition_by=("date",))
    clean = report_json(project, capsys, write_config(project, "file", small_ab(example(project, "ab"))))
    cfg = small_ab(example(project, "ab"))
    cfg["data"]["decision_log"] = "../../decision_logs/ab_hive"
    config = write_config(project, "hive", cfg)
    before = tree_digest(project)
    data = report_json(project, capsys, config)
    assert tree_digest(project) == before
    np.testing.assert_allclose([m["value"] for m in data["metrics"]], [m["value"] for m in clean["metrics"]],
                               rtol=1e-12)
    assert data["data_quality"]["units"] == clean["data_quality"]["units"]
    assert len(data["reproducibility"]["input_sha256"]["data.decision_log"]) == 64


# ----------------------------------------------------------------------------- C. typed user errors: Python API


def _c_ab(frame=None, **changes):
    def run():
        u = _ab_units()
        kw = dict(metrics=["revenue"], unit_col="unit_id", expected_split={"control": 0.5, "treatment": 0.5})
        analyze_ab(u if frame is None else frame(u), **{**kw, **changes})
    return run


def _naive(u):
    return u.assign(first_exposure=u["first_exposure"].dt.tz_localize(None))


def _mixed(u):
    text = u["first_exposure"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    text.iloc[:4] = text.iloc[:4].str.rstrip("Z")
    return u.assign(first_exposure=text)


def _garbage_times(u):
    return u.assign(measured=u["covariate_time"].astype(str).where(u.index > 1, "last tuesday"))


def _c_unit_metrics_as_of():
    from recsys_causal import simulate_decision_log, unit_metrics_from_log

    sim = simulate_decision_log(n_requests=60, experiment={"control": 0.5, "treatment": 0.5}, seed=1)
    unit_metrics_from_log(sim.log, window="1D", as_of="tomorrow-ish")


def _c_holdout(**kw):
    return lambda: analyze_holdout(_holdout_units(), **kw)


def _c_switchback_no_outcomes():
    from recsys_causal.switchback import analyze_switchback, make_schedule

    analyze_switchback(make_schedule(2, 6, seed=0))


def _c_gate_python(mutate):
    def run():
        import tempfile

        from recsys_causal.gate import load_gate_config

        cfg = yaml.safe_load((EXAMPLES / "screen.yaml").read_text())
        mutate(cfg)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "screen.yaml"
            path.write_text(yaml.safe_dump(cfg))
            load_gate_config(path)
    return run


# (id, call, error class, fragments of the message)
CASES_C = [
    ("A/B: timezone-naive first-exposure column", _c_ab(frame=_naive, covariates=["pre_revenue"],
                                                         first_exposure_col="first_exposure",
                                                         covariate_times={"pre_revenue": "covariate_time"}),
     DataValidationError, ["'first_exposure'", "600 values", "no timezone"]),
    ("A/B: mixed timezone-aware and naive timestamps", _c_ab(frame=_mixed, covariates=["pre_revenue"],
                                                             first_exposure_col="first_exposure",
                                                             covariate_times={"pre_revenue": "covariate_time"}),
     DataValidationError, ["4 values of 'first_exposure'", "(others do)"]),
    ("A/B: unparsable covariate time column", _c_ab(frame=_garbage_times, covariates=["pre_revenue"],
                                                    first_exposure_col="first_exposure",
                                                    covariate_times={"pre_revenue": "measured"}),
     DataValidationError, ["'measured'", "cannot be parsed", "'u0'"]),
    ("A/B: declared covariate time that is not a time", _c_ab(covariates=["pre_revenue"],
                                                              first_exposure_col="first_exposure",
                                                              covariate_times={"pre_revenue": "soon"}),
     ConfigError, ["covariate_times['pre_revenue']", "'soon'"]),
    ("A/B: NaN expected split", _c_ab(expected_split={"control": 0.5, "treatment": NAN}), ConfigError,
     ["expected_split", "positive finite"]),
    ("A/B: negative expected split", _c_ab(expected_split={"control": 1.2, "treatment": -0.2}), ConfigError,
     ["expected_split", "-0.2"]),
    ("A/B: control label typo", _c_ab(control="contorl"), ConfigError, ["'contorl'", "did you mean 'control'"]),
    ("A/B: variant label typo in the data", _c_ab(frame=lambda u: u.assign(
        variant=u["variant"].where(u.index > 2, "treatmnet"))), DataValidationError,
     ["'treatmnet'", "did you mean 'treatment'"]),
    ("A/B: metric column typo", _c_ab(metrics=["revenu"]), SchemaError, ["'revenu'", "did you mean 'revenue'"]),
    ("A/B: metric kind typo", lambda: __import__("recsys_causal").Metric("x", kind="propotion"), ConfigError,
     ["did you mean 'proportion'"]),
    ("A/B: a decision log instead of a unit table", lambda: analyze_ab(
        __import__("recsys_causal").simulate_decision_log(n_requests=10).log, metrics=["click"]), ConfigError,
     ["DecisionLog", "unit_metrics_from_log"]),
    ("A/B: alpha .nan", _c_ab(alpha=NAN), ConfigError, ["alpha", "strictly between 0 and 1"]),
    ("A/B: guardrail margin .inf", lambda: __import__("recsys_causal").Guardrail(
        "hides", direction="increase_is_bad", margin=INF), ConfigError, ["'hides'", "margin must be finite"]),
    ("holdout: alpha 1.5", _c_holdout(alpha=1.5), ConfigError, ["alpha", "1.5"]),
    ("unit metrics: unparsable as_of", _c_unit_metrics_as_of, ConfigError, ["as_of", "'tomorrow-ish'"]),
    ("holdout: column typo", _c_holdout(outcome_col="convreted"), SchemaError, ["did you mean 'converted'"]),
    ("holdout: a list instead of a table", lambda: analyze_holdout([1, 2, 3]), ConfigError, ["got list"]),
    ("switchback: neither events nor block outcomes", _c_switchback_no_outcomes, ConfigError,
     ["events or block_outcomes"]),
    ("gate config from Python: alpha .nan", _c_gate_python(lambda c: c.update(alpha=NAN)), ConfigError,
     ["alpha", "finite number"]),
    ("reader: unparsable as_of", lambda: __import__("recsys_causal").read_decision_log(
        ROOT / "decision_logs" / "sample_decision_log.parquet", as_of="garbage"), SchemaError,
     ["as_of", "'garbage'", "is not a timestamp"]),
    ("gate from Python: guardrail margin .nan", lambda: __import__("recsys_causal.gate", fromlist=["Guardrail"])
     .Guardrail("hide", "increase_is_bad", NAN), ConfigError, ["'hide'", "margin must be a finite number"]),
    ("gate from Python: guardrail direction typo", lambda: __import__("recsys_causal.gate", fromlist=["Guardrail"])
     .Guardrail("hide", "increase_is_good", 0.1), ConfigError, ["'increase_is_good'", "decrease_is_bad"]),
    ("gate config from Python: label window of zero", _c_gate_python(
        lambda c: c["log"].update(labels=["click within 0m"])), ConfigError, ["log.labels[0]", "longer than zero"]),
]


@pytest.mark.parametrize("case", CASES_C, ids=[c[0] for c in CASES_C])
def test_python_api(case):
    _, call, expected, fragments = case
    with pytest.raises(expected) as err:
        call()
    assert isinstance(err.value, RecsysCausalError)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


CATALOGUE = {
    "data accounting: unit tables": CASES_A,
    "typed user errors: YAML configs": CASES_B,
    "typed user errors: Python API": CASES_C,
}
PROMISES = {
    "data accounting: unit tables": "a repeated unit is an error naming table, key, count and ids, or an exact copy "
                                    "removed and counted with estimates identical to the clean table's",
    "typed user errors: YAML configs": "exit 2 naming the YAML key (nearest match for typos), no traceback, inputs "
                                       "byte-identical, previous outputs unchanged",
    "typed user errors: Python API": "bad input raises a RecsysCausalError subclass naming the problem, time "
                                     "zones included",
}


def test_catalogue_size():
    assert sum(len(v) for v in CATALOGUE.values()) >= 45
    assert set(PROMISES) == set(CATALOGUE)

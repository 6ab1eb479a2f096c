"""Catalogue of malformed inputs: each gives a typed error (or a quarantine with its reason) whose message names
the problem; the CLIs exit 2 without a traceback and leave no partial output; input files stay byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys_causal import (
    DataValidationError,
    EstimationError,
    InputFileError,
    RecsysCausalError,
    SchemaError,
    read_decision_log,
    simulate_decision_log,
)

ROOT = Path(__file__).resolve().parents[2]


def base_frame() -> pd.DataFrame:
    frame = simulate_decision_log(n_requests=40, n_candidates=4, slate_size=2, seed=1).log.to_long_frame()
    frame["decision_time"] = frame["decision_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame


def edit(fn):
    def make():
        f = base_frame()
        out = fn(f)
        return f if out is None else out
    return make


def setcell(f, row, col, value):
    f.loc[row, col] = value
    return f


def first_shown(f):
    return f.index[f["shown"]][0]


def first_hidden(f):
    return f.index[~f["shown"]][0]


# (id, frame factory, read kwargs, expected error type or quarantine reason, message fragment)
FRAME_CASES = [
    ("missing request_id", edit(lambda f: f.drop(columns=["request_id"])), {}, SchemaError, "request_id"),
    ("missing item_id", edit(lambda f: f.drop(columns=["item_id"])), {}, SchemaError, "item_id"),
    ("missing shown", edit(lambda f: f.drop(columns=["shown"])), {}, SchemaError, "shown"),
    ("missing decision_time", edit(lambda f: f.drop(columns=["decision_time"])), {}, SchemaError, "decision_time"),
    ("missing propensity column", edit(lambda f: f.drop(columns=["propensity"])), {"require_propensity": True},
     SchemaError, "propensity"),
    ("naive timestamps", edit(lambda f: f.assign(decision_time=f["decision_time"].str.rstrip("Z"))), {},
     SchemaError, "no timezone"),
    ("numeric timestamps", edit(lambda f: f.assign(decision_time=1.7e9)), {}, SchemaError, "numeric"),
    ("non-numeric reward", edit(lambda f: f.assign(click=f["click"].astype(object).where(f["click"] != 1, "yes"))),
     {"rewards": ["click"]}, SchemaError, "non-numeric"),
    ("NaN propensity", edit(lambda f: setcell(f, first_shown(f), "propensity", np.nan)),
     {"require_propensity": True}, "invalid_propensity", "propensity"),
    ("zero propensity", edit(lambda f: setcell(f, first_shown(f), "propensity", 0.0)),
     {"require_propensity": True}, "invalid_propensity", "<= 0"),
    ("negative propensity", edit(lambda f: setcell(f, first_shown(f), "propensity", -0.2)),
     {"require_propensity": True}, "invalid_propensity", "<= 0"),
    ("propensity above 1", edit(lambda f: setcell(f, first_shown(f), "propensity", 1.5)),
     {"require_propensity": True}, "invalid_propensity", "> 1"),
    ("duplicate rows", edit(lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True)), {}, "duplicate_candidate",
     "duplicate"),
    ("shown without position", edit(lambda f: setcell(f, first_shown(f), "position", np.nan)), {},
     "shown_without_position", "position"),
    ("two items at one position", edit(lambda f: setcell(setcell(f, first_hidden(f), "position", 1.0),
                                                          first_hidden(f), "shown", True)), {},
     "duplicate_position", "same position"),
    ("position zero", edit(lambda f: setcell(f, first_shown(f), "position", 0.0)), {}, "invalid_position",
     "whole number"),
    ("unparsable timestamp", edit(lambda f: f.assign(decision_time=f["decision_time"].where(
        f["request_id"] != f["request_id"].iloc[0], "2026-02-31T25:61:00Z"))), {}, "unparsable_timestamp", "parsed"),
    ("future timestamp", edit(lambda f: f.assign(decision_time=f["decision_time"].where(
        f["request_id"] != f["request_id"].iloc[0], "2999-01-01T00:00:00Z"))), {}, "future_timestamp", "later"),
    ("outcome on unshown candidate", edit(lambda f: setcell(f, first_hidden(f), "click", 1.0)), {},
     "outcome_on_unshown", "not shown"),
    ("request fields disagree", edit(lambda f: setcell(f, 1, "user_id", "intruder")), {},
     "inconsistent_request_fields", "differ"),
    ("invalid shown value", edit(lambda f: setcell(f.assign(shown=f["shown"].astype(object)), 0, "shown", "maybe")),
     {}, "invalid_shown", "true/false"),
]


@pytest.mark.parametrize("case", FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_reader_catalogue(tmp_path, case):
    _, make, kwargs, expected, fragment = case
    path = tmp_path / "log.csv"
    make().to_csv(path, index=False)
    before = path.read_bytes()
    if isinstance(expected, type):
        with pytest.raises(expected) as err:
            read_decision_log(path, **kwargs)
        assert fragment in str(err.value) and str(path) in str(err.value)
        assert "Fix:" in str(err.value)
    else:
        log, report = read_decision_log(path, **kwargs)
        issue = report.issue(expected)
        assert issue.count >= 1 and fragment in issue.message + issue.fix and issue.examples
        assert report.reconciles() and expected in set(report.quarantine["quarantine_reason"])
    assert path.read_bytes() == before


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


FILE_CASES = [
    ("missing file", lambda d: d / "nope.parquet", InputFileError, "does not exist"),
    ("directory without parquet", lambda d: d, InputFileError, "no .parquet files"),
    ("empty csv", lambda d: write(d / "e.csv", b""), InputFileError, "empty"),
    ("header-only csv", lambda d: write(d / "h.csv", b"\n"), InputFileError, "no columns"),
    ("truncated parquet", lambda d: write(d / "t.parquet", b"PAR1\x15\x00garbage"), InputFileError, "parquet"),
    ("non-UTF-8 csv", lambda d: write(d / "l.csv", "request_id\nr\xe9\n".encode("latin-1")), InputFileError,
     "UTF-8"),
    ("non-UTF-8 jsonl", lambda d: write(d / "l.jsonl", '{"request_id": "\xe9"}\n'.encode("latin-1")), InputFileError,
     "UTF-8"),
    ("malformed jsonl", lambda d: write(d / "m.jsonl", b'{"request_id": "r1", "candidates": [\n'), InputFileError,
     "jsonl"),
    ("unknown suffix", lambda d: write(d / "log.xlsx", b"x"), InputFileError, "unknown format"),
    ("candidates not a list of records", lambda d: write(d / "c.jsonl",
     b'{"request_id": "r1", "decision_time": "2026-06-01T00:00:00Z", "candidates": [1, 2]}\n'), SchemaError,
     "list of records"),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_file_catalogue(tmp_path, case):
    _, setup, expected, fragment = case
    path = setup(tmp_path)
    with pytest.raises(expected) as err:
        read_decision_log(path)
    assert fragment.lower() in str(err.value).lower()


def analysis_cases():
    from recsys_causal import analyze_ab, analyze_holdout
    from recsys_causal.experiments import check_pre_treatment
    from recsys_causal.simulate import simulate_holdout
    from recsys_causal.simulate.ab import simulate_ab
    from recsys_causal.switchback import SwitchbackDesign, make_schedule, validate_schedule

    units = simulate_ab(n_units=400, seed=0).units
    hold = simulate_holdout(n_units=400, seed=0).units
    sched = make_schedule(1, 6, seed=0)

    def ab_unknown_variant():
        analyze_ab(units.assign(variant=units["variant"].where(units.index > 0, "treatmnet")), metrics=["revenue"],
                   expected_split={"control": 0.5, "treatment": 0.5})

    def ab_no_variance():
        analyze_ab(units.assign(revenue=1.0), metrics=["revenue"])

    def ab_post_treatment():
        u = units.assign(first=pd.Timestamp("2026-03-10", tz="UTC"), measured=pd.Timestamp("2026-03-20", tz="UTC"))
        check_pre_treatment(u, ["pre_revenue"], first_exposure_col="first", covariate_times={"pre_revenue": "measured"})

    def holdout_leak():
        analyze_holdout(hold.assign(exposed=True))

    def holdout_over_attribution():
        analyze_holdout(hold.assign(attributed=hold["converted"] + 1), attributed_col="attributed")

    def holdout_no_exposure():
        analyze_holdout(hold.assign(exposed=False))

    def overlapping_blocks():
        s = sched.copy()
        s.loc[2, "block_start"] -= pd.Timedelta(minutes=30)
        validate_schedule(s, SwitchbackDesign())

    def gap_in_blocks():
        validate_schedule(sched.drop(index=3), SwitchbackDesign())

    def huge_weights_flagged():
        from recsys_causal.ope import IPS, evaluate_policies, policies

        sim = simulate_decision_log(n_requests=500, n_candidates=6, slate_size=1, seed=2)
        sim.log.candidates["propensity"] = np.where(sim.log.shown, 1e-9, np.nan)
        sim.log.__dict__.pop("propensity", None)
        rep = evaluate_policies(sim.log, {"u": policies.uniform(sim.log, 1)}, estimators=[IPS()]).support[("u", "click")]
        if rep.verdict != "supported":
            raise EstimationError("flagged: " + "; ".join(rep.reasons))

    return [
        ("A/B unknown variant label", ab_unknown_variant, RecsysCausalError, "treatmnet"),
        ("A/B metric with no variance", ab_no_variance, EstimationError, "variance"),
        ("A/B post-treatment covariate", ab_post_treatment, DataValidationError, "after first exposure"),
        ("holdout leak", holdout_leak, DataValidationError, "holdout units are recorded as exposed"),
        ("attributed above conversions", holdout_over_attribution, DataValidationError, "more attributed"),
        ("no exposure variation", holdout_no_exposure, EstimationError, "not identified"),
        ("overlapping switchback blocks", overlapping_blocks, DataValidationError, "overlap"),
        ("gap in switchback schedule", gap_in_blocks, DataValidationError, "gap"),
        ("huge importance weights", huge_weights_flagged, EstimationError, "mean weight"),
    ]


@pytest.mark.parametrize("idx", range(9), ids=[c[0] for c in analysis_cases()])
def test_analysis_catalogue(idx):
    _, fn, expected, fragment = analysis_cases()[idx]
    with pytest.raises(expected) as err:
        fn()
    assert fragment in str(err.value)




def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "decision_logs").rglob("*")):
        h.update(p.read_bytes())
    return h.hexdigest()


def mutate_yaml(name, fn):
    def run(project):
        path = project / "reports" / "examples" / f"{name}.yaml"
        cfg = yaml.safe_load(path.read_text())
        out = fn(cfg)
        bad = path.with_name(f"bad_{name}.yaml")
        if isinstance(out, bytes):
            bad.write_bytes(out)
        else:
            bad.write_text(yaml.safe_dump(cfg))
        return bad
    return run


CLI_CASES = [
    ("report: unknown key", "report", mutate_yaml("ab", lambda c: c.update(colour=1)), "unknown key 'colour'"),
    ("report: wrong type", "report", mutate_yaml("ab", lambda c: c.update(seed="seven")), "seed"),
    ("report: missing data file", "report", mutate_yaml("holdout", lambda c: c["data"].update(units="none.parquet")),
     "does not exist"),
    ("report: data path is a directory", "report", mutate_yaml("holdout", lambda c: c["data"].update(units=".")),
     "cannot be read"),
    ("report: alias bomb", "report", mutate_yaml("ab", lambda c: b"a: &a [1, 1]\nb: [*a, *a]\n"), "aliases"),
    ("report: not a mapping", "report", mutate_yaml("ab", lambda c: b"- 1\n- 2\n"), "mapping"),
    ("report: empty yaml", "report", mutate_yaml("ab", lambda c: b""), "mapping"),
    ("report: non-UTF-8 yaml", "report", mutate_yaml("ab", lambda c: "name: caf\xe9\n".encode("latin-1")), "UTF-8"),
    ("report: design without metrics", "report", mutate_yaml("ab", lambda c: c.pop("metrics")), "metrics"),
    ("report: unknown metric column", "report",
     mutate_yaml("ab", lambda c: c["covariates"].append("pre_nothing")), "pre_nothing"),
    ("gate: unknown key", "gate", mutate_yaml("screen", lambda c: c.update(speed=1)), "unknown key 'speed'"),
    ("gate: candidate without score", "gate", mutate_yaml("screen", lambda c: c["candidates"][0].pop("score")),
     "needs 'score'"),
    ("gate: unknown estimator", "gate", mutate_yaml("screen", lambda c: c.update(estimator="XYZ")), "estimator"),
    ("gate: missing log", "gate", mutate_yaml("screen", lambda c: c["log"].update(path="x.parquet")),
     "does not exist"),
    ("gate: naive as_of", "gate", mutate_yaml("screen", lambda c: c["log"].update(as_of="2026-06-20")),
     "no timezone"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_catalogue(project, capsys, case):
    from recsys_causal.gate import main as gate_main
    from recsys_causal.report import main as report_main

    _, tool, make, fragment = case
    before = digest(project)
    config = make(project)
    out_dir = project / "out"
    if tool == "report":
        code = report_main([str(config), "--out", str(out_dir / "r.html"), "--json", str(out_dir / "r.json"),
                            "--quiet"])
    else:
        code = gate_main([str(config), "--json", str(out_dir / "g.json"), "--markdown", str(out_dir / "g.md")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and "Traceback" not in err
    assert not out_dir.exists() or not any(out_dir.iterdir())
    assert digest(project) == before


def test_unwritable_output_leaves_nothing(project, capsys):
    from recsys_causal.report import main as report_main

    blocker = project / "blocker"
    blocker.write_text("a file, not a directory")
    code = report_main([str(project / "reports" / "examples" / "holdout.yaml"), "--out", str(blocker / "r.html"),
                        "--json", str(project / "r.json"), "--quiet"])
    assert code == 2 and "Traceback" not in capsys.readouterr().err
    assert not (project / "r.json").exists()


CATALOGUE = {
    "readers: malformed decision-log rows": FRAME_CASES,
    "readers: malformed files": FILE_CASES,
    "analyses: invalid designs": analysis_cases(),
    "CLIs: invalid configs": CLI_CASES,
}
PROMISES = {
    "readers: malformed decision-log rows": "typed error naming file and column, or a quarantine with its reason "
                                            "code, count and example ids; counts reconcile; input unchanged",
    "readers: malformed files": "typed error naming the file and the problem",
    "analyses: invalid designs": "typed error naming the problem (leaks, gaps, unknown labels, huge weights)",
    "CLIs: invalid configs": "exit 2, message naming the key, no traceback, no output, inputs unchanged",
}


def test_nothing_reaches_the_network(project, monkeypatch):
    """The report and the gate run with every socket connection refused."""
    import socket

    from recsys_causal.gate import main as gate_main
    from recsys_causal.report import build_report

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    build_report(project / "reports" / "examples" / "ab.yaml", project / "r.html", project / "r.json")
    assert gate_main([str(project / "reports" / "examples" / "screen.yaml"), "--json", str(project / "g.json")]) in (
        0, 1, 3)

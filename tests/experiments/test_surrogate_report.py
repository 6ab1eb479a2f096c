"""The report's surrogate section: the numbers on the page and in the JSON are those of
``estimate_surrogate_index`` on the same data, and bad ``surrogate:`` specs are typed errors naming the YAML key."""

from __future__ import annotations

import json

import pytest
import yaml

from recsys_causal.errors import ConfigError
from recsys_causal.experiments.surrogate import estimate_surrogate_index
from recsys_causal.report import build_report
from recsys_causal.report.render import fmt
from recsys_causal.simulate.longterm import simulate_longterm

SURROGATE = {"historical": "historical.parquet", "long_term": "long_term",
             "surrogates": ["sessions_7d", "purchases_7d"], "covariates": ["pre_sessions", "tenure"], "n_boot": 60,
             "validate": True}


@pytest.fixture(scope="module")
def sim():
    return simulate_longterm(n_historical=400, n_experiment=300, seed=8)


def _plan(tmp_path, sim, **surrogate):
    sim.historical.to_parquet(tmp_path / "historical.parquet")
    sim.experiment.rename(columns={"unit_id": "user_id"}).to_parquet(tmp_path / "units.parquet")
    cfg = {"experiment": {"name": "long-term", "design": "ab", "unit": "user_id"}, "data": {"units": "units.parquet"},
           "metrics": {"primary": [{"name": "sessions_7d", "kind": "mean"}]}, "seed": 3,
           "surrogate": {**SURROGATE, **surrogate}}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path


def test_section_numbers_equal_the_api(tmp_path, sim):
    html_path, json_path, _ = build_report(_plan(tmp_path, sim), tmp_path / "r.html", tmp_path / "r.json")
    data, page = json.loads(json_path.read_text()), html_path.read_text()
    sg = data["surrogate"]
    ref = estimate_surrogate_index(sim.historical, sim.experiment, long_term="long_term",
                                   surrogates=SURROGATE["surrogates"], covariates=SURROGATE["covariates"],
                                   n_boot=60, seed=3, validate=True)
    assert [e["name"] for e in sg["estimates"]] == [e.name for e in ref.estimates]
    for row, e in zip(sg["estimates"], ref.estimates, strict=True):
        assert (row["value"], row["ci_low"], row["ci_high"]) == pytest.approx((e.value, e.ci_low, e.ci_high),
                                                                              abs=1e-12)
    assert sg["r2_out_of_fold"] == pytest.approx(ref.r2_out_of_fold, abs=1e-12)
    assert sg["counts"]["experiment"]["used"] == 300
    section = page[page.index('id="surrogate-table"'):]
    for e in ref.estimates:
        assert f"<td>{e.name}</td><td class=\"value\">{fmt(e.value)}</td>" in section
    assert any("Surrogate index" in m for m in data["methods"])
    assert any("Projected long-term effect" in r for r in data["decision"]["reasons"])


@pytest.mark.parametrize(("change", "key"), [
    ({"surrogates": ["sesions_7d", "purchases_7d"]}, "surrogate.surrogates[0]"),
    ({"long_term": "long_trm"}, "surrogate.long_term"),
    ({"covariates": ["tenur"]}, "surrogate.covariates[0]"),
])
def test_unknown_columns_name_the_yaml_key(tmp_path, sim, change, key):
    with pytest.raises(ConfigError) as info:
        build_report(_plan(tmp_path, sim, **change), tmp_path / "r.html", tmp_path / "r.json")
    assert info.value.column == key and "did you mean" in str(info.value)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("change", "text"), [({"learner": "xgboost"}, "learner"), ({"n_boot": 10}, "n_boot"),
                                              ({"surrogates": []}, "surrogates"), ({"folds": 1}, "folds"),
                                              ({"extra": 1}, "extra")])
def test_bad_specs_are_config_errors(tmp_path, sim, change, text):
    with pytest.raises(ConfigError, match=text):
        build_report(_plan(tmp_path, sim, **change), tmp_path / "r.html", tmp_path / "r.json")


def test_surrogate_needs_an_ab_plan(tmp_path, sim):
    path = _plan(tmp_path, sim)
    cfg = yaml.safe_load(path.read_text())
    cfg["experiment"]["design"] = "holdout"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="surrogate section needs design 'ab'"):
        build_report(path, tmp_path / "r.html", tmp_path / "r.json")

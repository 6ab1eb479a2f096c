"""CUPED covariate guards: a covariate equal to the outcome or measured after exposure is refused; a clean
pre-period covariate passes, and the balance test's false-alarm rate on A/A data is at its nominal level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from recsys_causal.errors import DataValidationError
from recsys_causal.experiments import analyze_ab
from recsys_causal.experiments.covariate_checks import covariate_balance, within_arm_r2


def _units(seed: int, n: int = 2000, effect: float = 0.5) -> pd.DataFrame:
    """Units with a pre-period covariate and a post-exposure one (the outcome of a later week, also moved by
    the treatment). True absolute effect on ``y``: ``effect``."""
    rng = np.random.default_rng(seed)
    t = rng.random(n) < 0.5
    base = rng.normal(0, 1, n)
    pre = base + rng.normal(0, 0.4, n)                      # measured before exposure
    y = base + effect * t + rng.normal(0, 0.35, n)
    post = base + effect * t + rng.normal(0, 0.35, n)       # measured after exposure: carries the effect
    return pd.DataFrame({"unit_id": np.arange(n), "variant": np.where(t, "treatment", "control"),
                         "y": y, "pre": pre, "post": post})


def _abs(readout):
    return readout.lift("y", relative=False)


def test_covariate_equal_to_outcome_is_refused():
    u = _units(1).assign(y_copy=lambda d: d["y"])
    with pytest.raises(DataValidationError) as exc:
        analyze_ab(u, metrics=["y"], covariates=["y_copy"], unit_col="unit_id")
    msg = str(exc.value)
    assert "'y_copy'" in msg and "R²" in msg and "pre-period" in msg
    assert exc.value.column == "y_copy"


def test_covariate_equal_to_outcome_refused_even_without_an_effect():
    # no treatment effect: the balance test cannot see it, the within-arm collinearity check does
    u = _units(2, effect=0.0).assign(y_copy=lambda d: d["y"] + 1e-6 * np.arange(len(d)) % 1e-5)
    with pytest.raises(DataValidationError, match="reproduces metric 'y'"):
        analyze_ab(u, metrics=["y"], covariates=["y_copy"], unit_col="unit_id")


def test_post_exposure_covariate_is_refused_by_the_balance_check():
    u = _units(3)
    with pytest.raises(DataValidationError) as exc:
        analyze_ab(u, metrics=["y"], covariates=["post"], unit_col="unit_id")
    msg = str(exc.value)
    assert "'post'" in msg and "differs between arms" in msg and "covariate_times" in msg
    # the refused estimate would have been badly biased: CUPED slope ~0.89 removes ~89% of the effect
    t = (u["variant"] == "treatment").to_numpy()
    ols = sm.OLS(u["y"], sm.add_constant(np.column_stack([t, u["post"] - u["post"].mean()]))).fit()
    assert ols.params.iloc[1] < 0.15


def test_clean_pre_period_covariate_passes_and_covers():
    covered = []
    for s in range(20):
        u = _units(100 + s)
        r = analyze_ab(u, metrics=["y"], covariates=["pre"], unit_col="unit_id")
        e = _abs(r)
        covered.append(e.ci_low <= 0.5 <= e.ci_high)
        assert not any("differs between arms" in w for w in r.warnings)
    assert np.mean(covered) >= 0.85  # 20 runs at 95%: P(< 17 covered) < 2%


def test_chance_imbalance_with_verified_timestamps_is_a_warning():
    u = _units(4)
    u["pre_shifted"] = u["pre"] + 0.3 * (u["variant"] == "treatment")  # an imbalance, but timestamps say pre
    u["measured"] = pd.Timestamp("2026-01-01", tz="UTC")
    u["first"] = pd.Timestamp("2026-02-01", tz="UTC")
    with pytest.raises(DataValidationError, match="pre_shifted"):
        analyze_ab(u, metrics=["y"], covariates=["pre_shifted"], unit_col="unit_id")
    r = analyze_ab(u, metrics=["y"], covariates=["pre_shifted"], unit_col="unit_id", first_exposure_col="first",
                   covariate_times={"pre_shifted": "measured"})
    assert any("chance imbalance" in w for w in r.warnings)


def test_balance_statistic_equals_scipy_welch():
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, 1.0, 301)
    t = rng.random(301) < 0.4
    b = covariate_balance(x, t)
    ref = stats.ttest_ind(x[t], x[~t], equal_var=False)
    assert b.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert b.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    sd = np.sqrt((x[t].var(ddof=1) + x[~t].var(ddof=1)) / 2)
    assert b.smd == pytest.approx((x[t].mean() - x[~t].mean()) / sd)


def test_within_arm_r2_equals_ols_with_arm_intercepts():
    rng = np.random.default_rng(6)
    n = 500
    t = rng.random(n) < 0.5
    x = rng.normal(size=(n, 2))
    y = 2 * t + x @ [0.5, -0.3] + rng.normal(size=n)
    fit = sm.OLS(y, np.column_stack([t, ~t, x]).astype(float)).fit()
    sst_within = sum(((y[m] - y[m].mean()) ** 2).sum() for m in (t, ~t))
    assert within_arm_r2(y, x, t) == pytest.approx(1 - fit.ssr / sst_within, rel=1e-10)


def test_balance_false_alarm_rate_on_aa_data_is_nominal():
    """2,000 A/A datasets (skewed pre-period covariate, 60 + 40 units): rejection rates at 5% and 1% within two
    Monte Carlo standard errors of nominal, and at the default threshold 0.001 at most 0.1% + 2 MC SE."""
    rng = np.random.default_rng(7)
    runs = 2000
    p = np.empty(runs)
    for i in range(runs):
        x = rng.lognormal(0, 0.75, 100)
        t = rng.permutation(np.r_[np.ones(60, bool), np.zeros(40, bool)])
        p[i] = covariate_balance(x, t).p_value
    for level in (0.05, 0.01, 0.001):
        assert np.mean(p < level) <= level + 2 * np.sqrt(level * (1 - level) / runs)
    # not vacuously conservative (Welch is a little conservative for a skewed covariate with unequal arms:
    # 3.5% at 5% over 1,000 datasets in validation/studies_cupednov.py)
    assert np.mean(p < 0.05) >= 0.025


def test_clustered_balance_is_calibrated_where_the_unclustered_one_is_not():
    """Rows clustered in units (10 rows each, strong unit effect), the covariate randomised by unit: the
    cluster-robust test keeps its 5% level over 600 A/A datasets; the row-level test would not."""
    rng = np.random.default_rng(8)
    runs, rej, rej_naive = 600, 0, 0
    for _ in range(runs):
        units = np.repeat(np.arange(120), 10)
        t = (rng.random(120) < 0.5)[units]
        x = rng.normal(0, 1, 120)[units] + rng.normal(0, 0.3, units.size)
        rej += covariate_balance(x, t, units).p_value < 0.05
        rej_naive += covariate_balance(x, t).p_value < 0.05
    se = np.sqrt(0.05 * 0.95 / runs)
    assert rej / runs <= 0.05 + 2 * se + 0.01  # normal reference with 120 clusters: ~0.5 point liberal at most
    assert rej_naive / runs > 0.2


def _yaml_case(tmp_path, units: pd.DataFrame, extra: str) -> tuple[int, str]:
    from recsys_causal.report.cli import main

    units.to_parquet(tmp_path / "units.parquet")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("experiment: {name: guards, design: ab, unit: unit_id}\n"
                   "data: {units: units.parquet}\n"
                   "metrics: {primary: [{name: y, kind: mean}]}\n" + extra)
    before = (tmp_path / "units.parquet").read_bytes()
    code = main([str(cfg), "--quiet", "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")])
    assert (tmp_path / "units.parquet").read_bytes() == before
    return code, (tmp_path / "r.json").read_text() if code == 0 else ""


def test_yaml_post_exposure_covariate_is_refused(tmp_path, capsys):
    code, _ = _yaml_case(tmp_path, _units(9), "covariates: [post]\n")
    assert code == 2
    err = capsys.readouterr().err
    assert "'post'" in err and "differs between arms" in err and "Traceback" not in err


def test_yaml_covariate_times_end_to_end(tmp_path, capsys):
    u = _units(10)
    u["first_seen"] = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(u["unit_id"] % 7, unit="D")
    u["pre_at"] = u["first_seen"] - pd.Timedelta(days=1)
    u["post_at"] = u["first_seen"] + pd.Timedelta(days=7)
    # a column of measurement times, all before first exposure: runs, and CUPED is used
    code, text = _yaml_case(tmp_path, u, "covariates: [pre]\ncovariate_times: {pre: pre_at}\n"
                                         "first_exposure: first_seen\n")
    assert code == 0 and '"cuped welch"' in text
    # the same covariate with measurement times after first exposure: refused by the timestamp check
    code, _ = _yaml_case(tmp_path, u.assign(pre_at=u["post_at"]), "covariates: [pre]\n"
                         "covariate_times: {pre: pre_at}\nfirst_exposure: first_seen\n")
    assert code == 2
    assert "measured after first exposure for 2000 units" in capsys.readouterr().err
    # one declared time (ISO string) after some units' first exposure
    code, _ = _yaml_case(tmp_path, u, "covariates: [pre]\ncovariate_times: {pre: '2026-06-03T00:00:00Z'}\n"
                                      "first_exposure: first_seen\n")
    assert code == 2
    assert "measured after first exposure" in capsys.readouterr().err
    # an unparsable time and a key outside covariates are typed errors (exit 2)
    code, _ = _yaml_case(tmp_path, u, "covariates: [pre]\ncovariate_times: {pre: not_a_column}\n"
                                      "first_exposure: first_seen\n")
    assert code == 2 and "neither a column" in capsys.readouterr().err
    code, _ = _yaml_case(tmp_path, u, "covariates: [pre]\ncovariate_times: {post: post_at}\n")
    assert code == 2 and "not in covariates" in capsys.readouterr().err


def test_sql_path_refuses_the_same_covariates_from_moments():
    """analyze_ab on a DuckDB unit table checks the same things from per-arm sums: the outcome as a covariate and a
    post-exposure covariate are refused, a pre-period one passes with the in-memory lift."""
    from recsys_causal.scale import DuckDBEngine
    from recsys_causal.scale.ab import SQLUnitMetrics

    u = _units(12).assign(y_copy=lambda d: d["y"])
    engine = DuckDBEngine.from_frame(u)
    um = SQLUnitMetrics.from_table(engine, engine.table, unit_col="unit_id")
    with pytest.raises(DataValidationError, match="reproduces metric 'y'"):
        analyze_ab(um, metrics=["y"], covariates=["y_copy"])
    with pytest.raises(DataValidationError, match="'post' differs between arms"):
        analyze_ab(um, metrics=["y"], covariates=["post"])
    sql = analyze_ab(um, metrics=["y"], covariates=["pre"]).lift("y", relative=False)
    mem = analyze_ab(u, metrics=["y"], covariates=["pre"], unit_col="unit_id").lift("y", relative=False)
    assert sql.value == pytest.approx(mem.value, rel=1e-9)


def test_moment_checks_equal_the_array_checks():
    from recsys_causal.experiments.covariate_checks import _welch
    from recsys_causal.kernel.arm_moments import ArmMoments

    u = _units(13)
    t = (u["variant"] == "treatment").to_numpy()
    arms = [ArmMoments.from_frame(u, ["pre", "y"], m) for m in (t, ~t)]
    b = covariate_balance(u["pre"].to_numpy(), t)
    mb = _welch("pre", float(arms[0].mean[0] - arms[1].mean[0]), arms[0].cross[0, 0] / (arms[0].n - 1),
                arms[0].n, arms[1].cross[0, 0] / (arms[1].n - 1), arms[1].n)
    assert mb.p_value == pytest.approx(b.p_value, rel=1e-9) and mb.statistic == pytest.approx(b.statistic, rel=1e-9)


def test_low_level_cuped_lift_refuses_the_outcome_as_covariate():
    from recsys_causal.experiments import cuped_lift

    u = _units(14)
    t = (u["variant"] == "treatment").to_numpy()
    with pytest.raises(DataValidationError, match="reproduce the metric"):
        cuped_lift(u["y"].to_numpy(), u["y"].to_numpy(), t)
    e = cuped_lift(u["y"].to_numpy(), u["pre"].to_numpy(), t)
    assert e.ci_low < 0.5 < e.ci_high


def test_holdout_cuped_covariate_is_checked():
    from recsys_causal.incrementality import analyze_holdout
    from recsys_causal.simulate import simulate_holdout

    h = simulate_holdout(n_units=20_000, seed=3).units
    analyze_holdout(h, covariates=["pre_conversions"])  # the shipped kind of pre-period covariate passes
    with pytest.raises(DataValidationError, match="'conv_copy' reproduces metric 'converted'"):
        analyze_holdout(h.assign(conv_copy=h["converted"]), covariates=["conv_copy"])


def test_holdout_imbalanced_covariate_is_a_warning():
    from recsys_causal.incrementality import analyze_holdout
    from recsys_causal.simulate import simulate_holdout

    h = simulate_holdout(n_units=20_000, seed=4).units
    shifted = h.assign(post=h["pre_conversions"] + 0.5 * (h["group"] == "treated"))
    r = analyze_holdout(shifted, covariates=["post"])
    assert any("'post' differs between arms (treated vs holdout" in w and "measured after exposure" in w
               for w in r.warnings)


def test_the_one_pass_r2_of_many_outcomes_equals_the_regression_of_each():
    """within_arm_r2_many (one cross-product matrix) equals within_arm_r2 (a least-squares fit per outcome), also
    with collinear covariates, and falls back outcome by outcome when a value is missing."""
    from recsys_causal.experiments.covariate_checks import within_arm_r2_many

    rng = np.random.default_rng(4)
    n = 5000
    t = rng.random(n) < 0.5
    x = rng.normal(size=(n, 3)) + 5.0
    x = np.column_stack([x, x[:, 0] + x[:, 1]])  # a collinear column
    ys = {"a": x @ [0.5, -1.0, 2.0, 0.0] + rng.normal(size=n) + 3 * t, "b": rng.normal(size=n) * 10 + 100,
          "c": 2 * x[:, 2] + 1e-4 * rng.normal(size=n)}
    many = within_arm_r2_many(ys, x, t)
    for name, y in ys.items():
        assert many[name] == pytest.approx(within_arm_r2(y, x, t), rel=1e-9, abs=1e-12)
    ys["b"] = ys["b"].copy()
    ys["b"][7] = np.nan
    assert within_arm_r2_many(ys, x, t)["b"] == within_arm_r2(ys["b"], x, t)

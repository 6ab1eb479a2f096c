"""Every readout's ``.plot()`` and every plotting function: a matplotlib Figure with the result's own numbers
drawn (each interval bar from its ``ci_low`` to its ``ci_high`` at its row), labels from the data drawn
literally, and no global matplotlib state touched (backend, rcParams, pyplot's figure list)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from recsys_causal import plotting
from recsys_causal.errors import ConfigError, EstimationError, SchemaError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "decision_logs"


@pytest.fixture(scope="module")
def results():
    """One small result of every kind, with labels that mathtext would typeset."""
    from recsys_causal.experiments import Guardrail, Metric, analyze_ab, cumulative_looks, fit_decay
    from recsys_causal.gate import Guardrail as GateGuardrail
    from recsys_causal.gate import screen
    from recsys_causal.hte import calibration_test, fit_cate, segment_effects
    from recsys_causal.incrementality import analyze_holdout
    from recsys_causal.ope import evaluate_policies, policies
    from recsys_causal.simulate import simulate_decision_log
    from recsys_causal.simulate.ab import simulate_ab
    from recsys_causal.switchback import analyze_switchback

    units = simulate_ab(n_units=3000, seed=0).units
    units["segment"] = units["segment"].replace({"power": "$power$"})
    ab = analyze_ab(units, metrics=["clicks", Metric.ratio("ctr", "clicks", "impressions")],
                    guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.2)], segment_col="segment",
                    expected_split={"control": 0.5, "treatment": 0.5})
    t = np.arange(14.0)
    decay = fit_decay(t, 0.02 + 0.08 * np.exp(-t / 3), np.full(14, 0.01))
    seg = segment_effects(units, metrics=["clicks"], segments=["segment"])
    rng = np.random.default_rng(3)
    hte = pd.DataFrame({"x": rng.normal(size=800), "t": (rng.random(800) < 0.5).astype(int)})
    hte["y"] = hte.x + (1 + hte.x) * hte.t + rng.normal(size=800)
    cate_kw = dict(outcome="y", treatment="t", covariates=["x"], treatment_probability=0.5, method="linear")
    cate = fit_cate(hte, **cate_kw)
    calib = calibration_test(hte, n_splits=2, n_groups=3, **cate_kw)
    sim = simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=1, seed=0)
    cands = {"new": policies.softmax(sim.log, "pred_new", 1), "top": policies.top_k(sim.log, "pred_new", 1)}
    ope = evaluate_policies(sim.log, cands, rewards=["click"])
    gate = screen(sim.log, cands, primary="click", guardrails=[GateGuardrail("hide", "increase_is_bad", 0.2)])
    sb = analyze_switchback(pd.read_parquet(DATA / "sample_switchback_schedule.parquet"),
                            pd.read_parquet(DATA / "sample_switchback_events.parquet"), carryover_order=1,
                            burn_in_minutes=5, n_draws=200, seed=1)
    holdout = analyze_holdout(pd.read_parquet(DATA / "sample_holdout_units.parquet"), revenue_col="revenue",
                              attributed_col="attributed", cost_col="cost")
    looks = cumulative_looks(units, metric="clicks", time_col="first_exposure", n_looks=6)
    return dict(ab=ab, decay=decay, seg=seg, cate=cate, calib=calib, ope=ope, gate=gate, sb=sb, holdout=holdout,
                looks=looks)


def entry_points(r):
    """Every plotting entry point, by name."""
    frame = pd.DataFrame({"segment": ["a", "$b$"], "value": [0.1, -0.2], "ci_low": [0.0, -0.4], "ci_high": [0.2, 0]})
    daily = pd.DataFrame({"days_since_exposure": r["decay"].days, "effect": r["decay"].effects,
                          "ci_low": r["decay"].effects - 0.02, "ci_high": r["decay"].effects + 0.02})
    return {
        "ABReadout.plot()": lambda: r["ab"].plot(),
        "ABReadout.plot('guardrails')": lambda: r["ab"].plot("guardrails"),
        "ABReadout.plot('segments')": lambda: r["ab"].plot("segments"),
        "DecayFit.plot()": lambda: r["decay"].plot(),
        "SegmentReadout.plot()": lambda: r["seg"].plot(),
        "SegmentReadout.forest_plot()": lambda: r["seg"].forest_plot("clicks"),
        "CateFit.plot()": lambda: r["cate"].plot(),
        "CalibrationResult.plot()": lambda: r["calib"].plot(),
        "OPEResult.plot()": lambda: r["ope"].plot(),
        "OPEResult.plot('value')": lambda: r["ope"].plot("value"),
        "GateResult.plot()": lambda: r["gate"].plot(),
        "SwitchbackReadout.plot()": lambda: r["sb"].plot(),
        "SwitchbackReadout.plot('periods')": lambda: r["sb"].plot("periods"),
        "HoldoutReadout.plot()": lambda: r["holdout"].plot(),
        "HoldoutReadout.plot(None)": lambda: r["holdout"].plot(None),
        "plot_cumulative": lambda: plotting.plot_cumulative(r["looks"], metric="clicks"),
        "forest_plot": lambda: plotting.forest_plot(frame),
        "bar_intervals": lambda: plotting.bar_intervals(["a"], [0.1], [0.0], [0.2], title="t", xlabel="x"),
        "effect_by_day_figure": lambda: plotting.effect_by_day_figure(daily),
        "plot_effect_by_day": lambda: plotting.plot_effect_by_day(daily),
        "plot_decay": lambda: plotting.plot_decay(r["decay"], daily),
    }


def _bars(ax) -> np.ndarray:
    """The interval bars of an axes as (low, high, row) triples, top row first."""
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    seg = np.array(bars.get_segments())
    return np.column_stack([seg[:, 0, 0], seg[:, 1, 0], seg[:, 0, 1]])


def _labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def test_every_entry_point_leaves_global_matplotlib_state_alone(results):
    """A non-default backend stays selected (the old forest_plot switched it to Agg), rcParams do not move and
    pyplot holds no figure afterwards; every figure has axes with drawn artists and renders to PNG."""
    import matplotlib.pyplot as plt

    previous = matplotlib.get_backend()
    matplotlib.use("template")
    try:
        rc = dict(matplotlib.rcParams)
        literal = set()
        for name, make in entry_points(results).items():
            fig = make()
            assert isinstance(fig, Figure), name
            assert fig.axes and all(ax.get_children() for ax in fig.axes), name
            assert any(ax.lines or ax.collections for ax in fig.axes), name
            data_texts = [t for t in fig.findobj(Text) if "$" in t.get_text()]
            assert all(not t.get_parse_math() and not t.get_usetex() for t in data_texts), name  # drawn literally
            literal |= {name} if data_texts else set()
            assert matplotlib.get_backend() == "template", name
            assert dict(matplotlib.rcParams) == rc, name
            assert plt.get_fignums() == [], name
            if name.endswith(".plot()") or name.endswith("')") or name.endswith("(None)"):
                assert fig._repr_png_().startswith(b"\x89PNG"), name  # shows inline in a notebook
                assert plt.get_fignums() == [] and matplotlib.get_backend() == "template", name
        assert {"ABReadout.plot('segments')", "SegmentReadout.plot()", "forest_plot"} <= literal
    finally:
        matplotlib.use(previous)


def test_ab_lifts_draw_each_relative_lift_interval(results):
    ab = results["ab"]
    rel = [e for e in ab.metrics if e.details["quantity"] == "relative lift"]
    ax = ab.plot().axes[0]
    np.testing.assert_allclose(_bars(ax), [[e.ci_low, e.ci_high, len(rel) - 1 - i] for i, e in enumerate(rel)])
    assert _labels(ax) == [f"{e.details['metric']} (treatment)" for e in rel]
    assert ax.get_legend().get_texts()[0].get_text() == "95% interval (two-sided)"


def test_ab_guardrails_draw_harm_bounds_and_margin(results):
    (g,) = results["ab"].guardrails
    ax = results["ab"].plot("guardrails").axes[0]
    np.testing.assert_allclose(_bars(ax), [[g.details["harm_lower"], g.details["harm_upper"], 0]])
    (margin,) = [c for c in ax.collections if not isinstance(c, LineCollection) and len(c.get_offsets())]
    np.testing.assert_allclose(margin.get_offsets(), [[0.2, 0]])
    assert _labels(ax) == [f"hides: {g.details['verdict']}"]
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1  # beside the axes, not on the data


def test_ab_segment_labels_are_literal(results):
    fig = results["ab"].plot("segments")
    labels = _labels(fig.axes[0])
    assert "clicks (treatment) [$power$]" in labels
    tick = next(t for t in fig.axes[0].get_yticklabels() if "$power$" in t.get_text())
    assert tick._preprocess_math(tick.get_text()) == (tick.get_text(), False)  # not mathtext


def test_ab_cumulative_and_unknown_kinds_are_clear_errors(results):
    with pytest.raises(ConfigError, match="no daily data.*plot_cumulative"):
        results["ab"].plot("cumulative")
    with pytest.raises(ConfigError, match="'lifts', 'guardrails' or 'segments'"):
        results["ab"].plot("pie")


def test_decay_plot_draws_daily_intervals_and_the_fitted_curve(results):
    from scipy import stats

    fit = results["decay"]
    ax = fit.plot().axes[0]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    z = stats.norm.ppf(0.975)
    seg = np.array(bars.get_segments())
    np.testing.assert_allclose(seg[:, :, 1], np.column_stack([fit.effects - z * fit.ses, fit.effects + z * fit.ses]))
    curve = next(ln for ln in ax.lines if len(ln.get_xdata()) == 200)
    t = np.asarray(curve.get_xdata())
    truth = fit.long_run.value + (fit.initial.value - fit.long_run.value) * np.exp(-t / fit.tau)  # the model's curve
    np.testing.assert_allclose(curve.get_ydata(), truth, rtol=1e-12)


def test_segment_plot_rows_and_unknown_metric(results):
    seg = results["seg"]
    frame = seg.to_frame()
    ax = seg.plot().axes[0]
    n = len(frame)
    np.testing.assert_allclose(_bars(ax), np.column_stack([frame["ci_low"], frame["ci_high"], np.arange(n)[::-1]]))
    assert _labels(ax) == [f"segment={s}" for s in frame["segment"]]
    with pytest.raises(SchemaError, match="metric= one of \\['clicks'\\]"):
        seg.plot("revenue")


def test_cate_plot_rows_are_the_average_and_the_units_at_quantiles(results):
    """Rows: the average effect, then the units whose CATE is the 10th, 50th and 90th percentile (nearest rank),
    each with that unit's own interval."""
    cate = results["cate"]
    ax = cate.plot().axes[0]
    units = [int(np.flatnonzero(cate.effects == v)[0])
             for v in np.quantile(cate.effects, [0.1, 0.5, 0.9], method="nearest")]
    want = [[cate.ate.ci_low, cate.ate.ci_high, 3]] + [
        [cate.effects_low[u], cate.effects_high[u], 2 - i] for i, u in enumerate(units)]
    np.testing.assert_allclose(_bars(ax), want)
    assert _labels(ax)[1:] == ["unit at CATE quantile 0.1", "unit at CATE quantile 0.5", "unit at CATE quantile 0.9"]


def test_calibration_plot_has_gates_and_blp_panels(results):
    calib = results["calib"]
    fig = calib.plot()
    rows = [*calib.gates, calib.top_minus_bottom, calib.blp_ate]
    np.testing.assert_allclose(_bars(fig.axes[0])[:, :2], [[e.ci_low, e.ci_high] for e in rows])
    np.testing.assert_allclose(_bars(fig.axes[1])[:, :2], [[calib.blp_heterogeneity.ci_low,
                                                            calib.blp_heterogeneity.ci_high]])


def test_ope_plot_labels_carry_the_support_verdict(results):
    ope = results["ope"]
    ax = ope.plot().axes[0]
    rel = [e for e in ope.estimates if e.details["quantity"] == "relative lift"]
    np.testing.assert_allclose(_bars(ax)[:, :2], [[e.ci_low, e.ci_high] for e in rel])
    for label, e in zip(_labels(ax), rel, strict=True):
        s = ope.support[(e.details["policy"], "click")]
        assert label == f"{e.details['policy']} · {e.details['estimator']}  [{s.verdict}, ESS {s.ess_ratio:.1%}]"
    with pytest.raises(EstimationError, match="no 'uplift' estimates|no uplift estimates"):
        ope.plot("uplift")


def test_gate_plot_one_panel_per_candidate(results):
    gate = results["gate"]
    fig = gate.plot()
    assert [ax.get_title() for ax in fig.axes] == [f"{c.name}: {c.verdict}" for c in gate.candidates]
    for ax, c in zip(fig.axes, gate.candidates, strict=True):
        rows = [c.primary, *c.cross_checks]
        np.testing.assert_allclose(_bars(ax)[:, :2], [[e.ci_low, e.ci_high] for e in rows])


def test_switchback_plots(results):
    sb = results["sb"]
    fig = sb.plot()
    np.testing.assert_allclose(_bars(fig.axes[0])[:, :2], [[e.ci_low, e.ci_high] for e in sb.carryover])
    points = sb.plot("periods").axes[0].lines
    blocks = sb.blocks.dropna(subset=["y"])
    assert sorted(len(ln.get_ydata()) for ln in points) == sorted(blocks["treated"].value_counts().tolist())
    assert sum(np.sum(ln.get_ydata()) for ln in points) == pytest.approx(blocks["y"].sum(), rel=1e-12)
    with pytest.raises(ConfigError, match="'effects' or 'periods'"):
        sb.plot("daily")


def test_holdout_panels_by_scale_and_unbounded_intervals(results):
    h = results["holdout"]
    fig = h.plot()
    assert [ax.get_title() for ax in fig.axes] == ["effect on converted", "relative lift on converted"]
    assert _labels(fig.axes[0]) == ["ITT lift (absolute)", "effect on exposed (Wald)", "effect on exposed (ghost)"]
    everything = h.plot(None)
    labels = [x for ax in everything.axes for x in _labels(ax)]
    assert len(labels) == len(h.estimates)
    over = next(e for e in h.estimates if e.name.startswith("attribution over-credit"))
    assert np.isinf(over.ci_high) and f"{over.name} (interval unbounded)" in labels  # Fieller: unbounded here


def test_rows_figure_marks_what_it_cannot_draw():
    fig = plotting.rows_figure(plotting.Rows(["a", "b", "c", "d"], [0.1, np.nan, 0.2, 0.3],
                                             [0.0, 0.0, np.nan, -np.inf], [0.2, 0.3, 0.4, 0.5]))
    assert _labels(fig.axes[0]) == ["a", "b (not estimable)", "c (no interval)", "d (interval unbounded)"]
    with pytest.raises(EstimationError, match="no guardrails"):
        plotting.rows_figure(plotting.Rows([], [], [], []), what="guardrails")


def test_cumulative_plot_over_calendar_time(results):
    """Cut-offs of cumulative_looks are the quantiles of the time column; the bars are value ± z·se."""
    from matplotlib import dates
    from scipy import stats

    from recsys_causal.experiments import MonitoringPlan, monitoring_table
    from recsys_causal.simulate.ab import simulate_ab

    looks = results["looks"]
    t = simulate_ab(n_units=3000, seed=0).units["first_exposure"]
    secs = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    want = pd.to_datetime(np.quantile(secs, np.linspace(0, 1, 7)[1:]), unit="s", utc=True)
    assert (abs(pd.DatetimeIndex(looks["time"]) - want) < pd.Timedelta("1us")).all()
    ax = plotting.plot_cumulative(looks, metric="clicks").axes[0]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    seg = np.array(bars.get_segments())
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(seg[:, :, 1], np.column_stack([looks["value"] - z * looks["se"],
                                                              looks["value"] + z * looks["se"]]))
    np.testing.assert_allclose(seg[:, 0, 0], dates.date2num(want.tz_localize(None).to_pydatetime()))
    table = monitoring_table(looks["value"], looks["se"], plan=MonitoringPlan(planned_n=3000),
                             n=looks["n_treatment"] + looks["n_control"]).assign(time=looks["time"])
    ax = plotting.plot_cumulative(table).axes[0]
    band = [c for c in ax.collections if not isinstance(c, LineCollection)][0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(table["cs_low"].min()) and ys.max() == pytest.approx(table["cs_high"].max())

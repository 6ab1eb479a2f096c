"""The decision rule on typed findings: each section states findings from its typed results, the rule weighs them.

Expected sentences are written out by hand from the inputs (percentages and p-values worked here)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from recsys_causal.estimate import Estimate
from recsys_causal.report.decision import Finding, decide, interval_finding, pct
from recsys_causal.report.sections.ab import Guardrails, Metrics


def lift(value, low, high, p, *, role="primary", lift="relative", metric="ctr", **details):
    return Estimate(name=f"{metric} ({lift})", value=value, se=0.02, ci_low=low, ci_high=high, n=1000,
                    method="welch", p_value=p,
                    details={"metric": metric, "variant": "t", "role": role, "lift": lift, "p_adjusted": p, **details})


def readout(*metrics, flagged=False, p_srm=0.4):
    return SimpleNamespace(srm=SimpleNamespace(flagged=flagged, p_value=p_srm), metrics=list(metrics))


def guardrail(verdict):
    return lift(0.01, -0.02, 0.03, 0.3, metric="hide", guardrail="hide", direction="increase_is_bad", margin=0.1,
                verdict=verdict)


def verdict(*metrics, guardrails=(), **srm):
    return decide(Metrics.findings(readout(*metrics, **srm), 0.05) + Guardrails.findings(guardrails))


UP = lift(0.05, 0.01, 0.09, 0.01)
FLAT = lift(0.01, -0.02, 0.04, 0.5)
DOWN = lift(-0.05, -0.09, -0.01, 0.01)


def test_rule_blockers_then_unknowns_then_positives_then_reasons():
    f = [Finding("reason", "r"), Finding("positive", "p"), Finding("unknown", "u"), Finding("blocker", "b")]
    assert decide(f) == {"verdict": "do not ship", "reasons": ["b", "u", "p", "r"]}
    assert decide(f[:3])["verdict"] == "inconclusive"  # an unknown keeps a positive from shipping
    assert decide(f[:2])["verdict"] == "ship"
    assert decide(f[:1])["verdict"] == "inconclusive" and decide([])["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="kind"):
        Finding("maybe", "x")


def test_primary_metric_sentences_worked_by_hand():
    srm, up = Metrics.findings(readout(UP), 0.05)
    assert srm == Finding("reason", "Sample ratio matches the planned split (p = 0.4).")
    assert up == Finding("positive", "Primary metric ctr (t) is up 5.00% [1.00%, 9.00%] (95% interval (two-sided)), "
                                     "adjusted p = 0.01.")
    _, down = Metrics.findings(readout(DOWN), 0.05)
    assert down == Finding("blocker", "Primary metric ctr (t) is down 5.00% [-9.00%, -1.00%] "
                                      "(95% interval (two-sided)), adjusted p = 0.01.")
    _, flat = Metrics.findings(readout(FLAT), 0.05)
    assert flat == Finding("unknown", "Primary metric ctr (t): 1.00% [-2.00%, 4.00%] (95% interval (two-sided)) "
                                      "is not distinguishable from 0.")


def test_only_primary_relative_lifts_count_and_alpha_is_the_reports():
    ignored = [lift(-0.05, -0.09, -0.01, 0.001, role="secondary"), lift(-0.05, -0.09, -0.01, 0.001, lift="absolute")]
    assert verdict(UP, *ignored)["verdict"] == "ship"
    assert len(Metrics.findings(readout(UP, *ignored), 0.05)) == 2  # the SRM sentence and the primary lift
    borderline = lift(0.05, 0.001, 0.09, 0.07)
    assert decide(Metrics.findings(readout(borderline), 0.05))["verdict"] == "inconclusive"
    assert decide(Metrics.findings(readout(borderline), 0.1))["verdict"] == "ship"


def test_missing_numbers_are_unknown_not_a_crash():
    nan = float("nan")
    degenerate = lift(nan, nan, nan, nan, degenerate="no variance in control")
    _, f = Metrics.findings(readout(degenerate), 0.05)
    assert f == Finding("unknown", "Primary metric ctr (t) is not estimable: no variance in control.")
    _, f = Metrics.findings(readout(lift(0.02, nan, nan, nan)), 0.05)
    assert f.kind == "unknown" and "[n/a, n/a]" in f.text
    assert pct(None) == pct(math.inf) == "n/a"


def test_sample_ratio_mismatch_blocks_first():
    d = verdict(UP, flagged=True, p_srm=1e-6)
    assert d["verdict"] == "do not ship"
    assert d["reasons"][0] == "Sample-ratio mismatch (p = 1e-06): assignment is broken, so no lift can be trusted."


def test_guardrail_verdicts():
    assert verdict(UP, guardrails=[guardrail("ok")])["verdict"] == "ship"
    assert verdict(UP, guardrails=[guardrail("violated")])["verdict"] == "do not ship"
    d = verdict(UP, guardrails=[guardrail("inconclusive")])
    assert d["verdict"] == "inconclusive"
    assert d["reasons"][0] == "Guardrail hide (increase_is_bad, margin 0.1): inconclusive."


@pytest.mark.parametrize("low, high, significant, kind", [(0.1, 0.2, True, "positive"), (-0.2, -0.1, True, "blocker"),
                                                          (-0.1, 0.2, True, "unknown"), (0.1, 0.2, False, "unknown")])
def test_interval_finding(low, high, significant, kind):
    f = interval_finding("Effect", low, high, significant, " up.", " down.", " unclear.")
    assert f.kind == kind
    assert f.text == "Effect" + {"positive": " up.", "blocker": " down.", "unknown": " unclear."}[kind]


def test_example_decision_states_each_primary_lift_of_the_table(example_dir):
    """The decision of the shipped A/B example names each primary relative lift with the numbers of its row."""
    from recsys_causal.report import build_report

    _, json_path, _ = build_report(example_dir / "ab.yaml", example_dir / "r.html", example_dir / "r.json")
    data = json.loads(json_path.read_text())
    rows = [m for m in data["metrics"] if m["role"] == "primary" and m["lift"] == "relative"]
    assert len(rows) == 2 and all(m["p_adjusted"] > 0.05 for m in rows)
    for m in rows:
        text = (f"Primary metric {m['metric']} ({m['variant']}): {100 * m['value']:.2f}% "
                f"[{100 * m['ci_low']:.2f}%, {100 * m['ci_high']:.2f}%] (95% interval (two-sided)) is not "
                "distinguishable from 0.")
        assert text in data["decision"]["reasons"]
    srm = data["data_quality"]["srm"]
    assert f"Sample ratio matches the planned split (p = {srm['p_value']:.2g})." in data["decision"]["reasons"]
    assert data["decision"]["verdict"] == "inconclusive"


def test_lift_kind_reads_the_shared_vocabulary_too():
    """A relative lift named by ``details["quantity"]`` (the shared vocabulary) counts like ``details["lift"]``."""
    new = Estimate(name="ctr", value=0.05, se=0.02, ci_low=0.01, ci_high=0.09, n=10, method="welch", p_value=0.01,
                   details={"metric": "ctr", "variant": "t", "role": "primary", "quantity": "relative lift"})
    absolute = Estimate(name="ctr abs", value=-0.5, se=0.1, ci_low=-0.7, ci_high=-0.3, n=10, method="welch",
                        p_value=1e-6, details={"metric": "ctr", "variant": "t", "role": "primary", "quantity": "lift"})
    assert verdict(new, absolute)["verdict"] == "ship"  # the absolute lift is not a second hypothesis

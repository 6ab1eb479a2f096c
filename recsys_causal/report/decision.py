"""The report's decision rule: ship / do not ship / inconclusive, one sentence per reason.

The rule (blockers first, then what is unknown, then what is positive) is documented in ``reports/README.md``.

>>> decide({"alpha": 0.05, "data_quality": {"srm": {"flagged": True, "p_value": 1e-6}}, "metrics": [],
...         "guardrails": [], "segments": None}, "ab")["verdict"]
'do not ship'
"""

from __future__ import annotations

from recsys_causal.estimate import interval_label


def decide(result: dict, design: str) -> dict:
    """Ship / do not ship / inconclusive, with one sentence per reason (rule in reports/README.md)."""
    reasons, blockers, positives, unknowns = [], [], [], []
    alpha = result["alpha"]
    iv = interval_label(alpha)
    srm = result["data_quality"].get("srm")
    if srm is not None:
        if srm["flagged"]:
            blockers.append(f"Sample-ratio mismatch (p = {srm['p_value']:.2g}): assignment is broken, so no lift "
                            "can be trusted.")
        else:
            reasons.append(f"Sample ratio matches the planned split (p = {srm['p_value']:.2g}).")
    if design == "ab":
        for m in result["metrics"]:
            if m.get("role", "primary") != "primary" or m.get("lift") not in ("relative", None):
                continue
            p = m.get("p_adjusted", m.get("p_value"))
            label = f"{m.get('metric', m['name'])} ({m.get('variant', '')})"
            if m.get("degenerate") and m.get("ci_low") is None:
                unknowns.append(f"Primary metric {label} is not estimable: {m['degenerate']}.")
            elif p is not None and p < alpha and m["value"] > 0:
                positives.append(f"Primary metric {label} is up {_pct(m['value'])} "
                                 f"[{_pct(m['ci_low'])}, {_pct(m['ci_high'])}] ({iv}), adjusted p = {p:.2g}.")
            elif p is not None and p < alpha:
                blockers.append(f"Primary metric {label} is down {_pct(-m['value'])} "
                                f"[{_pct(m['ci_low'])}, {_pct(m['ci_high'])}] ({iv}), adjusted p = {p:.2g}.")
            else:
                unknowns.append(f"Primary metric {label}: {_pct(m['value'])} "
                                f"[{_pct(m['ci_low'])}, {_pct(m['ci_high'])}] ({iv}) is not distinguishable from 0.")
        for g in result["guardrails"]:
            v = g.get("verdict")
            text = f"Guardrail {g.get('guardrail')} ({g.get('direction')}, margin {g.get('margin')}): {v}."
            (blockers if v == "violated" else unknowns if v == "inconclusive" else reasons).append(text)
        seg = result.get("segments")
        if seg and seg["harms"]:
            for h in seg["harms"]:
                blockers.append(f"Segment {h['dimension']}={h['segment']} is harmed on {h['metric']} "
                                f"(effect {h['effect']:.3g}, adjusted one-sided p = {h['p_adjusted']:.2g}).")
    elif design == "holdout":
        itt = next(e for e in result["holdout"]["estimates"] if e["name"] == "ITT lift (absolute)")
        text = f"Intent-to-treat lift {itt['value']:.3g} [{itt['ci_low']:.3g}, {itt['ci_high']:.3g}] ({iv})"
        if itt["ci_low"] > 0:
            positives.append(text + ": the module adds conversions.")
        elif itt["ci_high"] < 0:
            blockers.append(text + ": the module costs conversions.")
        else:
            unknowns.append(text + " is not distinguishable from 0.")
    else:
        sb = result["switchback"]
        est, ri = sb["estimates"][0], sb["randomization"]
        text = (f"Effect {est['value']:.3g} [{est['ci_low']:.3g}, {est['ci_high']:.3g}] ({iv}; {est['method']}), "
                f"randomization p = {ri['p_value']:.2g}")
        if est["ci_low"] > 0 and ri["p_value"] < alpha:
            positives.append(text + ".")
        elif est["ci_high"] < 0 and ri["p_value"] < alpha:
            blockers.append(text + ".")
        else:
            unknowns.append(text + ": not conclusive.")
    if blockers:
        verdict = "do not ship"
    elif positives and not unknowns:
        verdict = "ship"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "reasons": blockers + unknowns + positives + reasons}


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}%"

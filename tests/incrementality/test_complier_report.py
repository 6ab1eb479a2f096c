"""The holdout section of ``causal-report`` shows the effect on the exposed by segment when ``holdout.segments``
is set: the same numbers as :func:`complier_effects`, and nothing new without the key."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_causal.incrementality.complier import complier_effects


def _units(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    """A holdout table whose module helps loyal users more (one-sided: the holdout is never exposed)."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["new", "loyal"], n)
    treated = rng.random(n) < 0.8
    reach = rng.random(n) < np.where(seg == "loyal", 0.5, 0.3)
    exposed = reach & treated
    p = 0.05 + 0.02 * reach + exposed * np.where(seg == "loyal", 0.06, 0.01)
    return pd.DataFrame({"unit_id": np.arange(n), "group": np.where(treated, "treated", "holdout"),
                         "exposed": exposed, "converted": (rng.random(n) < p).astype(float),
                         "segment": seg, "pre_conversions": rng.poisson(1.0, n).astype(float)})


def _report(tmp_path, extra: str) -> tuple[dict, str]:
    from recsys_causal.report.cli import build_report

    _units().to_parquet(tmp_path / "units.parquet")
    cfg = tmp_path / "holdout.yaml"
    cfg.write_text("experiment: {name: seg, design: holdout, unit: unit_id}\ndata: {units: units.parquet}\n"
                   f"holdout: {{ghost_col: null, covariates: [pre_conversions]{extra}}}\n")
    html, js, _ = build_report(cfg, tmp_path / "r.html", tmp_path / "r.json")
    return json.loads(js.read_text()), html.read_text()


def test_holdout_report_shows_complier_effects_by_segment(tmp_path):
    data, html = _report(tmp_path, ", segments: [segment]")
    sec = next(v for k, v in _walk(data) if k == "complier_segments")[0]
    direct = complier_effects(_units(), outcome="converted", takeup="exposed", assignment="group",
                              labels=("treated", "holdout"), segment="segment", covariates=["pre_conversions"])
    got = {e["name"]: e["value"] for e in sec["estimates"]}
    for e in direct.estimates:
        assert got[e.name] == pytest.approx(e.value, abs=1e-12)
    assert sec["p_value"] == pytest.approx(direct.heterogeneity["p_value"].iloc[0], abs=1e-12)
    assert "Effect on the exposed by segment" in html and "difference: new − loyal" in html


def test_without_segments_the_holdout_report_has_no_complier_table(tmp_path):
    data, html = _report(tmp_path, "")
    assert not [k for k, _ in _walk(data) if k == "complier_segments"]
    assert "Effect on the exposed by" not in html


def _walk(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)

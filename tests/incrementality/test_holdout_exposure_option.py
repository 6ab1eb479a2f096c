"""allow_holdout_exposure: the Wald estimate becomes a complier effect, and the readout and the report say so;
the option is accepted in the report YAML (the leak error recommends it)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from recsys_causal.incrementality import analyze_holdout


def _leaky(seed: int, n: int = 20_000, *, d_complier: float = 0.05, d_always: float = 0.20) -> pd.DataFrame:
    """Units of three types: always-exposed (15%, exposed in either group), compliers (35%, exposed only when
    treated), never-exposed. Exposure raises conversion by ``d_complier`` for compliers and ``d_always`` for
    always-exposed units, so the complier effect is ``d_complier`` and the effect on exposed treated units is
    (0.35 d_complier + 0.15 d_always) / 0.5."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, n, p=[0.15, 0.35, 0.50])  # 0 always, 1 complier, 2 never
    treated = rng.random(n) < 0.5
    exposed = (kind == 0) | ((kind == 1) & treated)
    p = 0.10 + np.where(exposed, np.where(kind == 0, d_always, d_complier), 0.0)
    return pd.DataFrame({"unit_id": np.arange(n), "group": np.where(treated, "treated", "holdout"),
                         "exposed": exposed, "converted": (rng.random(n) < p).astype(float)})


def test_holdout_exposure_is_flagged_as_a_complier_effect():
    r = analyze_holdout(_leaky(1), allow_holdout_exposure=True)
    n_leak = r.counts["holdout_exposed"]
    assert n_leak > 1000
    assert any("compliers" in w and str(n_leak) in w for w in r.warnings)
    assert not any("holdout units cannot be exposed" in a for a in r.assumptions)
    assert any(a.startswith("Two-sided non-compliance") for a in r.assumptions)
    wald = r["effect on exposed (Wald)"]
    assert "complier" in wald.method and any("compliers" in w for w in wald.warnings)
    # without a leak nothing changes
    clean = analyze_holdout(_leaky(1).assign(exposed=lambda d: d["exposed"] & (d["group"] == "treated")))
    assert not clean.warnings and not clean["effect on exposed (Wald)"].warnings
    assert any("holdout units cannot be exposed" in a for a in clean.assumptions)


def test_wald_with_holdout_exposure_estimates_the_complier_effect():
    """100 simulated holdouts (20,000 units): the Wald interval covers the complier effect 0.05 (at 95%, fewer
    than 89 of 100 has probability < 1%) and rarely the effect on the exposed treated units, 0.095."""
    on_compliers, on_exposed = [], []
    for s in range(100):
        w = analyze_holdout(_leaky(100 + s), allow_holdout_exposure=True)["effect on exposed (Wald)"]
        on_compliers.append(w.ci_low <= 0.05 <= w.ci_high)
        on_exposed.append(w.ci_low <= (0.35 * 0.05 + 0.15 * 0.20) / 0.5 <= w.ci_high)
    assert np.sum(on_compliers) >= 89 and np.mean(on_exposed) < 0.3


def test_report_yaml_accepts_allow_holdout_exposure(tmp_path, capsys):
    from recsys_causal.report.cli import main

    _leaky(2, n=4000).to_parquet(tmp_path / "units.parquet")
    base = ("experiment: {name: leak, design: holdout, unit: unit_id}\ndata: {units: units.parquet}\n"
            "holdout: {ghost_col: null%s}\n")
    strict, allowed = tmp_path / "strict.yaml", tmp_path / "allowed.yaml"
    strict.write_text(base % "")
    allowed.write_text(base % ", allow_holdout_exposure: true")
    out = ["--quiet", "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    assert main([str(strict), *out]) == 2
    assert "holdout.allow_holdout_exposure: true" in capsys.readouterr().err
    assert main([str(allowed), *out]) in (0, 1, 3)
    h = json.loads((tmp_path / "r.json").read_text())["holdout"]
    assert any("compliers" in w for w in h["warnings"])
    assert any(a.startswith("Two-sided non-compliance") for a in h["assumptions"])
    page = (tmp_path / "r.html").read_text()
    assert "holdout units cannot be exposed" not in page
    assert "Warning: " in page and "effect on compliers" in page and "a complier effect here" in page

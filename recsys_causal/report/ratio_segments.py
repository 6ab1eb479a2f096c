"""Segment effects of ratio metrics (``Σ numerator / Σ denominator`` per arm), by the delta method.

Within each segment and arm (a cell) with ratio ``R = Σn / Σd`` and mean denominator ``d̄``, every unit gets the
linearised value ``y = R + (n − R·d) / d̄``. Its cell mean is exactly ``R`` and the variance of that mean is the
delta-method variance of ``R``, so the segment effects of ``y`` (Welch, CUPED with the report's covariates) are
the ratio differences with delta-method standard errors; heterogeneity tests and harm flags follow unchanged.

>>> import pandas as pd
>>> y = linearised(np.array([1.0, 2, 0, 3]), np.array([2.0, 4, 1, 3]), np.array(["a", "a", "b", "b"]))
>>> y.round(4).tolist()  # cell a: R = 3/6, d̄ = 3; cell b: R = 3/4, d̄ = 2 (its mean is R)
[0.5, 0.5, 0.375, 1.125]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from recsys_causal.hte.segments import SegmentReadout


def linearised(num: np.ndarray, den: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Each unit's linearised ratio value within its cell (NaN where the numerator or denominator is missing)."""
    frame = pd.DataFrame({"n": num, "d": den, "c": cells})
    ok = frame["n"].notna() & frame["d"].notna()
    g = frame[ok].groupby("c", sort=False)
    sums = g[["n", "d"]].transform("sum")
    r = sums["n"] / sums["d"]
    dbar = g["d"].transform("mean")
    out = np.full(len(frame), np.nan)
    out[ok.to_numpy()] = (r + (frame.loc[ok, "n"] - r * frame.loc[ok, "d"]) / dbar).to_numpy()
    return out


def ratio_segment_effects(units: pd.DataFrame, metric, cfg, treatment: str) -> list[SegmentReadout]:
    """Segment effects of the ratio ``metric`` (a report metric spec) for every segment dimension of ``cfg``,
    one readout per dimension (adjustments and tests are per metric and dimension, as for mean metrics)."""
    from recsys_causal.hte import segment_effects
    from recsys_causal.logs.segments import lifecycle_segment

    seg = cfg.segments
    dims = {c: units[c].astype("string").fillna("(missing)").to_numpy(dtype=object) for c in seg.columns}
    if seg.prior_interactions:
        dims["lifecycle"] = lifecycle_segment(pd.to_numeric(units[seg.prior_interactions]).to_numpy())
    arm = units[cfg.variants.column].astype(str).to_numpy()
    num = pd.to_numeric(units[metric.numerator], errors="coerce").to_numpy(dtype=float)
    den = pd.to_numeric(units[metric.denominator], errors="coerce").to_numpy(dtype=float)
    kw = {"variant_col": cfg.variants.column, "control": cfg.variants.control, "treatment": treatment,
          "covariates": cfg.covariates, "directions": {g.metric: g.direction for g in cfg.guardrails},
          "min_units": seg.min_units, "merge_small": seg.merge_small, "alpha": cfg.alpha,
          "unit_col": cfg.experiment.unit}
    out = []
    for dim, labels in dims.items():
        if seg.merge_small:  # the cells are the segments after small ones are merged, as segment_effects does
            labels = _merged(units.assign(**{dim: labels, "_d": den}), dim, labels, kw)
        frame = units.assign(**{dim: labels, metric.name: linearised(num, den, labels.astype(str) + "\0" + arm)})
        out.append(segment_effects(frame, metrics=[metric.name], segments=[dim], **kw))
    return out


def _merged(frame: pd.DataFrame, dim: str, labels: np.ndarray, kw: dict) -> np.ndarray:
    from recsys_causal.hte import segment_effects
    from recsys_causal.hte.segments import SMALL

    kept = {e.details["segment"] for e in segment_effects(frame, metrics=["_d"], segments=[dim], **kw).effects}
    return np.where(np.isin(labels, list(kept)), labels, SMALL).astype(object)

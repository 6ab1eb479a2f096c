"""The cumulative effect by calendar day: at the end of each day of enrolment, the effect among the units first
exposed up to that day (each with its full metric window), with a Welch interval — and, when a monitoring plan
is configured, the sequential readout of those daily looks (confidence sequence and group-sequential bound).

Vectorised: per day and arm the sums a metric needs are added up once and accumulated over the days. A mean or
proportion needs ``k, Σy, Σy²``; a ratio ``Σn / Σd`` needs ``k, Σn, Σd, Σn², Σd², Σnd`` (delta method:
``var(R) = Σ(n − R d)² / ((k − 1) k d̄²)``).

>>> import pandas as pd
>>> u = pd.DataFrame({"t": pd.to_datetime(["2026-06-01", "2026-06-01", "2026-06-01", "2026-06-01",
...                                        "2026-06-02", "2026-06-02"], utc=True),
...                   "v": ["a", "a", "b", "b", "a", "b"], "y": [1.0, 3, 2, 2, 2, 5]})
>>> tab = cumulative_by_day(u, ["y"], time_col="t", variant_col="v", control="a", treatment="b", alpha=0.05)
>>> tab[["day", "n_treatment", "n_control", "value"]].to_dict("records")[-1]
{'day': '2026-06-02', 'n_treatment': 3, 'n_control': 3, 'value': 1.0}
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _sums(units: pd.DataFrame, columns: list[str], time_col: str, days: list[str]) -> pd.DataFrame:
    """Per calendar day (UTC), the cumulative count and sums of the products the metric needs."""
    x = units[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(x).any(axis=1)
    x = x[ok]
    cols = {"k": np.ones(len(x))}
    for i in range(len(columns)):
        cols[f"s{i}"] = x[:, i]
        for j in range(i, len(columns)):
            cols[f"s{i}{j}"] = x[:, i] * x[:, j]
    day = pd.to_datetime(units.loc[ok, time_col], utc=True).dt.strftime("%Y-%m-%d").to_numpy()
    daily = pd.DataFrame(cols).groupby(day).sum()
    return daily.reindex(days, fill_value=0.0).cumsum()


def _mean_var(s: pd.DataFrame, ratio: bool) -> tuple[np.ndarray, np.ndarray]:
    """The arm's estimate and the variance of it at each day, from its cumulative sums."""
    k = s["k"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        if ratio:
            r = s["s0"].to_numpy() / s["s1"].to_numpy()
            resid = s["s00"].to_numpy() - 2 * r * s["s01"].to_numpy() + r**2 * s["s11"].to_numpy()
            var = resid / ((k - 1) * k * (s["s1"].to_numpy() / k) ** 2)
        else:
            r = s["s0"].to_numpy() / k
            var = (s["s00"].to_numpy() - k * r**2) / ((k - 1) * k)
    return r, np.where(k >= 2, var, np.nan)


def cumulative_by_day(units: pd.DataFrame, columns: list[str], *, time_col: str, variant_col: str, control: str,
                      treatment: str, alpha: float) -> pd.DataFrame:
    """The cumulative difference (treatment − control) by day of first exposure of a mean metric (``columns``
    ``[y]``) or a ratio metric (``[numerator, denominator]``); units missing a value are left out."""
    arm = units[variant_col].astype(str).to_numpy()
    days = sorted(pd.to_datetime(units[time_col], utc=True).dt.strftime("%Y-%m-%d").dropna().unique())
    ratio = len(columns) == 2
    t = _sums(units[arm == str(treatment)], columns, time_col, days)
    c = _sums(units[arm == str(control)], columns, time_col, days)
    (mt, vt), (mc, vc) = _mean_var(t, ratio), _mean_var(c, ratio)
    kt, kc = t["k"].to_numpy(), c["k"].to_numpy()
    se = np.sqrt(vt + vc)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (vt + vc) ** 2 / (vt**2 / (kt - 1) + vc**2 / (kc - 1))
    half = stats.t.ppf(1 - alpha / 2, df) * se
    value = mt - mc
    return pd.DataFrame({"day": days, "n_treatment": kt.astype(int), "n_control": kc.astype(int), "value": value,
                         "se": se, "df": df, "ci_low": value - half, "ci_high": value + half})


def monitoring_looks(table: pd.DataFrame, plan) -> pd.DataFrame:
    """The sequential readout of the daily looks of ``table`` under a :class:`MonitoringPlan` (looks with an
    undefined standard error, before both arms have two units, are left out)."""
    from recsys_causal.experiments.sequential import monitoring_table

    ok = table[np.isfinite(table["se"]) & (table["se"] > 0)]
    tab = monitoring_table(ok["value"], ok["se"], plan=plan, n=ok["n_treatment"] + ok["n_control"])
    keep = ["information_fraction", "cs_low", "cs_high", "cs_reject", "gs_bound", "z", "gs_reject"]
    out = tab[keep].assign(day=ok["day"].to_numpy(), n=(ok["n_treatment"] + ok["n_control"]).to_numpy(),
                           value=ok["value"].to_numpy())
    out.attrs["warnings"] = list(tab.attrs.get("warnings", []))
    return out[["day", "n", "value", *keep]]

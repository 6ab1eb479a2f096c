"""An interpretable tree of segments from a CATE model, with honest per-leaf effects (exploratory).

The tree is grown on half of the units (on their CATE predictions); leaf effects and Welch intervals are
estimated on the other half, so the intervals are not inflated by the search. The result is labelled
exploratory: a segment found by search is a hypothesis for the next experiment.

>>> import numpy as np, pandas as pd
>>> from recsys_causal.hte.cate import fit_cate
>>> rng = np.random.default_rng(2); n = 4000
>>> df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "t": rng.random(n) < 0.5})
>>> df["y"] = np.where(df.x > 0, 2.0, 0.0) * df.t + rng.normal(size=n)
>>> fit = fit_cate(df, outcome="y", treatment="t", covariates=["x", "z"], treatment_probability=0.5,
...                method="linear")
>>> leaves = segment_tree(df, fit, outcome="y", treatment="t", max_depth=1)
>>> len(leaves)
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_causal.caveats import emits_caveats
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.hte.cate import CateFit
from recsys_causal.kernel import group_mean, ratio


@emits_caveats(of=lambda table: sorted({w for e in table for w in e.warnings}))
def segment_tree(
    frame: pd.DataFrame,
    fit: CateFit,
    *,
    outcome: str,
    treatment: str,
    max_depth: int = 2,
    min_leaf_share: float = 0.05,
    alpha: float = 0.05,
    seed: int = 0,
    instrument: str | None = None,
) -> EstimateTable:
    """Leaves of a depth-``max_depth`` tree on the CATE, each with an honest effect estimate; with
    ``instrument`` (the assignment of a complier CATE, ``treatment`` the take-up) the leaf effect is the Wald
    ratio ITT ÷ take-up ITT (delta method) on the held-out half."""
    from sklearn.tree import DecisionTreeRegressor

    X = frame[list(fit.covariates)].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    t = frame[instrument if instrument else treatment].to_numpy().astype(bool)
    take = frame[treatment].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    grow = rng.random(len(y)) < 0.5
    tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=max(2, int(min_leaf_share * grow.sum())),
                                 random_state=seed)
    tree.fit(X[grow], fit.effect(frame.loc[grow]))
    leaf = tree.apply(X)
    rules = _rules(tree, list(fit.covariates))
    out = []
    for node in np.unique(leaf):
        m = (~grow) & (leaf == node)
        if (m & t).sum() < 2 or (m & ~t).sum() < 2:
            continue
        lin = group_mean(y[m], t[m]) - group_mean(y[m], ~t[m])
        if instrument:
            first = group_mean(take[m], t[m]) - group_mean(take[m], ~t[m])
            if abs(first.value) < 1e-12:
                continue
            lin = ratio(lin, first)
        out.append(Estimate.from_normal(
            name=rules[node], value=lin.value, se=lin.se, n=int(m.sum()), alpha=alpha,
            method="honest leaf " + ("complier effect (Wald, delta method)" if instrument else "effect (Welch)")
                   + ", exploratory",
            warnings=("exploratory: segment found by search; confirm in a new experiment",),
            details={"leaf": int(node), "predicted_cate": float(tree.tree_.value[node].ravel()[0])}))
    return EstimateTable(out, title="Exploratory CATE tree (honest leaf effects)")


def _rules(tree, names) -> dict[int, str]:
    t = tree.tree_
    rules: dict[int, str] = {}

    def walk(node, conds):
        if t.children_left[node] == -1:
            rules[node] = " and ".join(conds) or "all units"
            return
        name, thr = names[t.feature[node]], t.threshold[node]
        walk(t.children_left[node], [*conds, f"{name} <= {thr:.4g}"])
        walk(t.children_right[node], [*conds, f"{name} > {thr:.4g}"])

    walk(0, [])
    return rules

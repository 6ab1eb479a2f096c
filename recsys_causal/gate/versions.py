"""Support per logging-policy version: a log whose requests were ranked by several policy versions (a rollout
inside the window, column ``ranking_policy_version`` by default) is screened with the importance weights of each
version's requests summarised on their own, so a version that gives the target no support is seen even when the
pooled ESS looks healthy.

Rows are reported whenever the evaluated requests hold two or more versions; with ``per_version`` (YAML
``support: {per_version: true}``) a weakly supported version makes the candidate's support at most *weak*
(and the screen inconclusive), the reason naming the version.

>>> import numpy as np
>>> rows, reasons = version_support(np.array([1.0, 1.0, 0.0, 0.0]), np.array(["v1", "v1", "v2", "v2"]))
>>> [(r["version"], r["n"], r["ess_ratio"]) for r in rows], reasons[-1]
([('v1', 2, 1.0), ('v2', 2, 0.0)], 'version v2: the target puts no weight on its 2 logged requests (no support)')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_causal.gate.modes import support_rows
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.support import SupportThresholds, group_support

DEFAULT_VERSION_COLUMN = "ranking_policy_version"


def version_support(w: np.ndarray, versions: np.ndarray, thresholds: SupportThresholds | None = None
                    ) -> tuple[list[dict], list[str]]:
    """ESS, ESS ratio and largest weight share per version from per-request weights ``w`` (one per evaluated
    request, ``versions`` its version), and the reasons a version is weakly supported."""
    th = thresholds or SupportThresholds()
    labels = pd.Series(versions).astype(str).to_numpy()
    rows = support_rows(group_support(w, labels, "version"), "version")
    reasons = []
    for r in rows:
        version, n, ess, share = r["version"], r["n"], r["ess"], r["max_weight_share"]
        if ess == 0:  # the target puts no weight on this version
            reasons.append(f"version {version}: the target puts no weight on its {n} logged requests (no support)")
            continue
        if ess / n < th.min_ess_ratio:
            reasons.append(f"version {version}: ESS {ess:.0f} of {n} ({ess / n:.1%}) is below {th.min_ess_ratio:.1%}")
        if share > th.max_weight_share:
            reasons.append(f"version {version}: one request carries {share:.1%} of the weight (at most "
                           f"{th.max_weight_share:.1%})")
    return rows, reasons


def request_versions_or_none(log: DecisionLog, version_col: str | None, requests: np.ndarray) -> np.ndarray | None:
    """The version of each request in ``requests`` when ``version_col`` is in the log and they hold two or more
    versions, else None (a single-version log reports nothing per version)."""
    if not version_col or version_col not in log.requests.columns:
        return None
    labels = log.request_column(version_col)[requests]
    present = pd.Series(labels).dropna()
    return labels if present.nunique() >= 2 and present.size == len(labels) else None

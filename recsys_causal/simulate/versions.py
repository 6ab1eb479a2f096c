"""Several ranking-policy versions in one simulated log: a rollout inside the window.

``policy_versions={"v1": {"share": 0.5, "temperature": 1.0, "epsilon": 0.1}, "v2": {...}}`` gives the earliest
``share`` of the requests (by decision time) to the first version, the next share to the second, and so on;
each version ranks with its own Plackett–Luce temperature and exploration rate ε. Every shown candidate logs its
own version's propensity (``propensity``) and, for the balance heuristic, every version's propensity of the
same item at the same position (``propensity_<version>``).

>>> import numpy as np
>>> v = version_setup({"a": {"share": 0.25, "temperature": 1.0, "epsilon": 0.1},
...                    "b": {"share": 0.75, "temperature": 0.5, "epsilon": 0.3}}, 4)
>>> v.names[v.of_request].tolist(), v.temperature.tolist(), v.epsilon.tolist()
(['a', 'b', 'b', 'b'], [1.0, 0.5, 0.5, 0.5], [0.1, 0.3, 0.3, 0.3])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from recsys_causal.plackett_luce import plackett_luce_marginals, uniform_slate_marginals


@dataclass(frozen=True)
class Versions:
    """Per request (requests are in decision-time order): the version index, temperature and ε."""

    names: np.ndarray
    of_request: np.ndarray
    temperature: np.ndarray
    epsilon: np.ndarray
    settings: tuple[tuple[float, float], ...]  # (temperature, ε) per version


def version_setup(policy_versions: Mapping[str, Mapping[str, float]], n_requests: int) -> Versions:
    """Assign contiguous blocks of requests to versions by their shares."""
    names = np.array(list(policy_versions), dtype=object)
    shares = np.array([float(v["share"]) for v in policy_versions.values()])
    cuts = np.round(np.cumsum(shares / shares.sum()) * n_requests).astype(np.int64)
    of_request = np.searchsorted(cuts, np.arange(n_requests), side="right")
    settings = tuple((float(v.get("temperature", 1.0)), float(v.get("epsilon", 0.1)))
                     for v in policy_versions.values())
    temp = np.array([s[0] for s in settings])[of_request]
    eps = np.array([s[1] for s in settings])[of_request]
    return Versions(names, of_request, temp, eps, settings)


def version_marginals(v: Versions, score: np.ndarray, offsets: np.ndarray, slate_size: int,
                      eligible: np.ndarray) -> list[np.ndarray]:
    """Every version's exact marginal position probabilities (candidate rows × positions) on every request."""
    uni = uniform_slate_marginals(offsets, slate_size, eligible=eligible)
    return [(1 - eps) * plackett_luce_marginals(score, offsets, slate_size, temp, eligible=eligible) + eps * uni
            for temp, eps in v.settings]


def add_version_columns(requests, candidates, v: Versions, each: list[np.ndarray], shown: np.ndarray,
                        pos_idx: np.ndarray) -> None:
    """Write each request's version and ε, and every version's propensity of each shown item at its position
    (``propensity_<version>``), into the simulated frames."""
    requests["ranking_policy_version"] = v.names[v.of_request].astype(str)
    requests["exploration_policy_version"] = [f"eps-{e:g}" for e in v.epsilon]
    for name, pv in zip(v.names, each, strict=True):
        candidates[f"propensity_{name}"] = np.where(shown, pv[np.arange(shown.size), pos_idx], np.nan)

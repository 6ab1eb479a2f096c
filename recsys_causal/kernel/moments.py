"""Sufficient statistics of per-unit columns: count, sums and cross-products, optionally per cluster.

Every estimator in the off-policy and A/B readouts is a smooth function of means, so its value and its
delta-method standard error follow from ``n``, ``Σ x`` and ``Σ x xᵀ`` over the analysis units (requests or
users). The local path computes them with numpy; DuckDB and Spark compute the same sums where the data lives
and return only these numbers. The final step — :meth:`Moments.linear_se` and the estimators built on it — is
the same code for every engine.

The column ``"one"`` (the constant 1) is always present, so ``sums["one"]`` is the count of units.

>>> import numpy as np
>>> x = np.array([1.0, 2.0, 4.0, 7.0])
>>> m = Moments.from_columns({"x": x})
>>> m.n, m.mean("x")
(4, 3.5)
>>> bool(np.isclose(m.linear_se({"x": 1.0}), np.std(x, ddof=1) / 2))
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ONE = "one"


@dataclass(frozen=True)
class Moments:
    """``n`` units; ``sums[j] = Σ x_j``; ``gram[j, k] = Σ x_j x_k``; ``cluster_sums[g, j] = Σ_{i∈g} x_j``."""

    names: tuple[str, ...]
    sums: np.ndarray
    gram: np.ndarray
    cluster_sums: np.ndarray | None = None

    @classmethod
    def from_columns(cls, columns: Mapping[str, np.ndarray], clusters: np.ndarray | None = None) -> Moments:
        """Moments of equally long columns (a constant ``one`` column is added)."""
        names = (ONE, *[k for k in columns if k != ONE])
        n = len(next(iter(columns.values()))) if columns else 0
        x = np.empty((n, len(names)))
        x[:, 0] = 1.0
        for j, k in enumerate(names[1:], start=1):
            x[:, j] = columns[k]
        per_cluster = None
        if clusters is not None:
            codes, _ = pd.factorize(np.asarray(clusters), use_na_sentinel=False)
            per_cluster = np.zeros((codes.max() + 1 if n else 0, len(names)))
            _bincount_rows(per_cluster, codes, x)
        return cls(names, x.sum(axis=0), x.T @ x, per_cluster)

    @classmethod
    def from_sums(cls, names: Sequence[str], n: float, sums: Mapping[str, float],
                  products: Mapping[tuple[str, str], float], cluster_sums: np.ndarray | None = None) -> Moments:
        """Moments from sums computed elsewhere: ``products[(a, b)] = Σ a·b`` for every pair (either order);
        ``cluster_sums`` columns follow ``(one, *names)``."""
        full = (ONE, *[k for k in names if k != ONE])
        s = np.array([float(n)] + [float(sums[k]) for k in full[1:]])
        total = {ONE: float(n), **{k: float(sums[k]) for k in full[1:]}}
        g = np.empty((len(full), len(full)))
        for i, a in enumerate(full):
            for j, b in enumerate(full):
                if a == ONE or b == ONE:
                    g[i, j] = total[b if a == ONE else a]
                else:
                    g[i, j] = float(products[(a, b)] if (a, b) in products else products[(b, a)])
        return cls(full, s, g, cluster_sums)

    @property
    def n(self) -> int:
        return int(round(self.sums[0]))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def sum(self, name: str) -> float:
        return float(self.sums[self.index(name)])

    def mean(self, name: str) -> float:
        return float(self.sums[self.index(name)] / self.sums[0])

    def coefficients(self, coef: Mapping[str, float]) -> np.ndarray:
        c = np.zeros(len(self.names))
        for k, v in coef.items():
            c[self.index(k)] += v
        return c

    def centered(self, names: Sequence[str]) -> np.ndarray:
        """Centred cross-product matrix ``Σ (x - x̄)(x - x̄)ᵀ`` of the named columns."""
        idx = [self.index(k) for k in names]
        s = self.sums[idx]
        return self.gram[np.ix_(idx, idx)] - np.outer(s, s) / self.sums[0]

    def linear_se(self, coef: Mapping[str, float] | np.ndarray) -> float:
        """Standard error of a mean-type estimate whose per-unit influence value is ``Σ_j coef_j x_j``
        (plus any constant): ``sd(ψ) / √n``, or the cluster-robust form ``√(G/(G-1) Σ_g S_g²) / n``."""
        c = coef if isinstance(coef, np.ndarray) else self.coefficients(coef)
        n = self.sums[0]
        if n < 2:
            return float("nan")
        mean_psi = float(self.sums @ c) / n
        if self.cluster_sums is None:
            ss = float(c @ self.gram @ c) - n * mean_psi**2
            return float(np.sqrt(max(ss, 0.0) / (n - 1) / n))
        per = self.cluster_sums @ c - self.cluster_sums[:, 0] * mean_psi
        g = per.size
        if g < 2:
            return float("nan")
        return float(np.sqrt(g / (g - 1) * np.sum(per**2)) / n)

    @property
    def n_clusters(self) -> int | None:
        return None if self.cluster_sums is None else int(self.cluster_sums.shape[0])


def _bincount_rows(out: np.ndarray, codes: np.ndarray, x: np.ndarray) -> None:
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=out.shape[0])

"""From the moments of the estimators' ratio terms to :class:`~recsys_causal.estimate.Estimate` rows: the final
step shared by the in-memory path, the DuckDB and Spark engines and the gate.

Per request, the columns are the logged reward ``y`` and, for estimator block ``i`` and ratio term ``k``, its
numerator ``e{i}a{k}`` and denominator ``e{i}b{k}`` (:func:`estimator_columns`). An estimator
``Σ_k Σ a_k / Σ b_k`` has influence value ``Σ_k (a_k − v_k b_k) / mean(b_k)``, a linear combination of the
columns, so its standard error — and that of every lift, by the delta method — is
:meth:`~recsys_causal.kernel.moments.Moments.linear_se` of those coefficients.

>>> import numpy as np
>>> from recsys_causal.kernel.moments import Moments
>>> from recsys_causal.ope.components import SlotComponents
>>> from recsys_causal.ope.single_slot import IPS
>>> c = SlotComponents(w=np.array([2.0, 0.5, 1.0]), y=np.array([1.0, 0.0, 1.0]), q_a=np.zeros(3),
...                    dm=np.zeros(3), requests=np.arange(3), n_excluded=0)
>>> rows = estimates_from_moments(Moments.from_columns(estimator_columns([IPS()], c, c.y)), [IPS()],
...                               policy="new", reward="click")
>>> [(e.details["quantity"], round(e.value, 4)) for e in rows]
[('value', 0.6667), ('value', 1.0), ('lift', 0.3333), ('relative lift', 0.5)]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate
from recsys_causal.kernel.contrast import delta_ratio
from recsys_causal.kernel.moments import Moments
from recsys_causal.ope.estimators import Estimator

QUANTITIES = ("value", "lift", "relative lift")


def term_columns(i: int, k: int) -> tuple[str, str]:
    """Names of the numerator and denominator columns of ratio term ``k`` of estimator block ``i``."""
    return f"e{i}a{k}", f"e{i}b{k}"


def block_columns(i: int, estimator: Estimator, c, terms: list | None = None) -> dict[str, np.ndarray]:
    """The ratio-term columns of estimator block ``i``: ``estimator`` on components ``c`` (``terms``: its
    terms on ``c`` when already computed)."""
    cols = {}
    for k, (a, b) in enumerate(estimator.terms(c) if terms is None else terms):
        name_a, name_b = term_columns(i, k)
        cols[name_a] = np.asarray(a, dtype=float)
        cols[name_b] = np.broadcast_to(np.asarray(b, dtype=float), cols[name_a].shape)
    return cols


def estimator_columns(estimators: Sequence[Estimator], c, logged_value: np.ndarray,
                      terms: Sequence[list] | None = None) -> dict[str, np.ndarray]:
    """Per-request columns whose moments determine every estimate: the logged reward ``y`` and the ratio-term
    columns of every estimator (block ``i`` is ``estimators[i]``) on components ``c`` (``terms[i]``: the terms
    of ``estimators[i]`` on ``c`` when already computed)."""
    cols = {"y": np.asarray(logged_value, dtype=float)}
    for i, est in enumerate(estimators):
        cols.update(block_columns(i, est, c, None if terms is None else terms[i]))
    return cols


def block_value(mom: Moments, i: int) -> tuple[float, np.ndarray]:
    """The value of estimator block ``i`` and its influence coefficients on the moment columns."""
    value, coef = 0.0, np.zeros(len(mom.names))
    k = 0
    while (names := term_columns(i, k))[0] in mom.names:
        sa, sb = mom.sum(names[0]), mom.sum(names[1])
        mb = sb / mom.sums[0]
        if mb <= 0:
            raise EstimationError("the importance weights sum to 0: the target policy never takes a logged "
                                  "action", fix="check support: the logs cannot evaluate this policy")
        v = sa / sb
        value += v
        coef += mom.coefficients({names[0]: 1 / mb, names[1]: -v / mb})
        k += 1
    return value, coef


def estimates_from_moments(mom: Moments, estimators: Sequence[Estimator], *, policy: str, reward: str,
                           n_excluded: int = 0, alpha: float = 0.05, warnings: Sequence[str] = (),
                           estimator_warnings: Sequence[Sequence[str]] | None = None,
                           baseline: tuple[str, int] | None = None) -> list[Estimate]:
    """The baseline's value, then per estimator its value, lift and relative lift over the baseline, from the
    moments of :func:`estimator_columns` — the final step of the local, DuckDB and Spark paths and the gate.

    The baseline is the logging policy (the on-policy mean of ``y``) unless ``baseline = (name, j)``: the
    target policy ``name`` whose value estimator block ``j`` holds (same requests, so the lift is paired).
    ``estimator_warnings`` (one sequence per estimator) are added to that estimator's rows; the relative lift
    is left out when the baseline's value is 0.
    """
    n_units = mom.n_clusters or mom.n
    warn = tuple(warnings) + ((f"{n_excluded} requests without an observed reward at the evaluated positions were "
                               "left out",) if n_excluded else ())
    details = {"policy": policy, "reward": reward, "excluded_requests": n_excluded}

    def estimate(name, value, coef, method, extra, null=None, more=()):
        return Estimate.from_normal(name=name, value=float(value), se=mom.linear_se(coef), n=n_units,
                                    method=method, alpha=alpha, null=null, warnings=warn + tuple(more),
                                    details={**details, **extra})

    if baseline is None:
        base_name, (base_value, base) = "logging", (mom.mean("y"), mom.coefficients({"y": 1.0}))
        out = [estimate(f"logging | {reward}", base_value, base, "on-policy mean",
                        {"policy": "logging", "estimator": "on-policy", "quantity": "value"})]
    else:
        base_name, (base_value, base) = baseline[0], block_value(mom, baseline[1])
        label = estimators[baseline[1]].name
        out = [estimate(f"{base_name} | {reward} | {label}", base_value, base, label,
                        {"policy": base_name, "estimator": label, "quantity": "value"})]
    for i, est in enumerate(estimators):
        if baseline is not None and i == baseline[1]:
            continue
        value, coef = block_value(mom, i)
        d = {"estimator": est.name}
        more = tuple(estimator_warnings[i]) if estimator_warnings is not None else ()
        out.append(estimate(f"{policy} | {reward} | {est.name}", value, coef, est.name, {**d, "quantity": "value"},
                            more=more))
        out.append(estimate(f"{policy} − {base_name} | {reward} | {est.name}", value - base_value, coef - base,
                            f"{est.name}, paired", {**d, "quantity": "lift"}, null=0.0, more=more))
        if base_value != 0:
            ratio, linear = delta_ratio(value, base_value, coef, base)
            out.append(estimate(f"{policy} / {base_name} − 1 | {reward} | {est.name}", ratio - 1, linear,
                                f"{est.name}, delta method", {**d, "quantity": "relative lift"}, null=0.0,
                                more=more))
    return out

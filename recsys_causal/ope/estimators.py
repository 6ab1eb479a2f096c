"""The registry of off-policy estimators: every estimator is one class, registered by its ``name``.

An estimator is a sum of ratio terms ``Σ_k Σ_r a_rk / Σ_r b_rk`` over evaluated requests (``b = 1`` for
mean-type terms). From :meth:`Estimator.terms` follow the value, the per-request influence values (delta method),
the bootstrap and, through :meth:`Estimator.sql_terms`, the same sums computed by a SQL engine. A subclass that
sets ``name`` is registered when it is defined; gate and report YAML, and ``evaluate_policies(estimators=...)``,
pick estimators by that name through :func:`get_estimator`, so a new estimator is one class and nothing else.

>>> import numpy as np
>>> from dataclasses import dataclass
>>> @dataclass
... class HalfIPS(Estimator):
...     '''Half the IPS estimate (an example).'''
...     name = "half-IPS"
...     def terms(self, c):
...         return [(0.5 * c.w * c.y, np.ones_like(c.w))]
>>> "half-IPS" in available_estimators()
True
>>> type(get_estimator("half-ips")).__name__
'HalfIPS'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Protocol

import numpy as np

from recsys_causal.errors import ConfigError, EstimationError

_REGISTRY: dict[str, type[Estimator]] = {}


class SQLLiterals(Protocol):
    """What :meth:`Estimator.sql_terms` needs from an engine: its literals (see
    :class:`recsys_causal.scale.dialect.SQLDialect`)."""

    @property
    def one(self) -> str: ...

    @property
    def zero(self) -> str: ...

    def number(self, x: float) -> str: ...


class Estimator:
    """Base class of every off-policy estimator; subclasses that set ``name`` are registered.

    ``name``: the registered name (YAML and :func:`get_estimator`), also the label of its estimates;
    ``aliases``: further registered names; ``slate``: the estimator reads slate components
    (:class:`~recsys_causal.ope.components.SlateComponents`) instead of single-slot ones;
    ``needs_reward_model``: it reads the reward model's predictions ``q_a`` and ``dm``.
    """

    name: ClassVar[str] = "estimator"
    aliases: ClassVar[tuple[str, ...]] = ()
    slate: ClassVar[bool] = False
    needs_reward_model: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("name")
        for key in ([own] if isinstance(own, str) else []) + list(cls.__dict__.get("aliases", ())):
            _register(key, cls)

    def terms(self, c) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ratio terms ``(a, b)`` as per-request arrays of these components."""
        raise NotImplementedError

    def sql_terms(self, sql: SQLLiterals) -> list[tuple[str, str]]:
        """The ratio terms as SQL over the per-request columns ``w, y, q_a, dm`` of a single-slot log, with
        the engine's literals ``sql`` (every dialect difference lives on the engine)."""
        raise NotImplementedError(f"{self.name} has no SQL form")

    def contributions(self, c, terms: list[tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[float, np.ndarray]:
        """The estimate and its per-request influence values (``terms``: :meth:`terms` of ``c`` when already
        computed)."""
        value, psi = 0.0, 0.0
        for a, b in self.terms(c) if terms is None else terms:
            mb = float(np.mean(b))
            if mb <= 0:
                raise EstimationError("the importance weights sum to 0: the target policy never takes a logged "
                                      "action", fix="check support: the logs cannot evaluate this policy")
            v = float(np.sum(a) / np.sum(b))
            value += v
            psi = psi + (a - v * b) / mb
        return value, np.asarray(psi, dtype=float)

    def warnings(self, c) -> list[str]:
        """Caveats of this estimate on these components (empty when none)."""
        return []

    def resampled(self, c, weights: np.ndarray) -> np.ndarray:
        """Estimates under resampling weights ``(B, n)`` (vectorised; ratio terms renormalise)."""
        total = np.zeros(weights.shape[0])
        for a, b in self.terms(c):
            total += (weights @ a) / (weights @ np.broadcast_to(b, a.shape))
        return total


def _key(name: str) -> str:
    return str(name).strip().casefold()


def _register(name: str, cls: type[Estimator]) -> None:
    old = _REGISTRY.get(_key(name))
    if old is not None and (old.__module__, old.__name__) != (cls.__module__, cls.__name__):
        raise ConfigError(f"estimator name {name!r} is already registered by {old.__module__}.{old.__qualname__}",
                          fix="give the new estimator class another name")
    _REGISTRY[_key(name)] = cls


def registered_name(cls: type[Estimator]) -> str:
    """The name a class is registered by: its ``name``, or its first alias when ``name`` depends on parameters."""
    own = cls.__dict__.get("name")
    return own if isinstance(own, str) else cls.__dict__["aliases"][0]


def available_estimators(*, slate: bool | None = None) -> list[str]:
    """Registered estimator names (one per class, not the aliases) in registration order; ``slate`` keeps one
    kind only."""
    classes = sorted(dict.fromkeys(_REGISTRY.values()), key=lambda cls: cls.slate)  # single-slot first
    return [registered_name(cls) for cls in classes if slate is None or cls.slate == slate]


def estimator_class(name: str) -> type[Estimator]:
    """The registered class of ``name`` (case-insensitive), else a :class:`ConfigError` listing the names."""
    from recsys_causal.suggest import choices_text, did_you_mean

    cls = _REGISTRY.get(_key(name))
    if cls is None:
        names = available_estimators()
        raise ConfigError(f"unknown estimator {name!r}: not one of {choices_text(names)}{did_you_mean(name, names)}",
                          column="estimator", fix="name a registered estimator, or define a subclass of "
                                                  "recsys_causal.ope.Estimator with that name")
    return cls


def get_estimator(name: str, **params: Any) -> Estimator:
    """An instance of the estimator registered as ``name`` with constructor parameters ``params``.

    >>> get_estimator("IPS", clip=10.0)
    IPS(clip=10.0)
    """
    cls = estimator_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"estimator {name!r} does not take parameters {sorted(params)}: {exc}",
                          column="estimator", fix=f"see the parameters of {cls.__name__}") from exc


def resolve_estimators(specs: Iterable[Estimator | str | dict[str, Any]], *,
                       slate: bool | None = None) -> list[Estimator]:
    """Estimator instances from instances, registered names or ``{"name": ..., **params}`` mappings; with
    ``slate`` given, an estimator of the other kind is a :class:`ConfigError`."""
    out = []
    for spec in specs:
        if isinstance(spec, Estimator):
            est = spec
        elif isinstance(spec, str):
            est = get_estimator(spec)
        elif isinstance(spec, dict) and "name" in spec:
            est = get_estimator(spec["name"], **{k: v for k, v in spec.items() if k != "name"})
        else:
            raise ConfigError(f"cannot read estimator {spec!r}", column="estimators",
                              fix="pass an estimator instance, a registered name or {'name': ..., **params}")
        if slate is not None and est.slate != slate:
            kinds = ("single-slot", "slate") if slate else ("slate", "single-slot")
            raise ConfigError(f"estimator {est.name!r} is a {kinds[0]} estimator; this evaluation is {kinds[1]}",
                              column="estimators",
                              fix=f"use one of {available_estimators(slate=slate)}")
        out.append(est)
    return out

"""The ``experiment.yaml`` of ``causal-report``: a validated analysis plan (pydantic; unknown keys are errors).

Paths resolve relative to the YAML file. Every key is documented in ``reports/README.md``.

>>> cfg = ReportConfig.model_validate({"experiment": {"name": "x", "design": "holdout"},
...                                    "data": {"units": "u.parquet"}})
>>> cfg.alpha, cfg.experiment.design
(0.05, 'holdout')
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from recsys_causal.config_io import (
    Alpha,
    Labels,
    Seed,
    StrictModel,
    Timestamp,
    Window,
    load_yaml_mapping,
    resolve,
    unique_names,
    validate_config,
)
from recsys_causal.suggest import did_you_mean

__all__ = ["ReportConfig", "load_config", "resolve"]


class Experiment(StrictModel):
    name: str
    design: Literal["ab", "switchback", "holdout"]
    unit: str = "user_id"
    description: str = ""


class Data(StrictModel):
    decision_log: str | None = None
    outcome_events: str | None = None
    labels: Labels = Field(default_factory=list)
    as_of: Timestamp | None = None
    metric_window: Window = "7D"
    units: str | None = None
    covariates_table: str | None = None
    schedule: str | None = None
    events: str | None = None


class Variants(StrictModel):
    control: str = "control"
    expected_split: dict[str, float] = Field(default_factory=lambda: {"control": 0.5, "treatment": 0.5})
    column: str = "variant"

    @field_validator("expected_split")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x <= 0}
        if bad:
            raise ValueError(f"expected split shares must be positive, got {bad}")
        if len(v) < 2:
            raise ValueError(f"an experiment needs at least two variants, got {list(v)}")
        total = sum(v.values())
        if not math.isclose(total, 1.0, abs_tol=1e-3):
            shares = {k: round(x / total, 4) for k, x in v.items()}
            raise ValueError(f"expected split shares sum to {total:g}, not 1 (did you mean {shares}?)")
        return v

    @model_validator(mode="after")
    def _control_listed(self) -> Variants:
        if self.control not in self.expected_split:
            raise ValueError(f"control {self.control!r} is not a key of variants.expected_split "
                             f"{list(self.expected_split)}{did_you_mean(self.control, self.expected_split)}")
        return self


class MetricSpec(StrictModel):
    """One metric: ``kind`` names a registered metric class (``mean``, ``proportion``, ``ratio``, ``quantile`` or
    any class registered with ``class X(Metric, kind=...)``); further keys are that class's parameters."""

    model_config = ConfigDict(**{**StrictModel.model_config, "extra": "allow"})
    name: str
    kind: str = "mean"
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    q: float | None = None

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        from recsys_causal.experiments import Metric

        if kind not in Metric.registry:
            kinds = sorted(Metric.registry)
            raise ValueError(f"kind must be one of {kinds}, got {kind!r}{did_you_mean(kind, kinds)}")
        return kind

    @model_validator(mode="after")
    def _needs(self) -> MetricSpec:
        from recsys_causal.errors import ConfigError

        if "role" in (self.model_extra or {}):
            raise ValueError(f"metric {self.name!r}: the role comes from the list it is in (primary or secondary)")
        try:
            self.to_metric("primary")
        except ConfigError as exc:
            raise ValueError(exc.message) from exc
        return self

    def to_metric(self, role: str):
        """The metric object of this spec (the registry of ``recsys_causal.experiments.Metric``)."""
        from recsys_causal.experiments import Metric

        return Metric.from_spec(self.name, self.kind, column=self.column, numerator=self.numerator,
                                denominator=self.denominator, q=self.q, role=role, **(self.model_extra or {}))


class Metrics(StrictModel):
    primary: list[MetricSpec] = Field(min_length=1)
    secondary: list[MetricSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Metrics:
        unique_names([*self.primary, *self.secondary])
        return self


class GuardrailSpec(StrictModel):
    metric: str
    direction: Literal["increase_is_bad", "decrease_is_bad"]
    margin: float = Field(ge=0)
    relative: bool = True


class Segments(StrictModel):
    columns: list[str] = Field(default_factory=list)
    prior_interactions: str | None = None
    min_units: int = Field(default=30, ge=2)
    merge_small: bool = False


class NoveltySpec(StrictModel):
    metric: str
    days: int = Field(default=14, ge=4, le=5 * 366)


class PowerSpec(StrictModel):
    """The planned effect and power an inconclusive primary metric is measured against."""

    mde: float | None = Field(default=None, gt=0)
    relative: bool = True
    power: float = Field(default=0.8, gt=0, lt=1)


class MonitoringSpec(StrictModel):
    """The sequential-monitoring plan fixed before the first look: exactly one of the planned final number of
    units (both arms) and the planned final standard error."""

    planned_n: float | None = Field(default=None, gt=0)
    final_se: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> MonitoringSpec:
        if (self.planned_n is None) == (self.final_se is None):
            raise ValueError("monitoring needs exactly one of planned_n and final_se")
        return self


class LongTermSpec(StrictModel):
    """The long-term section: A/B readouts at several horizons after first exposure (days), of ``metrics`` on
    the unit table (log outcomes, ``impressions``, ``n_requests`` and the user-level ``outcomes``, written
    without a window: the horizon sets it); ``flags`` a table of flagged users excluded and counted."""

    horizons: list[float] = Field(default_factory=lambda: [7, 14, 30])
    metrics: list[MetricSpec] = Field(min_length=1)
    outcomes: list[str] = Field(default_factory=list)
    flags: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> LongTermSpec:
        from recsys_causal.errors import ConfigError
        from recsys_causal.experiments.horizons import check_horizons, outcome_specs

        try:
            check_horizons(self.horizons)
            outcome_specs(self.outcomes)
        except ConfigError as exc:
            raise ValueError(exc.message) from exc
        unique_names(self.metrics)
        return self


class SwitchbackSpec(StrictModel):
    design: Literal["bernoulli", "balanced", "minimax"] = "bernoulli"
    p: float = Field(default=0.5, gt=0, lt=1)
    carryover_order: int = Field(default=0, ge=0)
    max_carryover_order: int = Field(default=2, ge=0)
    burn_in_minutes: float = Field(default=0.0, ge=0)
    n_draws: int = Field(default=10_000, ge=100)
    metric: str = "value"
    metric_label: str | None = None


class HoldoutSpec(StrictModel):
    group_col: str = "group"
    holdout_label: str = "holdout"
    treated_label: str = "treated"
    exposed_col: str = "exposed"
    ghost_col: str | None = "ghost_exposed"
    outcome_col: str = "converted"
    revenue_col: str | None = None
    attributed_col: str | None = None
    cost_col: str | None = None
    covariates: list[str] = Field(default_factory=list)
    allow_holdout_exposure: bool = False
    planned_share: float | None = Field(default=None, gt=0, lt=1)
    module: dict[str, str | list[str]] | None = None  # from a decision log: the requests of the module
    segments: list[str] = Field(default_factory=list)  # effect on the exposed by segment (complier_effects)


class SurrogateSpec(StrictModel):
    """The surrogate-index projection of a long-term effect (``recsys_causal.experiments.estimate_surrogate_index``)."""

    historical: str
    long_term: str
    surrogates: list[str] = Field(min_length=1)
    covariates: list[str] = Field(default_factory=list)
    learner: Literal["linear", "gradient_boosting", "random_forest"] = "linear"
    folds: int = Field(default=5, ge=2, le=50)
    n_boot: int = Field(default=200, ge=50, le=100_000)
    min_r2: float = Field(default=0.1, ge=0, lt=1)
    validate_: bool = Field(default=False, alias="validate")


class Output(StrictModel):
    html: str = "report.html"
    json_path: str = Field(default="report.json", alias="json")


class ReportConfig(StrictModel):
    experiment: Experiment
    data: Data
    variants: Variants = Field(default_factory=Variants)
    metrics: Metrics | None = None
    guardrails: list[GuardrailSpec] = Field(default_factory=list)
    covariates: list[str] = Field(default_factory=list)
    covariate_times: dict[str, str] = Field(default_factory=dict)
    first_exposure: str = "first_exposure"
    segments: Segments | None = None
    novelty: NoveltySpec | None = None
    power: PowerSpec | None = None
    monitoring: MonitoringSpec | None = None
    longterm: LongTermSpec | None = None
    ope_screen: str | None = None
    switchback: SwitchbackSpec | None = None
    holdout: HoldoutSpec | None = None
    surrogate: SurrogateSpec | None = None
    alpha: Alpha = 0.05
    seed: Seed = 0
    output: Output = Field(default_factory=Output)

    @model_validator(mode="after")
    def _design_needs(self) -> ReportConfig:
        d, data = self.experiment.design, self.data
        if d == "ab" and not (data.decision_log or data.units):
            raise ValueError("design 'ab' needs data.decision_log or data.units")
        if d == "ab" and self.metrics is None:
            raise ValueError("design 'ab' needs a metrics section with at least one primary metric")
        if d == "switchback" and not (data.schedule and data.events):
            raise ValueError("design 'switchback' needs data.schedule and data.events")
        if d == "holdout" and not (data.units or data.decision_log):
            raise ValueError("design 'holdout' needs data.units or data.decision_log")
        if d == "holdout" and data.decision_log and data.as_of is None:
            raise ValueError("a holdout from data.decision_log needs data.as_of (it decides which windows are mature)")
        if self.novelty is not None and not (d == "ab" and data.decision_log):
            raise ValueError("the novelty section needs design 'ab' with data.decision_log (days since exposure)")
        if self.surrogate is not None and d != "ab":
            raise ValueError("the surrogate section needs design 'ab' (the experiment's unit table has the surrogates)")
        if self.longterm is not None and not (d == "ab" and data.decision_log):
            raise ValueError("the longterm section needs design 'ab' with data.decision_log (first exposures)")
        unknown = sorted(set(self.covariate_times) - set(self.covariates))
        if unknown:
            raise ValueError(f"covariate_times names {unknown}, which are not in covariates {self.covariates}")
        if data.labels and not data.outcome_events:
            raise ValueError("data.labels needs data.outcome_events")
        return self


def load_config(path: str | Path) -> tuple[ReportConfig, Path]:
    """Read and validate ``experiment.yaml``; returns the config and the directory paths resolve against. Every
    problem is a :class:`~recsys_causal.errors.ConfigError` naming the YAML key."""
    data, base = load_yaml_mapping(path, fix_hint="start with 'experiment:' and 'data:' sections "
                                                  "(see reports/README.md)")
    cfg = validate_config(ReportConfig, data, source=str(path), fix="see reports/README.md for every key")
    return cfg, base

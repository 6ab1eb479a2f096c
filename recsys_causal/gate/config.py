"""The screening config ``screen.yaml`` of ``causal-gate`` (pydantic; unknown keys are errors).

``mode`` (``top_slot``, ``logged_position`` or ``ranking``; per candidate ``mode:`` overrides it, with
``slate_size:`` the positions a ranking candidate fills) chooses the evaluation (:mod:`recsys_causal.gate.modes`).
``log.rewards`` declares the outcome columns (other numeric columns are not rewards), ``reward_ranges`` the
range of non-binary rewards, ``reward_model`` a column of predictions, a mapping reward → column or a
cross-fitted model ``{features: [...], learner: hgb | ridge | linear | forest, folds: 2}``.
``estimator`` and ``cross_check`` (top level or per candidate) name registered estimators of the mode's kind
(:mod:`recsys_causal.ope.estimators`), as a name or ``{name: IPS, clip: 10}``; left out, the mode's defaults; ``reward_model`` names the candidate column of reward-model
predictions (or maps each reward to one; default: a cross-fitted model); ``cluster_col`` a request column of
independent clusters (cluster-robust intervals). ``support: {per_version: true}`` requires support in every
logging-policy version (``version_col``, default ``ranking_policy_version``); ``multi_logger: stratified |
balance`` estimates with a multiple-logger estimator when the log mixes versions.

>>> cfg = GateConfig.model_validate({"name": "x", "log": {"path": "log.parquet"},
...     "candidates": [{"name": "new", "score": "pred_new"}], "primary": {"reward": "click"}})
>>> cfg.estimator, cfg.candidates[0].kind, cfg.reward_model
('DR', 'softmax', None)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from recsys_causal.config_io import (
    Alpha,
    Labels,
    Seed,
    StrictModel,
    Timestamp,
    load_yaml_mapping,
    unique_names,
    validate_config,
)


class LogSpec(StrictModel):
    path: str
    outcome_events: str | None = None
    labels: Labels = Field(default_factory=list)
    as_of: Timestamp | None = None
    start: Timestamp | None = None
    end: Timestamp | None = None
    surfaces: list[str] | None = None
    policy_versions: list[str] | None = None
    rewards: list[str] | None = None  # the outcome columns (labels included); default: every numeric column

    @model_validator(mode="after")
    def _window(self) -> LogSpec:
        if self.start is not None and self.end is not None and pd.Timestamp(self.start) >= pd.Timestamp(self.end):
            raise ValueError(f"start {self.start} is not before end {self.end} (start inclusive, end exclusive)")
        return self


def _estimator(value: str | dict[str, Any]) -> str | dict[str, Any]:
    """A registered estimator: its name, or ``{name: ..., <parameter>: ...}`` (its kind is checked against the
    mode of each candidate by :meth:`GateConfig._modes`)."""
    from recsys_causal.errors import ConfigError
    from recsys_causal.ope.estimators import resolve_estimators

    try:
        resolve_estimators([value])
    except ConfigError as exc:
        raise ValueError(exc.message) from None
    return value


EstimatorSpec = Annotated[str | dict[str, Any], AfterValidator(_estimator)]
Mode = Literal["top_slot", "logged_position", "ranking"]


class PolicySpec(StrictModel):
    name: str
    score: str | None = None
    kind: Literal["softmax", "top_k", "epsilon_greedy", "column", "uniform"] = "softmax"
    temperature: float = Field(default=1.0, gt=0)
    epsilon: float = Field(default=0.1, ge=0, le=1)
    column: str | None = None
    mode: Mode | None = None  # default: the config's mode
    slate_size: int | None = Field(default=None, ge=1)  # ranked positions (default: 1 in top_slot, else the log's)
    estimator: EstimatorSpec | None = None  # default: the config's estimator (or the mode's default)
    cross_check: list[EstimatorSpec] | None = None

    @model_validator(mode="after")
    def _needs(self) -> PolicySpec:
        if self.kind in ("softmax", "top_k", "epsilon_greedy") and not self.score:
            raise ValueError(f"policy {self.name!r} of kind {self.kind!r} needs 'score' (a pred_<name> column)")
        if self.kind == "column" and not self.column:
            raise ValueError(f"policy {self.name!r} of kind 'column' needs 'column'")
        return self


def _reward(value: str | dict[str, float]) -> str | dict[str, float]:
    """A reward column, or a composite of columns with weights that are not all zero."""
    if isinstance(value, dict) and not any(value.values()):
        raise ValueError("a composite reward needs at least one non-zero weight (it is 0 everywhere otherwise)")
    if isinstance(value, str) and not value.strip():
        raise ValueError("name a reward column, e.g. click")
    return value


class PrimarySpec(StrictModel):
    reward: str | dict[str, float]
    min_lift: float = 0.0
    relative: bool = True

    _reward_ok = field_validator("reward")(_reward)


class GuardrailSpec(StrictModel):
    reward: str | dict[str, float]
    direction: Literal["increase_is_bad", "decrease_is_bad"]
    margin: float = Field(ge=0)
    relative: bool = True

    _reward_ok = field_validator("reward")(_reward)


class SupportSpec(StrictModel):
    min_ess_ratio: float = 0.05
    max_unsupported_mass: float = 0.01
    max_weight_share: float = 0.05
    per_version: bool = False  # a weakly supported logging-policy version makes the candidate inconclusive


class SegmentSpec(StrictModel):
    column: str
    values: list[str] | None = None


LEARNERS = ("hgb", "ridge", "linear", "forest")
MODEL_KEYS = ("features", "learner", "folds", "clip")


def _learner(value: str) -> str:
    from recsys_causal.suggest import choices_text, did_you_mean

    if value not in LEARNERS:
        raise ValueError(f"unknown learner {value!r}: not one of {choices_text(LEARNERS)}{did_you_mean(value, LEARNERS)}")
    return value


class RewardModelSpec(StrictModel):
    """A cross-fitted reward model (:class:`~recsys_causal.ope.reward_model.RewardModel`): candidate ``features``
    (default: every feature_*, pred_* and score column), the ``learner`` (hgb: histogram gradient boosting,
    ridge, linear, forest), the number of cross-fitting ``folds`` and the ``clip`` range of its predictions
    (default [0, 1]; null: none)."""

    features: list[str] | None = None
    learner: Annotated[str, AfterValidator(_learner)] = "hgb"
    folds: int = Field(default=2, ge=2, le=20)
    clip: tuple[float, float] | None = (0.0, 1.0)


def _reward_model(value: Any) -> Any:
    """A model spec when the mapping has a key of :class:`RewardModelSpec`, else as given (column names)."""
    if isinstance(value, dict) and set(value) & set(MODEL_KEYS):
        return RewardModelSpec.model_validate(value)
    return value


class GateOutput(StrictModel):
    json_path: str | None = Field(default=None, alias="json")
    markdown: str | None = None
    html: str | None = None


class GateConfig(StrictModel):
    name: str
    log: LogSpec
    candidates: list[PolicySpec] = Field(min_length=1)
    baseline: PolicySpec | Literal["logging"] = "logging"
    primary: PrimarySpec
    guardrails: list[GuardrailSpec] = Field(default_factory=list)
    mode: Mode = "top_slot"
    estimator: EstimatorSpec = "DR"
    cross_check: list[EstimatorSpec] = Field(default_factory=lambda: ["IPS", "SNIPS"])
    # prediction column(s), or {features, learner, folds, clip}; default: a cross-fitted hgb reward model
    reward_model: Annotated[str | RewardModelSpec | dict[str, str] | None, BeforeValidator(_reward_model)] = None
    cluster_col: str | None = None
    multi_logger: Literal["stratified", "balance"] | None = None  # estimation when the log mixes versions
    version_col: str = "ranking_policy_version"  # the request column of the logging-policy version
    alpha: Alpha = 0.05
    multiplicity: Literal["holm", "fdr_bh", "none"] = "holm"
    support: SupportSpec = Field(default_factory=SupportSpec)
    protected_segments: list[SegmentSpec] = Field(default_factory=list)
    max_quarantine_share: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    reward_ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    seed: Seed = 0
    output: GateOutput = Field(default_factory=GateOutput)

    @field_validator("candidates")
    @classmethod
    def _unique_candidates(cls, v: list[PolicySpec]) -> list[PolicySpec]:
        return unique_names(v)

    @model_validator(mode="after")
    def _modes(self) -> GateConfig:
        """Every candidate's estimator and cross-checks are of its mode's kind (slate estimators for ranking)."""
        from recsys_causal.errors import ConfigError
        from recsys_causal.gate.modes import mode_estimators

        for i, c in enumerate(self.candidates):
            set_here = {"estimator", "cross_check", "mode"} & c.model_fields_set
            key = f"candidates[{i}].estimator" if set_here else "estimator"
            try:
                mode_estimators(c.mode or self.mode, *self.estimators_of(c), key=key)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return self

    def estimators_of(self, c: PolicySpec) -> tuple[Any, Any]:
        """The estimator and cross-checks a candidate asks for (None: its mode's defaults)."""
        est = c.estimator if c.estimator is not None else (
            self.estimator if "estimator" in self.model_fields_set else None)
        checks = c.cross_check if c.cross_check is not None else (
            self.cross_check if "cross_check" in self.model_fields_set else None)
        return est, checks

    @field_validator("reward_ranges")
    @classmethod
    def _ranges(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for column, (low, high) in v.items():
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"the range of {column!r} must be two finite numbers [low, high] with low <= high, "
                                 f"got [{low}, {high}]")
        return v


def load_gate_config(path: str | Path) -> tuple[GateConfig, Path]:
    """Read and validate ``screen.yaml``; every problem is a :class:`~recsys_causal.errors.ConfigError` naming
    the YAML key."""
    data, base = load_yaml_mapping(path, fix_hint="start with name:, log:, candidates: and primary: (see README)")
    return validate_config(GateConfig, data, source=str(path), fix="see the gate section of the README"), base

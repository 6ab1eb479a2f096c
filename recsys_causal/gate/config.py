"""The screening config ``screen.yaml`` of ``causal-gate`` (pydantic; unknown keys are errors).

>>> cfg = GateConfig.model_validate({"name": "x", "log": {"path": "log.parquet"},
...     "candidates": [{"name": "new", "score": "pred_new"}], "primary": {"reward": "click"}})
>>> cfg.estimator, cfg.candidates[0].kind
('DR', 'softmax')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from recsys_causal.config_io import StrictModel, describe_validation_error, load_yaml_mapping
from recsys_causal.errors import ConfigError


class LogSpec(StrictModel):
    path: str
    outcome_events: str | None = None
    labels: list[str] = Field(default_factory=list)
    as_of: str | None = None
    start: str | None = None
    end: str | None = None
    surfaces: list[str] | None = None
    policy_versions: list[str] | None = None


class PolicySpec(StrictModel):
    name: str
    score: str | None = None
    kind: Literal["softmax", "top_k", "epsilon_greedy", "column", "uniform"] = "softmax"
    temperature: float = Field(default=1.0, gt=0)
    epsilon: float = Field(default=0.1, ge=0, le=1)
    column: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> PolicySpec:
        if self.kind in ("softmax", "top_k", "epsilon_greedy") and not self.score:
            raise ValueError(f"policy {self.name!r} of kind {self.kind!r} needs 'score' (a pred_<name> column)")
        if self.kind == "column" and not self.column:
            raise ValueError(f"policy {self.name!r} of kind 'column' needs 'column'")
        return self


class PrimarySpec(StrictModel):
    reward: str | dict[str, float]
    min_lift: float = 0.0
    relative: bool = True


class GuardrailSpec(StrictModel):
    reward: str | dict[str, float]
    direction: Literal["increase_is_bad", "decrease_is_bad"]
    margin: float = Field(ge=0)
    relative: bool = True


class SupportSpec(StrictModel):
    min_ess_ratio: float = 0.05
    max_unsupported_mass: float = 0.01
    max_weight_share: float = 0.05


class SegmentSpec(StrictModel):
    column: str
    values: list[str] | None = None


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
    estimator: Literal["DR", "SNDR", "IPS", "SNIPS"] = "DR"
    cross_check: list[Literal["DR", "SNDR", "IPS", "SNIPS"]] = Field(default_factory=lambda: ["IPS", "SNIPS"])
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    multiplicity: Literal["holm", "fdr_bh", "none"] = "holm"
    support: SupportSpec = Field(default_factory=SupportSpec)
    protected_segments: list[SegmentSpec] = Field(default_factory=list)
    max_quarantine_share: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    seed: int = 0
    output: GateOutput = Field(default_factory=GateOutput)


def load_gate_config(path: str | Path) -> tuple[GateConfig, Path]:
    data, base = load_yaml_mapping(path, fix_hint="start with name:, log:, candidates: and primary: (see README)")
    try:
        return GateConfig.model_validate(data), base
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc), source=str(path), fix="see the gate section of the README") from exc


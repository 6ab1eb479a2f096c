"""Target policies as SQL: the probability that each logged candidate is placed at position 1.

Each policy renders window-function SQL (the same text for DuckDB and Spark SQL) in three stages over the
candidate rows of a request: per-request windows (maxima, counts, ranks), row-wise terms, and the final
probability ``pi``. :meth:`SQLPolicy.to_local` builds the same policy on an in-memory
:class:`~recsys_causal.logs.model.DecisionLog` (:mod:`recsys_causal.ope.policies`), which is how the engines
are tested against the local path.

Ties: ``TopK`` breaks equal scores by ``item_id`` (the local ``top_k`` by candidate order); break ties in the
score (e.g. add the item's rank as a tiny offset) if both paths must agree on tied data.

>>> TopK("pred_new").stages("p0", "in_p0")[2]["pi_p0"].startswith("CASE WHEN elig")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys_causal.errors import ConfigError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope import policies as local
from recsys_causal.ope.policies import TargetPolicy
from recsys_causal.scale.dialect import SQL

Stages = tuple[dict[str, str], dict[str, str], dict[str, str]]
BY_REQUEST = "OVER (PARTITION BY request_id)"
ONE, ZERO = SQL.one, SQL.zero


class SQLPolicy:
    """Base class: ``stages(prefix, score)`` returns three dicts ``alias → SQL`` whose last holds ``pi_<prefix>``;
    ``score`` is the alias of the policy's input column (score or probability, NaN read as NULL)."""

    name: str = "policy"
    score: str | None = None
    column: str | None = None

    def stages(self, prefix: str, score: str) -> Stages:
        raise NotImplementedError

    def to_local(self, log: DecisionLog) -> TargetPolicy:
        raise NotImplementedError

    def inputs(self) -> list[str]:
        """Log columns the policy reads."""
        return [c for c in (self.score, self.column) if c]


@dataclass(frozen=True)
class TopK(SQLPolicy):
    """Deterministic: the eligible candidate with the highest ``score`` takes position 1."""

    score: str
    name: str = ""

    def stages(self, prefix: str, score: str) -> Stages:
        rank = (f"ROW_NUMBER() OVER (PARTITION BY request_id ORDER BY CASE WHEN elig THEN {score} END DESC "
                "NULLS LAST, item_id)")
        return ({f"rank_{prefix}": rank}, {},
                {f"pi_{prefix}": f"CASE WHEN elig AND {score} IS NOT NULL AND rank_{prefix} = 1 THEN {ONE} "
                                  f"ELSE {ZERO} END"})

    def to_local(self, log: DecisionLog) -> TargetPolicy:
        return local.top_k(log, self.score, 1, name=self.name or None)


@dataclass(frozen=True)
class Softmax(SQLPolicy):
    """``exp(score / temperature)`` normalised over the eligible candidates of a request."""

    score: str
    temperature: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"softmax temperature must be positive, got {self.temperature}")

    def stages(self, prefix: str, score: str) -> Stages:
        t = SQL.number(self.temperature)
        return ({f"max_{prefix}": f"MAX(CASE WHEN elig THEN {score} END) {BY_REQUEST}"},
                {f"exp_{prefix}": f"CASE WHEN elig AND {score} IS NOT NULL THEN EXP(({score} - max_{prefix}) / {t}) "
                                  f"ELSE {ZERO} END"},
                {f"pi_{prefix}": f"COALESCE(exp_{prefix} / NULLIF(SUM(exp_{prefix}) {BY_REQUEST}, {ZERO}), "
                                f"{ZERO})"})

    def to_local(self, log: DecisionLog) -> TargetPolicy:
        return local.softmax(log, self.score, 1, temperature=self.temperature, name=self.name or None)


@dataclass(frozen=True)
class EpsilonGreedy(SQLPolicy):
    """With probability ``epsilon`` a uniformly random eligible candidate, otherwise ``base``."""

    base: SQLPolicy
    epsilon: float
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.epsilon <= 1:
            raise ConfigError(f"epsilon={self.epsilon} must be in [0, 1]")

    def inputs(self) -> list[str]:
        return self.base.inputs()

    @property
    def score(self) -> str | None:  # type: ignore[override]
        return self.base.score

    @property
    def column(self) -> str | None:  # type: ignore[override]
        return self.base.column

    def stages(self, prefix: str, score: str) -> Stages:
        s1, s2, s3 = self.base.stages(prefix + "b", score)
        e = SQL.number(self.epsilon)
        s1 = {**s1, f"nelig_{prefix}": f"SUM(CASE WHEN elig THEN 1 ELSE 0 END) {BY_REQUEST}"}
        base_pi = s3[f"pi_{prefix}b"]
        pi = (f"(1 - {e}) * ({base_pi}) + {e} * (CASE WHEN elig THEN {ONE} / NULLIF(nelig_{prefix}, 0) "
              f"ELSE {ZERO} END)")
        return s1, s2, {f"pi_{prefix}": pi}

    def to_local(self, log: DecisionLog) -> TargetPolicy:
        return local.epsilon_greedy(log, self.base.to_local(log), self.epsilon, name=self.name or None)


@dataclass(frozen=True)
class ProbabilityColumn(SQLPolicy):
    """Position-1 probabilities logged per candidate in ``column`` (e.g. scored offline by the new ranker)."""

    column: str
    name: str = ""

    def stages(self, prefix: str, score: str) -> Stages:
        return {}, {}, {f"pi_{prefix}": score}

    def to_local(self, log: DecisionLog) -> TargetPolicy:
        return local.from_column(log, self.column, name=self.name or None)

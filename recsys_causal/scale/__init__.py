"""The same estimators where a large log lives: DuckDB over partitioned Parquet (out of core) and Spark.

See ``docs/scale.md``.
"""

from recsys_causal.scale.ab import SQLUnitMetrics, analyze_ab_sql, unit_metrics_sql
from recsys_causal.scale.engines import DuckDBEngine, Engine, SparkEngine, as_engine
from recsys_causal.scale.ope import evaluate_policies_sql
from recsys_causal.scale.policies import EpsilonGreedy, ProbabilityColumn, Softmax, SQLPolicy, TopK

__all__ = [
    "DuckDBEngine",
    "Engine",
    "EpsilonGreedy",
    "ProbabilityColumn",
    "SQLPolicy",
    "SQLUnitMetrics",
    "Softmax",
    "SparkEngine",
    "TopK",
    "analyze_ab_sql",
    "as_engine",
    "evaluate_policies_sql",
    "unit_metrics_sql",
]

"""``analyze_ab``: the full readout of an A/B experiment from a unit-level table, in memory or on an engine.

Order of work: check variant labels, quarantine units seen in several variants, run the sample-ratio
mismatch test (shown first), check that covariates are pre-treatment, then for every treatment variant
against the control and every metric compute absolute and relative lifts (CUPED when covariates are given; one
hypothesis on two scales sharing the absolute contrast's p-value, the relative interval by Fieller), adjust
p-values (Holm across primary comparisons, Benjamini–Hochberg across secondary ones, one hypothesis per metric
and variant), evaluate guardrails as separate non-inferiority tests, and optionally break lifts down by segment.
Each metric computes its own arm summaries (:mod:`~recsys_causal.experiments.metric_base`); a DuckDB / Spark
engine, a DuckDB relation, a Parquet path or a SQL unit table as ``data`` runs the same readout from sums
computed next to the data (:mod:`recsys_causal.scale.ab`).

>>> from recsys_causal.simulate.ab import simulate_ab
>>> sim = simulate_ab(n_units=4000, seed=3)
>>> r = analyze_ab(sim.units, control="control", metrics=["revenue", Metric.ratio("ctr", "clicks", "impressions")],
...                guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.1)],
...                covariates=["pre_revenue"], expected_split={"control": 0.5, "treatment": 0.5})
>>> r.srm.flagged, len(r.metrics), r.guardrails[0].details["verdict"] in ("ok", "violated", "inconclusive")
(False, 4, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import AssumptionWarning, caveat, emits_caveats
from recsys_causal.checks import (
    Deduplication,
    Quarantine,
    check_alpha,
    check_variants,
    quarantine_multi_assigned,
    require_columns,
    require_frame,
    unique_units,
)
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import EstimateTable
from recsys_causal.experiments.ab_lifts import (
    analysed_metrics,
    finish_readout,
    lift_estimate,
    lifts_and_guardrails,
    resolve_variants,
)
from recsys_causal.experiments.ab_readout import ABReadout
from recsys_causal.experiments.covariate_checks import guard_cuped
from recsys_causal.experiments.frame_arms import FrameArms
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.labels import label_codes, text_codes
from recsys_causal.experiments.metric_base import ArmSummaries, Metric, as_metric
from recsys_causal.experiments.pretreatment import check_pre_treatment
from recsys_causal.experiments.quantiles import with_degenerate_warning
from recsys_causal.experiments.srm import group_codes, srm_from_codes, srm_test
from recsys_causal.frames import as_pandas
from recsys_causal.kernel.arm_moments import ArmMoments

#: Keyword arguments of :func:`analyze_ab` that apply to engine data only.
ENGINE_OPTIONS = ("covariates_table", "window", "as_of", "experiment_id", "outcomes", "request_metrics")


@renamed_arguments(units_df="data")
@emits_caveats
def analyze_ab(
    data: Any, *, variant_col: str = "variant", control: str = "control",
    metrics: Sequence[str | Metric] = (), guardrails: Sequence[Guardrail] = (),
    covariates: Sequence[str] | None = None, expected_split: Mapping[str, float] | None = None,
    unit_col: str | None = None, cluster_col: str | None = None, segment_col: str | None = None,
    day_col: str | None = None, first_exposure_col: str | None = None,
    covariate_times: Mapping[str, str | pd.Timestamp] | None = None, alpha: float = 0.05,
    srm_threshold: float = 0.001, **engine_options: Any,
) -> ABReadout:
    """Analyse an experiment given one row per unit (or per analysis unit with ``cluster_col``).

    ``expected_split`` maps every allowed variant to its configured share (default: equal shares over the
    variants present); other labels raise an error. ``unit_col`` (or ``cluster_col``, the randomisation unit
    when rows are finer, e.g. requests of users) is used to quarantine units seen in several variants and to
    count units for SRM; rows repeating a ``unit_col`` value are an error, or are removed and counted
    (``deduplication`` and a warning) when they are exact copies. With ``cluster_col`` all standard errors
    are cluster-robust. ``covariates`` are
    pre-period columns for CUPED; with ``covariate_times`` (covariate → timestamp column or declared time)
    and ``first_exposure_col`` any covariate measured at or after first exposure is rejected. Without them,
    a covariate collinear with a metric within arms or imbalanced between arms is rejected
    (:mod:`~recsys_causal.experiments.covariate_checks`). A quantile lift inside a point mass of both arms is
    not estimable (NaN interval and a warning).
    ``segment_col`` adds per-segment lifts (unadjusted, exploratory) and a per-segment SRM; ``day_col`` a
    per-day SRM.

    ``data`` may also be engine data (an :class:`~recsys_causal.scale.Engine`, a DuckDB relation, a Parquet
    path, a Spark DataFrame or :class:`~recsys_causal.scale.SQLUnitMetrics`): the readout then runs on the
    engine (:func:`recsys_causal.scale.ab.analyze_on_engine`, which takes ``engine_options`` such as
    ``window``, ``as_of`` and ``covariates_table``); ``cluster_col``, ``segment_col``, ``day_col`` and covariate
    timestamps need a pandas table. ``units_df`` is the deprecated name of ``data``.
    """
    data = as_pandas(data, relations=False)  # a DuckDB relation runs on the engine
    common = dict(variant_col=variant_col, control=control, metrics=metrics, guardrails=guardrails,
                  covariates=covariates, expected_split=expected_split, alpha=alpha, srm_threshold=srm_threshold)
    if not isinstance(data, pd.DataFrame):
        from recsys_causal.scale.ab import analyze_on_engine, is_engine_data

        if is_engine_data(data):
            memory_only = {"cluster_col": cluster_col, "segment_col": segment_col, "day_col": day_col,
                           "first_exposure_col": first_exposure_col, "covariate_times": covariate_times}
            return analyze_on_engine(data, unit_col=unit_col or "user_id", memory_only=memory_only, **common,
                                     **engine_options)
    unknown = sorted(set(engine_options) - set(ENGINE_OPTIONS))
    if unknown:
        raise TypeError(f"analyze_ab() got unexpected keyword arguments {unknown}")
    if engine_options:
        raise ConfigError(f"{sorted(engine_options)} apply to engine data (a DuckDB / Spark engine, a Parquet path "
                          "or a SQL unit table), not to a pandas unit table",
                          fix="drop them, or build the unit table with unit_metrics_from_log(log, window=..., "
                              "as_of=...)")
    return _analyze_frame(data, unit_col=unit_col, cluster_col=cluster_col, segment_col=segment_col,
                          day_col=day_col, first_exposure_col=first_exposure_col, covariate_times=covariate_times,
                          **common)


def _analyze_frame(
    data: pd.DataFrame, *, variant_col: str, control: str, metrics: Sequence[str | Metric],
    guardrails: Sequence[Guardrail], covariates: Sequence[str] | None, expected_split: Mapping[str, float] | None,
    unit_col: str | None, cluster_col: str | None, segment_col: str | None, day_col: str | None,
    first_exposure_col: str | None, covariate_times: Mapping[str, str | pd.Timestamp] | None, alpha: float,
    srm_threshold: float,
) -> ABReadout:
    """:func:`analyze_ab` on a pandas unit table."""
    require_frame(data, "analyze_ab", "build one with unit_metrics_from_log(log, window=..., as_of=...)")
    alpha = check_alpha(alpha)
    metric_list = [as_metric(m) for m in metrics]
    covariates = list(covariates or [])
    prepared = _prepare(data, metric_list, guardrails, covariates, variant_col=variant_col, control=control,
                        expected_split=expected_split, unit_col=unit_col, cluster_col=cluster_col,
                        extra=(segment_col, day_col, first_exposure_col))
    df, control, known, warnings = prepared.df, prepared.control, prepared.known, prepared.warnings
    id_col = cluster_col or unit_col
    split = dict(prepared.split) if prepared.split else {v: 1.0 for v in known}
    if not prepared.split:
        warnings.append(caveat("no expected_split given; SRM tested against equal shares", AssumptionWarning))
    codes = prepared.codes or label_codes(df[variant_col])
    seg = group_codes(df[segment_col]) if segment_col else None
    if cluster_col:  # clusters counted once per variant
        srm = srm_test(df, expected_split=split, variant_col=variant_col, segment_col=segment_col, day_col=day_col,
                       unit_col=id_col, threshold=srm_threshold)
    else:
        srm = srm_from_codes(*codes, split, by_segment=seg, by_day=group_codes(df[day_col], day=True) if day_col
                             else None, threshold=srm_threshold)
    check_pre_treatment(df, covariates, first_exposure_col=first_exposure_col, covariate_times=covariate_times,
                        unit_col=id_col)
    used = [c for m in analysed_metrics(metric_list, guardrails) for c in [*m.columns, *m.covariates_for(covariates)]]
    arms = FrameArms(df, variant_col, control, covariates, cluster_col, list(dict.fromkeys(used)), segment_col,
                     variant_coding=codes, segment_coding=text_codes(*seg) if seg else None)
    warnings += guard_cuped(df, analysed_metrics(metric_list, guardrails), covariates, variant_col=variant_col,
                            control=control, cluster_col=cluster_col, pre_verified=bool(covariate_times), arms=arms)
    treatments = [v for v in known if v != control]
    counts = {} if cluster_col else arms.counts()
    n_units = {v: int(df.drop_duplicates(id_col)[variant_col].eq(v).sum()) if cluster_col else counts.get(v, 0)
               for v in known}
    lifts, guard_estimates = lifts_and_guardrails(metric_list, guardrails, treatments, control, alpha=alpha,
                                                  arms_for=arms)
    lifts = [with_degenerate_warning(e) for e in lifts]
    warnings += list(dict.fromkeys(f"metric {e.details['metric']!r} ({e.details['variant']}): "
                                   f"{e.details['degenerate']}" for e in lifts if e.details.get("degenerate")))
    segments = (_segment_lifts(arms, metric_list, treatments, segment_col, alpha, warnings) if segment_col
                else None)
    readout = finish_readout(srm, lifts, guard_estimates, segments, n_units, control, prepared.quarantine,
                             warnings, srm_threshold)
    readout.deduplication = prepared.dedup
    return readout


@dataclass
class _Prepared:
    df: pd.DataFrame
    control: str
    split: dict[str, float] | None
    known: list[str]
    warnings: list[str] = field(default_factory=list)
    quarantine: Any = None
    dedup: Any = None
    codes: tuple[np.ndarray, list[str]] | None = None  # variant codes and labels of ``df`` (label_codes)


def _prepare(data: pd.DataFrame, metrics: Sequence[Metric], guardrails: Sequence[Guardrail],
             covariates: Sequence[str], *, variant_col: str, control: str, expected_split: Mapping | None,
             unit_col: str | None, cluster_col: str | None, extra: Sequence[str | None]) -> _Prepared:
    """Columns present, variant labels as strings and known, multi-variant units quarantined, repeated unit
    rows removed (exact copies) or refused."""
    needed = {variant_col, *covariates, *(c for m in analysed_metrics(metrics, guardrails) for c in m.columns)}
    needed.update(c for c in (unit_col, cluster_col, *extra) if c)
    require_columns(data, sorted(needed))
    if not (pd.api.types.is_string_dtype(data[variant_col]) or data[variant_col].dtype == object):
        data = data.assign(**{variant_col: data[variant_col].astype(str)})
    codes = label_codes(data[variant_col])  # one hash pass; the labels as text
    control, split, known = resolve_variants(control, expected_split, codes[1])
    id_col = cluster_col or unit_col
    if not set(codes[1]) <= set(known):
        check_variants(data, variant_col, known, unit_col=id_col)  # the error names the rows
    out = _Prepared(data, control, split, known, codes=codes)
    unique = bool(id_col) and data[id_col].is_unique  # one row per id: no unit in two variants, no repeat
    if id_col:
        out.df, out.quarantine = ((data, Quarantine(id_col)) if unique
                                  else quarantine_multi_assigned(data, id_col, variant_col))
        if out.quarantine.count:
            out.warnings.append(out.quarantine.message())
    if unit_col and unit_col != cluster_col:
        out.df, out.dedup = ((out.df, Deduplication("unit table", unit_col)) if unique and unit_col == id_col
                             else unique_units(out.df, unit_col, table="unit table"))
        if out.dedup.rows_removed:
            out.warnings.append(out.dedup.message())
    if len(out.df) != len(data):
        out.codes = None
    return out


def _segment_lifts(arms: FrameArms, metrics: Sequence[Metric], treatments: Sequence[str], segment_col: str,
                   alpha: float, warnings: list[str]) -> EstimateTable:
    """Relative lifts of the primary metrics per segment (unadjusted, exploratory); a segment where a metric is
    not estimable is a warning."""
    seg_est = []
    for s in sorted(arms.segments):
        for v in treatments:
            for m in (mm for mm in metrics if mm.role == "primary"):
                det = {"metric": m.name, "variant": v, "segment": s}
                try:
                    summaries = arms(m, v, alpha, segment=s)
                except (ValueError, ZeroDivisionError, np.linalg.LinAlgError, IndexError) as exc:
                    warnings.append(f"segment {s!r} metric {m.name!r}: not estimable ({exc})")
                    continue
                seg_est.append(lift_estimate(m, summaries, relative=True, alpha=alpha, details=det,
                                             name=f"{m.name} {v} [{s}] rel"))
    return EstimateTable(seg_est, title=f"Relative lifts by {segment_col} (unadjusted)")


def covariates_for(metric: Metric, covariates: Sequence[str]) -> list[str]:
    """The CUPED covariates of ``metric`` (:meth:`Metric.covariates_for`)."""
    return metric.covariates_for(covariates)


def arms_from_moments(metric: Metric, treatment: ArmMoments, control: ArmMoments,
                      covariates: Sequence[str]) -> ArmSummaries:
    """Arm summaries of a moment-based metric from per-arm moments (:meth:`Metric.summaries`)."""
    return metric.summaries(treatment, control, covariates)


def analyze_by_window(windowed: Mapping[str, pd.DataFrame], **kwargs) -> dict[str, ABReadout]:
    """Run :func:`analyze_ab` on unit tables read out at several windows (e.g. 7D/14D/30D after exposure).

    Pass ``{window: UnitMetrics.units}`` from
    :func:`~recsys_causal.experiments.unit_metrics.windowed_unit_metrics`; each window keeps only the
    units whose window has closed.
    """
    return {w: analyze_ab(frame, **kwargs) for w, frame in windowed.items()}


def __getattr__(name: str) -> Any:
    if name == "KINDS":  # the registered metric kinds (formerly a fixed tuple)
        return tuple(Metric.registry)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ABReadout", "ArmSummaries", "Metric", "analyze_ab", "analyze_by_window", "arms_from_moments",
           "as_metric", "covariates_for", "finish_readout", "lifts_and_guardrails", "resolve_variants"]

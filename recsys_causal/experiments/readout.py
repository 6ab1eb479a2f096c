"""``analyze_ab``: the full readout of an A/B experiment from a unit-level table.

Order of work: check variant labels, quarantine units seen in several variants, run the sample-ratio
mismatch test (shown first), check that covariates are pre-treatment, then for every treatment variant
against the control and every metric compute absolute and relative lifts (CUPED when covariates are given; one
hypothesis on two scales sharing the absolute contrast's p-value, the relative interval by Fieller), adjust
p-values (Holm across primary comparisons, Benjamini–Hochberg across secondary ones, one hypothesis per metric
and variant), evaluate guardrails as separate non-inferiority tests, and optionally break lifts down by segment.

>>> from recsys_causal.simulate.ab import simulate_ab
>>> sim = simulate_ab(n_units=4000, seed=3)
>>> r = analyze_ab(sim.units, control="control", metrics=["revenue", Metric.ratio("ctr", "clicks", "impressions")],
...                guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.1)],
...                covariates=["pre_revenue"], expected_split={"control": 0.5, "treatment": 0.5})
>>> r.srm.flagged, len(r.metrics), r.guardrails[0].details["verdict"] in ("ok", "violated", "inconclusive")
(False, 4, True)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.checks import (
    Deduplication,
    Quarantine,
    as_float,
    check_alpha,
    check_variance,
    check_variants,
    quarantine_multi_assigned,
    require_columns,
    require_frame,
    unique_units,
)
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments import ratio as ratio_mod
from recsys_causal.experiments.arm_moments import (
    RATIO_COLUMN,
    ArmMoments,
    cuped_details,
    cuped_from_moments,
    linearized_ratio,
    mean_arm,
)
from recsys_causal.experiments.covariate_checks import guard_cuped
from recsys_causal.experiments.cuped import check_pre_treatment, cuped_summary
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.means import ArmMean, arm_mean, lift_from_arms, welch_df
from recsys_causal.experiments.multiplicity import adjust_by_hypothesis
from recsys_causal.experiments.quantiles import quantile_arms, with_degenerate_warning
from recsys_causal.experiments.srm import SRMResult, srm_test
from recsys_causal.suggest import did_you_mean

KINDS = ("mean", "proportion", "ratio", "quantile")

#: Treatment and control summaries of one metric, the method label and extra details.
ArmSummaries = tuple[ArmMean, ArmMean, str, dict]


@dataclass(frozen=True)
class Metric:
    """A metric to read out.

    ``kind``: ``mean`` / ``proportion`` (of ``column``), ``ratio`` (``sum(numerator) / sum(denominator)``) or
    ``quantile`` (``q`` of ``column``). ``role``: ``primary`` (Holm) or ``secondary`` (Benjamini–Hochberg).
    ``covariates``: ``None`` uses the readout's covariates (mean, proportion and ratio metrics), ``()`` none.
    """

    name: str
    kind: str = "mean"
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    q: float | None = None
    role: str = "primary"
    covariates: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"metric {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}"
                              f"{did_you_mean(self.kind, KINDS)}")
        if self.role not in ("primary", "secondary"):
            raise ConfigError(f"metric {self.name!r}: role must be 'primary' or 'secondary', got {self.role!r}")
        if self.kind == "ratio" and not (self.numerator and self.denominator):
            raise ConfigError(f"ratio metric {self.name!r} needs numerator and denominator columns")
        if self.kind == "quantile" and not (self.q is not None and 0 < self.q < 1):
            raise ConfigError(f"quantile metric {self.name!r} needs q in (0, 1)")

    @property
    def columns(self) -> list[str]:
        return [self.numerator, self.denominator] if self.kind == "ratio" else [self.column or self.name]

    @classmethod
    def mean(cls, column: str, *, name: str | None = None, role: str = "primary", **kw) -> Metric:
        return cls(name or column, "mean", column=column, role=role, **kw)

    @classmethod
    def proportion(cls, column: str, *, name: str | None = None, role: str = "primary", **kw) -> Metric:
        return cls(name or column, "proportion", column=column, role=role, **kw)

    @classmethod
    def ratio(cls, name: str, numerator: str, denominator: str, *, role: str = "primary", **kw) -> Metric:
        return cls(name, "ratio", numerator=numerator, denominator=denominator, role=role, **kw)

    @classmethod
    def quantile(cls, column: str, q: float, *, name: str | None = None, role: str = "secondary") -> Metric:
        return cls(name or f"{column}_p{round(100 * q):d}", "quantile", column=column, q=q, role=role)


def as_metric(spec: str | Metric) -> Metric:
    """A :class:`Metric` from a spec: a column name (mean) or ``"num/den"`` (ratio named the same)."""
    if isinstance(spec, Metric):
        return spec
    if "/" in spec:
        num, den = (s.strip() for s in spec.split("/", 1))
        return Metric.ratio(spec, num, den)
    return Metric.mean(spec)


@dataclass
class ABReadout:
    """Result of :func:`analyze_ab`: SRM first, then metric lifts, guardrails and segment breakdowns."""

    srm: SRMResult
    metrics: EstimateTable
    guardrails: EstimateTable
    segments: EstimateTable | None
    n_units: dict[str, int]
    control: str
    quarantine: Quarantine | None = None
    warnings: list[str] = field(default_factory=list)
    deduplication: Deduplication | None = None

    def lift(self, metric: str, variant: str | None = None, *, relative: bool = True) -> Estimate:
        """The lift estimate of ``metric`` for ``variant`` (default: the only / first treatment)."""
        for e in self.metrics:
            if e.details.get("metric") == metric and (variant is None or e.details.get("variant") == variant) \
                    and e.details.get("lift") == ("relative" if relative else "absolute"):
                return e
        raise KeyError(f"no lift for metric {metric!r} variant {variant!r}")

    @property
    def guardrail_verdicts(self) -> dict[str, str]:
        return {e.name: e.details["verdict"] for e in self.guardrails}

    def to_frame(self) -> pd.DataFrame:
        """One tidy table: the SRM row(s), metric lifts, guardrails and segments with a ``section`` column."""
        parts = [self.srm.to_frame().assign(section="srm")]
        for label, table in (("metric", self.metrics), ("guardrail", self.guardrails), ("segment", self.segments)):
            if table is not None and len(table):
                parts.append(table.to_frame().assign(section=label))
        frame = pd.concat(parts, ignore_index=True)
        return frame[["section", *[c for c in frame.columns if c != "section"]]]

    def __repr__(self) -> str:
        lines = [repr(self.srm)]
        if self.srm.flagged:
            lines.append("  !! sample-ratio mismatch: do not trust the lifts below until the cause is found")
        if self.quarantine and self.quarantine.count:
            lines.append("  " + self.quarantine.message())
        lines.append("units: " + ", ".join(f"{k}={v}" for k, v in self.n_units.items()))
        lines.append("Metrics:")
        lines += [f"  {_line(e)}" for e in self.metrics]
        if len(self.guardrails):
            lines.append("Guardrails:")
            lines += [f"  {e.details['verdict'].upper():<12} {_line(e)} (margin {e.details['margin']:g} "
                      f"{e.details['margin_scale']}, {e.details['direction']})" for e in self.guardrails]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        banner = "background:#fdd" if self.srm.flagged else "background:#efe"
        out = [f"<div style='{banner};padding:4px'><b>{html.escape(repr(self.srm))}</b></div>"]
        if self.quarantine and self.quarantine.count:
            out.append(f"<p>{html.escape(self.quarantine.message())}</p>")
        out.append(EstimateTable(self.metrics, title="Metric lifts")._repr_html_())
        if len(self.guardrails):
            out.append(EstimateTable(self.guardrails, title="Guardrails")._repr_html_())
        if self.segments is not None and len(self.segments):
            out.append(EstimateTable(self.segments, title="Segments")._repr_html_())
        out += [f"<p>warning: {html.escape(w)}</p>" for w in self.warnings]
        return "\n".join(out)


def _line(e: Estimate) -> str:
    lvl = round(100 * (1 - e.alpha))
    pa = e.details.get("p_adjusted")
    padj = f", p_adj={pa:.3g}" if pa is not None else ""
    p = f", p={e.p_value:.3g}" if e.p_value is not None else ""
    return f"{e.name}: {e.value:.4g} {lvl}% CI [{e.ci_low:.4g}, {e.ci_high:.4g}]{p}{padj}"


def _arms(
    metric: Metric, df: pd.DataFrame, t_mask: np.ndarray, c_mask: np.ndarray, *, alpha: float,
    covariates: Sequence[str], cluster_col: str | None,
) -> ArmSummaries:
    """Arm summaries for one metric and comparison (shared by the absolute and the relative lift)."""
    clusters = df[cluster_col].to_numpy() if cluster_col else None
    if metric.kind == "quantile":
        y = as_float(df, metric.columns[0])
        ct = None if clusters is None else clusters[t_mask]
        cc = None if clusters is None else clusters[c_mask]
        return quantile_arms(y[t_mask], y[c_mask], metric.q, clusters_treatment=ct, clusters_control=cc,
                             alpha=alpha)
    if clusters is None:
        columns = list(dict.fromkeys([*metric.columns, *covariates]))
        return arms_from_moments(metric, ArmMoments.from_frame(df, columns, t_mask),
                                 ArmMoments.from_frame(df, columns, c_mask), covariates)
    if metric.kind == "ratio":
        num, den = as_float(df, metric.numerator), as_float(df, metric.denominator)
        y = np.full(len(df), np.nan)
        for m in (t_mask, c_mask):
            ok = m & np.isfinite(num) & np.isfinite(den)
            y[ok] = ratio_mod.linearize(num[ok], den[ok])
        method = "cluster-robust ratio delta"
    else:
        y = as_float(df, metric.columns[0])
        method = "cluster-robust " + ("welch" if metric.kind == "mean" else "proportion (welch)")
    if covariates:
        both = t_mask | c_mask
        x = np.column_stack([as_float(df, c)[both] for c in covariates])
        t, c, det = cuped_summary(y[both], x, t_mask[both], clusters=clusters[both])
        return t, c, "cuped " + method, {**det, "covariates": list(covariates)}
    return arm_mean(y[t_mask], clusters[t_mask]), arm_mean(y[c_mask], clusters[c_mask]), method, {}


def arms_from_moments(
    metric: Metric, treatment: ArmMoments, control: ArmMoments, covariates: Sequence[str],
) -> ArmSummaries:
    """Arm summaries of a mean, proportion or ratio metric (CUPED when ``covariates``) from per-arm moments over
    the units where the metric's columns and the covariates are all finite. The in-memory and the SQL paths
    both end here."""
    if metric.kind == "ratio":
        y = RATIO_COLUMN
        treatment = linearized_ratio(treatment, metric.numerator, metric.denominator, y)
        control = linearized_ratio(control, metric.numerator, metric.denominator, y)
        method = "ratio delta"
    else:
        y = metric.columns[0]
        method = "welch" if metric.kind == "mean" else "proportion (welch)"
    if covariates:
        t, c, theta, raw_var = cuped_from_moments(treatment, control, y, list(covariates))
        return t, c, "cuped " + method, {**cuped_details(t, c, theta, raw_var), "covariates": list(covariates)}
    return mean_arm(treatment, y), mean_arm(control, y), method, {}


def covariates_for(metric: Metric, covariates: Sequence[str]) -> list[str]:
    """The CUPED covariates of ``metric``: its own, else the readout's (none for quantile metrics)."""
    if metric.kind == "quantile":
        return []
    return list(metric.covariates) if metric.covariates is not None else list(covariates)


def resolve_variants(
    control: object, expected_split: Mapping | None, present: Sequence[str],
) -> tuple[str, dict[str, float] | None, list[str]]:
    """Control label, expected split and allowed labels as strings; the control must be one of them."""
    control = str(control)
    split = {str(k): v for k, v in expected_split.items()} if expected_split else None
    if split:
        bad = {k: v for k, v in split.items()
               if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not np.isfinite(v) or v <= 0}
        if bad:
            raise ConfigError(f"expected_split shares must be positive finite numbers, got {bad}",
                              fix="give every variant its planned share, e.g. {'control': 0.5, 'treatment': 0.5}")
    known = list(split) if split else sorted(present)
    if control not in known:
        raise ConfigError(f"control variant {control!r} is not among the variants {known}"
                          f"{did_you_mean(control, known)}",
                          fix="pass control= one of the variant labels, or add it to expected_split")
    return control, split, known


def lifts_and_guardrails(
    metrics: Sequence[Metric], guardrails: Sequence[Guardrail], treatments: Sequence[str], control: str, *,
    alpha: float, arms_for: Callable[[Metric, str, float], ArmSummaries],
) -> tuple[list[Estimate], list[Estimate]]:
    """Absolute and relative lifts of every metric and treatment, adjusted (Holm across primary, BH across
    secondary) and sorted, and the guardrail estimates with verdicts. ``arms_for(metric, variant, alpha)``
    checks the metric and returns its arm summaries (in memory or from SQL sums)."""
    estimates: dict[str, list[Estimate]] = {"primary": [], "secondary": []}
    for v in treatments:
        for m in metrics:
            arms = arms_for(m, v, alpha)
            for rel in (False, True):
                det = {"metric": m.name, "variant": v, "control": control, "kind": m.kind, "role": m.role}
                estimates[m.role].append(_lift(m, arms, relative=rel, alpha=alpha, details=det,
                                               name=f"{m.name} {v} {'rel' if rel else 'abs'}"))
    adjusted: list[Estimate] = []
    for role, method in (("primary", "holm"), ("secondary", "bh")):  # one hypothesis per metric and variant
        adjusted += adjust_by_hypothesis(estimates[role], multiplicity=method, alpha=alpha)
    adjusted.sort(key=lambda e: (e.details["role"] != "primary", e.details["variant"], e.details["metric"],
                                 e.details["lift"]))
    metric_by_name = {m.name: m for m in metrics}
    guard_estimates = []
    for g in guardrails:
        m = metric_by_name.get(g.metric) or Metric.mean(g.metric)
        for v in treatments:
            det = {"metric": m.name, "variant": v, "control": control, "kind": m.kind}
            arms = arms_for(m, v, g.alpha)
            guard_estimates.append(g.evaluate(_lift(m, arms, relative=g.relative, alpha=g.alpha, details=det,
                                                    name=f"{g.metric} {v} guardrail")))
    return adjusted, guard_estimates


def finish_readout(
    srm: SRMResult, lifts: Sequence[Estimate], guardrails: Sequence[Estimate], segments: EstimateTable | None,
    n_units: dict[str, int], control: str, quarantine: Quarantine | None, warnings: list[str],
    srm_threshold: float,
) -> ABReadout:
    """The :class:`ABReadout`, with the sample-ratio-mismatch warning first when the SRM test flags, and the
    lifts' small-sample and unbounded-interval warnings repeated once at the readout level."""
    for w in dict.fromkeys(w for e in lifts for w in e.warnings if w.startswith("small sample")):
        warnings.append(w)
    warnings += [f"{e.name}: {w}" for e in lifts for w in e.warnings if "unbounded" in w]
    if srm.flagged:
        warnings.insert(0, f"sample-ratio mismatch (p={srm.p_value:.3g} < {srm_threshold:g}): lifts are suspect")
    return ABReadout(srm, EstimateTable(lifts, title="Metric lifts"), EstimateTable(guardrails, title="Guardrails"),
                     segments, n_units, control, quarantine, warnings)


def _lift(
    metric: Metric, arms: ArmSummaries, *, relative: bool, alpha: float, name: str,
    details: dict,
) -> Estimate:
    t, c, method, extra = arms
    df_ = None if metric.kind == "quantile" else welch_df(t, c)  # t reference (None when clustered)
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method, df=df_,
                          details={**extra, **details, "lift": "relative" if relative else "absolute"})


def analyze_ab(
    units_df: pd.DataFrame, *, variant_col: str = "variant", control: str = "control",
    metrics: Sequence[str | Metric] = (), guardrails: Sequence[Guardrail] = (),
    covariates: Sequence[str] | None = None, expected_split: Mapping[str, float] | None = None,
    unit_col: str | None = None, cluster_col: str | None = None, segment_col: str | None = None,
    day_col: str | None = None, first_exposure_col: str | None = None,
    covariate_times: Mapping[str, str | pd.Timestamp] | None = None, alpha: float = 0.05,
    srm_threshold: float = 0.001,
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
    """
    require_frame(units_df, "analyze_ab", "build one with unit_metrics_from_log(log, window=..., as_of=...)")
    alpha = check_alpha(alpha)
    metric_list = [as_metric(m) for m in metrics]
    covariates = list(covariates or [])
    needed = {variant_col, *covariates}
    for m in metric_list:
        needed.update(m.columns)
    for g in guardrails:
        if g.metric not in {m.name for m in metric_list}:
            needed.add(g.metric)
    for col in (unit_col, cluster_col, segment_col, day_col, first_exposure_col):
        if col:
            needed.add(col)
    require_columns(units_df, sorted(needed))
    if not (pd.api.types.is_string_dtype(units_df[variant_col]) or units_df[variant_col].dtype == object):
        units_df = units_df.assign(**{variant_col: units_df[variant_col].astype(str)})
    control, expected_split, known = resolve_variants(control, expected_split,
                                                      units_df[variant_col].astype(str).unique())
    id_col = cluster_col or unit_col
    check_variants(units_df, variant_col, known, unit_col=id_col)
    df = units_df
    warnings: list[str] = []
    quarantine = None
    if id_col:
        df, quarantine = quarantine_multi_assigned(df, id_col, variant_col)
        if quarantine.count:
            warnings.append(quarantine.message())
    dedup = None
    if unit_col and unit_col != cluster_col:
        df, dedup = unique_units(df, unit_col, table="unit table")
        if dedup.rows_removed:
            warnings.append(dedup.message())
    split = dict(expected_split) if expected_split else {v: 1.0 for v in known}
    if not expected_split:
        warnings.append("no expected_split given; SRM tested against equal shares")
    srm = srm_test(df, expected_split=split, variant_col=variant_col, segment_col=segment_col, day_col=day_col,
                   unit_col=id_col if cluster_col else None, threshold=srm_threshold)
    check_pre_treatment(df, covariates, first_exposure_col=first_exposure_col, covariate_times=covariate_times,
                        unit_col=id_col)
    warnings += guard_cuped(df, [*metric_list, *(Metric.mean(g.metric) for g in guardrails if g.metric not in
                                                 {m.name for m in metric_list})], covariates,
                            variant_col=variant_col, control=control, cluster_col=cluster_col,
                            pre_verified=bool(covariate_times))
    variant = df[variant_col].astype(str).to_numpy()
    c_mask = variant == control
    treatments = [v for v in known if v != control]
    n_units = {v: int((df.drop_duplicates(id_col) if cluster_col else df)[variant_col].eq(v).sum()) for v in known}

    def arms_for(m: Metric, v: str, level: float) -> ArmSummaries:
        t_mask = variant == v
        for col in m.columns:
            for label, mask in ((v, t_mask), (control, c_mask)):
                check_variance(as_float(df, col)[mask], metric=col, variant=label)
        return _arms(m, df, t_mask, c_mask, alpha=level, covariates=covariates_for(m, covariates),
                     cluster_col=cluster_col)

    lifts, guard_estimates = lifts_and_guardrails(metric_list, guardrails, treatments, control, alpha=alpha,
                                                  arms_for=arms_for)
    lifts = [with_degenerate_warning(e) for e in lifts]
    warnings += list(dict.fromkeys(f"metric {e.details['metric']!r} ({e.details['variant']}): "
                                   f"{e.details['degenerate']}" for e in lifts if e.details.get("degenerate")))

    segments = None
    if segment_col:
        seg_values = df[segment_col].astype(str).to_numpy()
        seg_est = []
        for s in sorted(pd.unique(seg_values)):
            s_mask = seg_values == s
            for v in treatments:
                for m in (mm for mm in metric_list if mm.role == "primary"):
                    det = {"metric": m.name, "variant": v, "segment": s}
                    try:
                        arms = _arms(m, df, (variant == v) & s_mask, c_mask & s_mask, alpha=alpha,
                                     covariates=covariates_for(m, covariates), cluster_col=cluster_col)
                    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError, IndexError) as exc:
                        warnings.append(f"segment {s!r} metric {m.name!r}: not estimable ({exc})")
                        continue
                    seg_est.append(_lift(m, arms, relative=True, alpha=alpha, details=det,
                                         name=f"{m.name} {v} [{s}] rel"))
        segments = EstimateTable(seg_est, title=f"Relative lifts by {segment_col} (unadjusted)")
    readout = finish_readout(srm, lifts, guard_estimates, segments, n_units, control, quarantine, warnings,
                             srm_threshold)
    readout.deduplication = dedup
    return readout


def analyze_by_window(windowed: Mapping[str, pd.DataFrame], **kwargs) -> dict[str, ABReadout]:
    """Run :func:`analyze_ab` on unit tables read out at several windows (e.g. 7D/14D/30D after exposure).

    Pass ``{window: UnitMetrics.units}`` from
    :func:`~recsys_causal.experiments.unit_metrics.windowed_unit_metrics`; each window keeps only the
    units whose window has closed.
    """
    return {w: analyze_ab(frame, **kwargs) for w, frame in windowed.items()}

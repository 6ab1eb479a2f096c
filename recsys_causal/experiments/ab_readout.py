"""The result of an A/B analysis: :class:`ABReadout` (sample-ratio test first, then metric lifts, guardrails
and segment breakdowns), with its text, HTML and tidy-table views.

>>> from recsys_causal.experiments import analyze_ab
>>> from recsys_causal.simulate.ab import simulate_ab
>>> r = analyze_ab(simulate_ab(n_units=2000, seed=0).units, metrics=["revenue"],
...                expected_split={"control": 0.5, "treatment": 0.5})
>>> r.lift("revenue").details["quantity"], list(r.to_frame()["section"].unique())
('relative lift', ['srm', 'metric'])
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recsys_causal.caveats import category_of, estimate_caveats
from recsys_causal.checks import Deduplication, Quarantine
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments.srm import SRMResult
from recsys_causal.results import ResultProtocol


@dataclass
class ABReadout(ResultProtocol):
    """Result of :func:`analyze_ab`: SRM first, then metric lifts, guardrails and segment breakdowns. Its
    ``to_frame()`` (with a ``section`` column), ``repr`` and notebook view (SRM banner first) are its own;
    ``to_dict()``, ``to_markdown()``, ``summary()``, ``conf_int()`` and ``[name]`` come from the results protocol
    (:class:`~recsys_causal.results.ResultProtocol`)."""

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

    def plot(self, kind: str = "lifts"):
        """A matplotlib Figure of ``kind`` (shown inline in Jupyter; global matplotlib state is left alone):
        ``"lifts"``, the relative lift of each metric and variant with its interval; ``"guardrails"``, each
        guardrail's harm with its one-sided bounds against its margin; ``"segments"``, the per-segment relative
        lifts. The readout holds no daily data: for the cumulative effect over time, plot
        ``plotting.plot_cumulative(cumulative_looks(data, metric=..., time_col=...))``."""
        from recsys_causal.plotting import Rows, rows_figure

        if kind == "guardrails":
            return rows_figure(guardrail_rows(self.guardrails), what="guardrails")
        if kind not in ("lifts", "segments"):
            raise ConfigError(f"A/B readouts have no {kind!r} plot" + (
                ": the readout holds no daily data" if kind == "cumulative" else ""), fix=(
                "plot recsys_causal.plotting.plot_cumulative(cumulative_looks(data, metric=..., time_col=...))"
                if kind == "cumulative" else "use kind='lifts', 'guardrails' or 'segments'"))
        es = [e for e in (self.metrics if kind == "lifts" else self.segments or [])
              if e.details.get("quantity") == "relative lift"]
        labels = [f"{e.details.get('metric')} ({e.details.get('variant')})"
                  + (f" [{e.details['segment']}]" if "segment" in e.details else "") for e in es]
        return rows_figure(Rows.of(es, labels, title="Relative lift" + (" by segment" if kind == "segments" else ""),
                                   xlabel="relative lift (treatment / control − 1)"), what=f"relative {kind}")

    def _title(self) -> str:
        return "A/B readout"

    def _caveats(self) -> list[tuple[type, str]]:
        """The readout's warnings (sample-ratio mismatch first), then each other warning of its estimates once."""
        rows = [*self.metrics, *self.guardrails, *(self.segments or [])]
        return [(category_of(w), w) for w in self.warnings] + estimate_caveats(rows, self.warnings)

    def _sections(self) -> list[tuple[str, Any]]:
        parts: list[tuple[str, Any]] = [("SRM", self.srm), ("metrics", self.metrics)]
        if len(self.guardrails):
            parts.append(("guardrails", self.guardrails))
        if self.segments is not None and len(self.segments):
            parts.append(("segments", self.segments))
        return parts

    def _data(self) -> dict[str, Any]:
        return {"n_units": self.n_units, "control": self.control}

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


def guardrail_rows(guardrails: EstimateTable | list[Estimate], title: str = "Guardrails: harm against the margin"):
    """Plot rows (:class:`~recsys_causal.plotting.Rows`) of guardrail verdicts: each guardrail's harm in its bad
    direction with its one-sided bounds, its margin as a mark, and its verdict in the label."""
    from recsys_causal.estimate import interval_label
    from recsys_causal.plotting import Rows

    g = list(guardrails)
    return Rows([f"{e.details.get('guardrail')}: {e.details.get('verdict')}" for e in g],
                [e.details["harm"] for e in g], [e.details["harm_lower"] for e in g],
                [e.details["harm_upper"] for e in g], title=title, xlabel="harm in the bad direction",
                interval=interval_label(g[0].alpha, "bounds") if g else None, marks=[e.details["margin"] for e in g])


def _line(e: Estimate) -> str:
    lvl = round(100 * (1 - e.alpha))
    pa = e.details.get("p_adjusted")
    padj = f", p_adj={pa:.3g}" if pa is not None else ""
    p = f", p={e.p_value:.3g}" if e.p_value is not None else ""
    return f"{e.name}: {e.value:.4g} {lvl}% CI [{e.ci_low:.4g}, {e.ci_high:.4g}]{p}{padj}"


__all__ = ["ABReadout", "guardrail_rows"]

"""The results of a screen: a verdict per candidate (:class:`CandidateVerdict`) and the run (:class:`GateResult`)
with its JSON, Markdown and HTML forms and its exit code.

>>> GateResult("empty", [], {"alpha": 0.05}).intervals["lower_bound"]
'95% one-sided lower bound'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from recsys_causal.caveats import DataQualityWarning, SupportWarning, estimate_caveats
from recsys_causal.estimate import Estimate, EstimateTable, interval_label
from recsys_causal.gate.quality import DataQuality
from recsys_causal.ope.support import SupportReport
from recsys_causal.results import ResultProtocol

SCHEMA_VERSION = 1
EXIT_PASS, EXIT_FAIL, EXIT_INVALID, EXIT_INCONCLUSIVE = 0, 1, 2, 3


@dataclass
class CandidateVerdict:
    name: str
    verdict: str
    reasons: list[str]
    primary: Estimate
    lower_bound: float
    cross_checks: list[Estimate]
    guardrails: list[dict]
    segments: list[dict]
    support: SupportReport
    mode: str = "top_slot"
    positions: list[dict] = field(default_factory=list)  # support per position (ranking, logged_position)
    data_quality: DataQuality | None = None  # this candidate's accounting when its mode differs from the screen's
    versions: list[dict] = field(default_factory=list)  # support per logging-policy version (mixed logs)

    def to_dict(self) -> dict:
        out = {"name": self.name, "mode": self.mode, "verdict": self.verdict, "reasons": self.reasons,
                "primary": estimate_json(self.primary), "lower_bound": json_number(self.lower_bound),
                "cross_checks": [estimate_json(e) for e in self.cross_checks], "guardrails": self.guardrails,
                "segments": self.segments,
                "support": {"verdict": self.support.verdict, "reasons": self.support.reasons,
                            "ess": json_number(self.support.ess), "ess_ratio": json_number(self.support.ess_ratio),
                            "max_weight_share": json_number(self.support.max_weight_share),
                            "mean_weight": json_number(self.support.mean_weight),
                            "unsupported_mass": json_number(self.support.unsupported_mass),
                            "outside_mass": json_number(self.support.outside_mass)}}
        if self.support.unlogged_slate_mass is not None:  # ranking mode: target mass on slates never logged
            out["support"]["unlogged_slate_mass"] = json_number(self.support.unlogged_slate_mass)
            out["support"]["slates_never_logged"] = self.support.slates_never_logged
        for key, rows in (("positions", self.positions), ("versions", self.versions)):
            if rows:
                out["support"][key] = [{k: json_number(v) if isinstance(v, float) else v for k, v in r.items()}
                                       for r in rows]
        if self.data_quality is not None:
            out["data_quality"] = self.data_quality.to_dict()
        return out


@dataclass
class GateResult(ResultProtocol):
    """Verdicts of every candidate, ranked by the primary lift's lower confidence bound. Its JSON, Markdown and
    HTML page are the gate's own; ``summary()``, ``conf_int()``, ``to_frame()`` and ``[name]`` come from the
    results protocol (:class:`~recsys_causal.results.ResultProtocol`)."""

    name: str
    candidates: list[CandidateVerdict]
    settings: dict = field(default_factory=dict)
    data_quality: DataQuality | None = None

    @property
    def intervals(self) -> dict[str, str]:
        """The level and sidedness of every interval and bound shown, from the alpha that computed them."""
        a = self.settings.get("alpha", 0.05)
        return {"primary": interval_label(2 * a), "lower_bound": interval_label(a, "lower"),
                "upper_bound": interval_label(a, "upper"), "guardrail_bounds": interval_label(a, "bounds"),
                "segment_upper": interval_label(a, "upper"), "cross_checks": interval_label(2 * a)}

    @property
    def exit_code(self) -> int:
        verdicts = {c.verdict for c in self.candidates}
        if "fail" in verdicts:
            return EXIT_FAIL
        return EXIT_PASS if verdicts == {"pass"} else EXIT_INCONCLUSIVE

    def to_dict(self, timestamp: bool = True) -> dict:
        out = {"schema_version": SCHEMA_VERSION, "name": self.name, "exit_code": self.exit_code,
               "settings": self.settings, "intervals": self.intervals,
               "data_quality": None if self.data_quality is None else self.data_quality.to_dict(),
               "candidates": [c.to_dict() for c in self.candidates]}
        if timestamp:
            out["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_markdown(self) -> str:
        from recsys_causal.gate.render import to_markdown

        return to_markdown(self)

    def to_html(self) -> str:
        from recsys_causal.gate.render import to_html

        return to_html(self)

    def __repr__(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return ResultProtocol.to_html(self)  # tables in a notebook, not the whole page

    def _title(self) -> str:
        return f"OPE screen: {self.name}"

    def plot(self):
        """A matplotlib Figure (shown inline in Jupyter): per candidate, its verdict and its primary lift by
        estimator (primary first, then the cross-checks) with the intervals the screen used."""
        from recsys_causal.plotting import Rows, rows_figure

        rel = "relative " if self.settings.get("relative", True) else ""
        return rows_figure(*(Rows.of([c.primary, *c.cross_checks],
                                     [e.details.get("estimator", e.method) for e in [c.primary, *c.cross_checks]],
                                     title=f"{c.name}: {c.verdict}", xlabel=f"{rel}lift over the baseline",
                                     interval=self.intervals["primary"]) for c in self.candidates),
                           what="candidates")

    def _sections(self) -> list[tuple[str, EstimateTable]]:
        return [(c.name, EstimateTable([c.primary, *c.cross_checks], title=f"{c.name}: {c.verdict}"))
                for c in self.candidates]

    def _warnings(self) -> list[str]:
        return [f"{c.name}: {r}" for c in self.candidates for r in c.reasons]

    def _caveats(self) -> list[tuple[type, str]]:
        """Data quality that blocks a pass, then per candidate weak support and its estimates' warnings."""
        qualities = [q for q in (self.data_quality, *(c.data_quality for c in self.candidates)) if q is not None]
        out = [(DataQualityWarning, r) for q in qualities for r in q.blocking_reasons()]
        for c in self.candidates:
            if c.support.verdict != "supported":
                out.append((SupportWarning, c.support.caveat(c.name)))
            out += estimate_caveats([c.primary, *c.cross_checks])
        return out


def json_number(v):
    """A finite float, else None (JSON has no NaN or infinity)."""
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def estimate_json(e: Estimate) -> dict:
    """The fields of an estimate the gate's JSON shows."""
    return {"name": e.name, "value": json_number(e.value), "se": json_number(e.se),
            "ci_low": json_number(e.ci_low), "ci_high": json_number(e.ci_high),
            "alpha": e.alpha, "interval": interval_label(e.alpha), "n": e.n, "method": e.method}

"""Run the analysis plan of an ``experiment.yaml``: every section that applies runs in page order (the summary
sections, which read the others, last), and the report data is assembled from their results.

The result is plain data (a JSON-ready dict, one key per section in page order) plus figures as SVG strings;
rendering is separate.

>>> from recsys_causal.report.config import load_config
>>> cfg, base = load_config(Path(__file__).parents[2] / "reports" / "examples" / "holdout.yaml")
>>> data = run_plan(cfg, base, b"")
>>> list(data)[3:6], data["decision"]["verdict"], data["metrics"], len(data["holdout"]["estimates"]) > 2
(['decision', 'data_quality', 'metrics'], 'inconclusive', [], True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recsys_causal.progress import track
from recsys_causal.report.config import ReportConfig
from recsys_causal.report.context import Progress, ReportContext
from recsys_causal.report.records import reproducibility
from recsys_causal.report.sections import Section, sections

SCHEMA_VERSION = 1


def run_plan(cfg: ReportConfig, base: Path, config_bytes: bytes, progress: Progress = lambda _: None,
             plan: list[Section] | None = None) -> dict[str, Any]:
    """Every section of the report as data, with ``figures`` holding SVG strings; ``plan`` the sections (default:
    every registered one)."""
    plan = sections() if plan is None else sorted(plan, key=lambda s: s.order)
    ctx = ReportContext(cfg, base, progress)
    for s in track(sorted(plan, key=lambda s: s.summary), desc="report sections", unit="section"):  # summaries last
        ctx.results[s.name] = s.run(ctx) if s.applies(cfg) else None
    result: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "experiment": cfg.experiment.model_dump(),
                              "alpha": cfg.alpha}
    found = [r for r in ctx.results.values() if r is not None]
    for s in plan:
        r = ctx.results[s.name]
        result[s.name] = s.empty() if r is None else r.to_json()
    result["warnings"] = ctx.warnings + [w for r in found for w in r.warnings]
    result["figures"] = {k: v for r in found for k, v in r.figures.items()}
    result["reproducibility"] = reproducibility(cfg, config_bytes, ctx.inputs)
    return result

"""The sections that sum up the others (they run last and read ``ctx.results``): the decision, data quality, and
methods and assumptions."""

from __future__ import annotations

from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import decide
from recsys_causal.report.sections.base import Section, SectionResult, register


def _found(ctx: ReportContext) -> list[SectionResult]:
    return [r for r in ctx.results.values() if r is not None]


@register
class Decision(Section):
    """Ship / do not ship / inconclusive from the findings of every section, in page order."""

    name, title, order = "decision", "Decision summary", 10
    summary = always_shown = True

    def run(self, ctx: ReportContext) -> SectionResult:
        return SectionResult(data=decide(f for r in _found(ctx) for f in r.findings))


@register
class DataQuality(Section):
    """What reading recorded (sources, unit-metric accounting, duplicates), then each section's quality entries
    (sample-ratio check, units by group, events)."""

    name, title, order = "data_quality", "Data quality", 20
    summary = always_shown = True

    def run(self, ctx: ReportContext) -> SectionResult:
        data = dict(ctx.data_quality)
        for r in _found(ctx):
            data.update(r.quality)
        return SectionResult(data=data)


@register
class Methods(Section):
    """Each section's methods, then the warnings and the reproducibility block on the page."""

    name, title, order = "methods", "Methods and assumptions", 1000
    summary = always_shown = True

    def run(self, ctx: ReportContext) -> SectionResult:
        return SectionResult(data=[m for r in _found(ctx) for m in r.methods])

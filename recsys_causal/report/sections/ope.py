"""The OPE-screening section: the pre-launch gate (``causal-gate``) run on the config ``ope_screen`` names."""

from __future__ import annotations

from recsys_causal.report.context import ReportContext
from recsys_causal.report.sections.base import Section, SectionResult, register


@register
class OPEScreen(Section):
    """The gate result of each candidate policy (no finding: the screen informs, the A/B test decides)."""

    name, title, order, requires = "ope", "OPE screening", 90, "ope_screen"

    def heading(self, report: dict) -> str:
        return f"{self.title}: {report['ope']['name']}"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.gate import load_gate_config, run_config

        path = ctx.path(ctx.cfg.ope_screen, "ope_screen")
        ctx.progress(f"OPE screen {path.name}")
        gate_cfg, gate_base = load_gate_config(path)
        res = run_config(gate_cfg, gate_base)
        method = (f"OPE screen: {res.settings['estimator']} estimates of each candidate's lift over the logging "
                  "policy with support diagnostics; verdict rule in the README (causal-gate).")
        return SectionResult(res, res.to_dict(timestamp=False), methods=[method])

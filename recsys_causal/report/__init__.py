"""``causal-report``: experiment.yaml → analysis plan → results → self-contained HTML and JSON."""

from recsys_causal.report.analysis import run_plan
from recsys_causal.report.cli import build_report, main
from recsys_causal.report.config import ReportConfig, load_config
from recsys_causal.report.decision import decide
from recsys_causal.report.render import render_html
from recsys_causal.report.sections import Section, SectionResult, register

__all__ = ["ReportConfig", "Section", "SectionResult", "build_report", "decide", "load_config", "main", "register",
           "render_html", "run_plan"]

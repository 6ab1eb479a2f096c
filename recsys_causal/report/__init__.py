"""``causal-report``: experiment.yaml → analysis plan → results → self-contained HTML and JSON."""

from recsys_causal.report.analysis import run_plan
from recsys_causal.report.cli import build_report, main
from recsys_causal.report.config import ReportConfig, load_config
from recsys_causal.report.decision import decide
from recsys_causal.report.render import render_html

__all__ = ["ReportConfig", "build_report", "decide", "load_config", "main", "render_html", "run_plan"]

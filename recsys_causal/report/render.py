"""Render report data to one self-contained HTML page (Jinja2, every data-derived string escaped).

>>> html = render_html({"experiment": {"name": "<script>x</script>", "design": "ab", "unit": "user_id"},
...     "alpha": 0.05, "decision": {"verdict": "inconclusive", "reasons": []}, "data_quality": {"sources": []},
...     "metrics": [], "guardrails": [], "figures": {}, "methods": [],
...     "reproducibility": {"config_sha256": "", "input_sha256": {}, "seed": 0, "package_versions": {},
...                         "generated_at": ""}})
>>> "<script>x" in html, "&lt;script&gt;x" in html
(False, True)
"""

from __future__ import annotations

import math

from jinja2 import Environment, PackageLoader, select_autoescape


def fmt(value) -> str:
    """Numbers with four significant digits; missing values as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


def render_html(result: dict) -> str:
    env = Environment(loader=PackageLoader("recsys_causal.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals["fmt"] = fmt
    return env.get_template("report.html.j2").render(r=_Dot(result))


class _Dot(dict):
    """Attribute access to nested dicts for the template."""

    def __getattr__(self, key):
        try:
            value = self[key]
        except KeyError:
            return None
        return _wrap(value)

    def get(self, key, default=None):
        return _wrap(super().get(key, default))


def _wrap(value):
    if isinstance(value, dict) and not isinstance(value, _Dot):
        return _Dot(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value

"""Render report data to one self-contained HTML page (Jinja2, every data-derived string escaped, its control,
zero-width and bidirectional characters made visible).

The page is a loop over the registered sections (:mod:`recsys_causal.report.sections`) whose data is present:
each gets a generated number, its heading and its fragment ``sections/<name>.html.j2``.

Every interval states its level and sidedness, from the ``alpha`` stored with its rows (each estimate's own
``alpha``) or, for rows without one (daily novelty effects, the randomization interval, guardrail bounds), the
report's ``alpha`` that computed them.

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

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from recsys_causal.estimate import interval_label, interval_level
from recsys_causal.report.decision import duration
from recsys_causal.report.inline_bars import glance_groups
from recsys_causal.report.sections import Section, sections
from recsys_causal.textsafe import visible_text


def fmt(value) -> str:
    """Numbers with four significant digits; missing values as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


def pct(value) -> str:
    """A relative quantity as a percentage with two decimals; missing values as an em dash.

    >>> pct(0.0436), pct(None)
    ('4.36%', '—')
    """
    return fmt(value) if not isinstance(value, float) or not math.isfinite(value) else f"{100 * value:.2f}%"


def interval_header(rows, alpha: float, sided: str = "two-sided") -> str:
    """The label of a table's interval column: the level of its rows (their ``alpha``, else ``alpha``).

    >>> interval_header([{"alpha": 0.1}, {"alpha": 0.1}], 0.05)
    '90% interval (two-sided)'
    >>> interval_header([{"alpha": 0.1}, {"alpha": 0.05}], 0.05)
    'interval (two-sided; level per row)'
    """
    levels = {_alpha(row, alpha) for row in rows or []} or {alpha}
    if len(levels) == 1:
        return interval_label(levels.pop(), sided)
    return f"interval ({sided}; level per row)"


def row_level(row, rows, alpha: float) -> str:
    """`` (90%)`` after a row's interval when its table mixes levels, else nothing."""
    if len({_alpha(x, alpha) for x in rows or []}) <= 1:
        return ""
    return f" ({interval_level(_alpha(row, alpha))})"


def _visible(value):
    """Every ``{{ }}`` output: hidden and direction-changing characters made visible (then autoescaped)."""
    return visible_text(value) if isinstance(value, str) else value


def _alpha(row, default: float) -> float:
    a = row.get("alpha") if isinstance(row, dict) else None
    return float(a) if isinstance(a, int | float) and 0 < a < 1 else float(default)


def environment(plan: list[Section] | None = None) -> Environment:
    """The report's Jinja environment: autoescaping on for every template and string; templates from the package
    and from the ``template_dir`` of any section in ``plan`` (default: every registered section)."""
    extra = {s.template_dir for s in (sections() if plan is None else plan) if s.template_dir is not None}
    loader = ChoiceLoader([PackageLoader("recsys_causal.report", "templates"),
                           *(FileSystemLoader(d) for d in sorted(extra))])
    env = Environment(loader=loader, autoescape=select_autoescape(default=True, default_for_string=True),
                      finalize=_visible)
    env.globals.update(fmt=fmt, interval_label=interval_label, interval_header=interval_header,
                       row_level=row_level, glance_groups=glance_groups, pct=pct, interval_level=interval_level,
                       duration=duration)
    return env


def render_html(result: dict, plan: list[Section] | None = None) -> str:
    """The page of the report data ``result``; ``plan`` the sections (default: every registered one), each shown
    when its data is present."""
    plan = sections() if plan is None else sorted(plan, key=lambda s: s.order)
    r = _Dot(result)
    return environment(plan).get_template("report.html.j2").render(r=r, sections=[s for s in plan if s.shown(r)])


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

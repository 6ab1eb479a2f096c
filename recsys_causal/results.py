"""One results protocol: every result renders, serialises and looks up its estimates the same way.

A result class derives from :class:`ResultProtocol` and supplies a few hooks:

- ``_sections()``: the named parts of the result, in order, each an :class:`~recsys_causal.estimate.EstimateTable`
  (or another ``ResultProtocol``), a ``DataFrame``, a mapping (a key/value table) or a list of strings;
- ``_title()`` / ``_headline()``: a title and an optional one-line headline;
- ``_warnings()``: what the reader should know (default: the ``warnings`` attribute).

From those it gets ``to_frame()`` (every estimate, one row each), ``to_dict()`` (JSON-ready: Python scalars,
NaN / infinity as ``None``, nested), ``to_markdown()`` (GitHub tables, data-derived text escaped),
``to_html()`` / ``_repr_html_`` (escaped), ``summary()`` (a fixed-width text block in the manner of statsmodels),
``conf_int(alpha)`` and ``result["name"]`` lookup with a nearest-match hint. A readout holding several estimate
tables lists each one as a section.

>>> import json
>>> from recsys_causal.estimate import Estimate, EstimateTable
>>> t = EstimateTable([Estimate.from_normal(name="ctr", value=0.02, se=0.005, n=1000, method="welch")],
...                   title="lifts")
>>> json.loads(json.dumps(t.to_dict()))["estimates"][0]["name"]
'ctr'
>>> t.conf_int(0.05).round(4).values.tolist()
[[0.0102, 0.0298]]
>>> print(t.to_markdown().splitlines()[2:5])
['| name | value | se | interval | p | n |', '|---|---|---|---|---|---|', '| ctr | 0.02 | 0.005 | [0.0102, 0.0298] | &lt;0.0001 | 1,000 |']
>>> "ctr" in t.summary()
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.display import cell, display_frame, estimates_text
from recsys_causal.errors import EstimationError
from recsys_causal.suggest import nearest
from recsys_causal.textsafe import visible_text

WIDTH = 78
MAX_WIDTH = 120
RULE = "\x00rule"  # placeholder for a rule as wide as the widest row
#: relative tolerance within which a stored interval counts as the Wald interval value ± q·se
WALD_RTOL = 1e-8


class IntervalError(EstimationError):
    """An interval cannot be given as asked (not a Wald interval at another level, or no intervals at all)."""


# ----------------------------------------------------------------------------- conversion helpers


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars as Python numbers, NaN and infinity as ``None``, arrays,
    tuples and sets as lists, frames as lists of records, times as ISO text, results as their ``to_dict()``.

    >>> jsonable({"a": np.float64("nan"), "b": (np.int64(2), 1.5), 3: pd.Timestamp("2024-01-01")})
    {'a': None, 'b': [2, 1.5], '3': '2024-01-01T00:00:00'}
    """
    if isinstance(value, ResultProtocol):
        return value.to_dict()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return jsonable(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return str(value)


def fmt(value: Any) -> str:
    """A cell as text: floats to 4 significant digits, ``None`` as empty, anything else by ``str``."""
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}"
    if value is None:
        return ""
    return str(value)


def md_escape(text: Any) -> str:
    """Text made safe inside a GitHub-flavoured markdown table cell: hidden and direction-changing characters
    shown as U+FFFD (:func:`~recsys_causal.textsafe.visible_text`), ``<``, ``>``, ``&`` as HTML entities,
    backslashes, pipes and backticks escaped, line breaks as ``<br>``.

    >>> md_escape("a|b`c\\nd<e>")
    'a\\\\|b\\\\`c<br>d&lt;e&gt;'
    """
    s = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    s = html.escape(visible_text(s), quote=False)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return s.replace("\n", "<br>")


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame as a GitHub-flavoured markdown table: readable headers and cells
    (:func:`~recsys_causal.display.display_frame`), every one escaped."""
    shown = display_frame(frame)
    cols = list(shown.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in shown.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(md_escape(v) for v in row) + " |")
    return "\n".join(lines)


def frame_html(frame: pd.DataFrame) -> str:
    """A frame as an escaped HTML table without the index, with readable headers and cells."""
    return display_frame(frame).to_html(index=False, escape=True)


def _mapping_frame(section: Mapping) -> pd.DataFrame:
    """A key/value table, each value shown as its key says (a share as a percentage, a duration in words)."""
    return pd.DataFrame({"item": [str(k) for k in section], "value": [cell(v, k) for k, v in section.items()]},
                        dtype=object)


# ----------------------------------------------------------------------------- intervals


def wald_interval(estimate: Any, alpha: float) -> tuple[float, float]:
    """``value ± q·se`` at ``alpha`` with the estimate's reference distribution (Student t with ``df`` from
    ``details["df"]`` or the ``df`` it was built with, else the standard normal)."""
    from recsys_causal.estimate import reference_distribution

    q = float(reference_distribution(reference_df(estimate)).ppf(1 - alpha / 2))
    return float(estimate.value - q * estimate.se), float(estimate.value + q * estimate.se)


def reference_df(estimate: Any) -> float | None:
    """The degrees of freedom of an estimate's reference distribution (``None``: normal)."""
    df = estimate.details.get("df") if isinstance(estimate.details, Mapping) else None
    return df if df is not None else getattr(estimate, "df", None)


def is_wald(estimate: Any) -> bool:
    """Whether the stored interval is the Wald interval ``value ± q·se`` at the estimate's own alpha (a zero
    standard error with a point interval counts)."""
    se, lo, hi = estimate.se, estimate.ci_low, estimate.ci_high
    if se == 0:
        return lo == hi == estimate.value
    if not (np.isfinite(se) and se > 0 and np.isfinite(lo) and np.isfinite(hi)):
        return False
    wald_lo, wald_hi = wald_interval(estimate, estimate.alpha)
    scale = max(abs(estimate.value), wald_hi - wald_lo, 1e-300)
    return abs(wald_lo - lo) <= WALD_RTOL * scale and abs(wald_hi - hi) <= WALD_RTOL * scale


def _undefined(estimate: Any) -> bool:
    """No standard error and no interval: nothing to recompute (the bounds stay NaN)."""
    return not (np.isfinite(estimate.se) or np.isfinite(estimate.ci_low) or np.isfinite(estimate.ci_high))


def conf_int_frame(estimates: Sequence[Any], alpha: float | None = None) -> pd.DataFrame:
    """Lower and upper bounds of each estimate, indexed by name (see :meth:`ResultProtocol.conf_int`)."""
    if not estimates:
        raise IntervalError("this result holds no estimates with intervals",
                            fix="call conf_int on a result with estimates (e.g. its EstimateTable)")
    rows = []
    for e in estimates:
        if alpha is None or math.isclose(alpha, e.alpha, rel_tol=0, abs_tol=1e-15):
            rows.append((e.ci_low, e.ci_high))
            continue
        if _undefined(e):
            rows.append((math.nan, math.nan))
            continue
        if not is_wald(e):
            raise IntervalError(
                f"the interval of {e.name!r} ({e.method}) is not a Wald interval value ± q·se, so it cannot be "
                f"recomputed at alpha={alpha} from its standard error", column=e.name,
                fix=f"use its interval at the computed alpha={e.alpha} (conf_int()), or rerun the analysis with "
                    f"alpha={alpha}")
        rows.append(wald_interval(e, alpha))
    index = pd.Index([e.name for e in estimates], name="name")
    return pd.DataFrame(rows, columns=["lower", "upper"], index=index, dtype=float)


# ----------------------------------------------------------------------------- the mixin


class ResultProtocol:
    """Mixin giving a result ``to_frame``, ``to_dict``, ``to_markdown``, ``to_html``, ``_repr_html_``,
    ``summary``, ``conf_int`` and ``[name]`` lookup from the hooks ``_sections``, ``_title``, ``_headline`` and
    ``_warnings`` (see the module docstring)."""

    # -- hooks ---------------------------------------------------------------------------------------------
    def _sections(self) -> list[tuple[str, Any]]:
        table = getattr(self, "estimates", None)
        return [("estimates", table)] if table is not None else []

    def _title(self) -> str:
        return getattr(self, "title", None) or type(self).__name__

    def _headline(self) -> str | None:
        return None

    def _warnings(self) -> list[str]:
        return [w if isinstance(w, str) else str(w) for w in (getattr(self, "warnings", None) or [])]

    def _data(self) -> dict[str, Any]:
        """Further fields of :meth:`to_dict` (counts, settings, labels)."""
        return {}

    # -- derived -------------------------------------------------------------------------------------------
    def _estimates(self) -> list[Any]:
        """Every estimate in the sections, in order."""
        out: list[Any] = []
        for _, section in self._sections():
            if isinstance(section, ResultProtocol):
                out += section._estimates()
            elif _is_estimate(section):
                out.append(section)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Every estimate as one row (name, value, se, ci_low, ci_high, n, method, ... and its details)."""
        from recsys_causal.estimate import EstimateTable

        return EstimateTable(self._estimates()).to_frame()

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data: title, headline, each section by name, warnings."""
        out: dict[str, Any] = {"title": self._title()}
        if self._headline():
            out["headline"] = self._headline()
        out.update(jsonable(self._data()))
        out["sections"] = {name or "table": jsonable(section) for name, section in self._sections()}
        out["warnings"] = self._warnings()
        return out

    def to_markdown(self) -> str:
        """GitHub-flavoured markdown: the headline, one table per section, warnings as a list."""
        return _render(self, MARKDOWN)

    def to_html(self) -> str:
        """Escaped HTML: the headline, one table (or list) per section, warnings as a list."""
        return _render(self, HTML)

    def _repr_html_(self) -> str:
        return self.to_html()

    def summary(self) -> str:
        """A fixed-width text block: title, one row per estimate (value, se, interval with its level, p, n),
        the other tables, and the warnings at the end."""
        body = []
        for name, section in self._sections():
            body += _section_text(name, section)
        own = self._warnings()
        warnings = own + [f"{e.name}: {w}" for e in self._estimates() for w in e.warnings
                          if w not in own and f"{e.name}: {w}" not in own]
        if warnings:
            body += ["Warnings:"] + [f"  [{i}] {w}" for i, w in enumerate(warnings, 1)] + [RULE]
        width = min(max([WIDTH, *(len(line) for line in body if not line.startswith("  [") and line != RULE)]),
                    MAX_WIDTH)
        head = [self._title()]
        if self._headline() and self._headline() != self._title():
            head.append(self._headline())
        lines = ["=" * width, *head, "=" * width, *body]
        return "\n".join("-" * width if line == RULE else line for line in lines)

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Lower and upper bounds of every estimate, indexed by name.

        At the alpha the estimates were computed with (``alpha=None``) these are exactly ``ci_low`` /
        ``ci_high``. At another alpha the interval is recomputed as ``value ± q·se`` with the estimate's
        reference distribution: Student t with ``details["df"]`` (or the ``df`` it was built with) degrees of
        freedom, else the standard normal. Rows whose interval is not a Wald interval (a Fieller interval of a
        relative lift, a bootstrap or randomization interval, a one-sided bound) raise :class:`IntervalError`
        instead of returning a wrong interval.
        """
        from recsys_causal.checks import check_alpha

        return conf_int_frame(self._estimates(), None if alpha is None else check_alpha(alpha))

    def __getitem__(self, key: Any) -> Any:
        """The estimate named ``key`` (an integer: the estimate at that position)."""
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            return self._estimates()[key]
        return lookup(self._estimates(), key, type(self).__name__)


def lookup(estimates: Sequence[Any], key: Any, what: str = "result") -> Any:
    """The first estimate named ``key``; a :class:`KeyError` lists the names and the nearest one."""
    for e in estimates:
        if e.name == key:
            return e
    names = [e.name for e in estimates]
    hit = nearest(key, names)
    hint = f" (did you mean {hit!r}?)" if hit is not None else ""
    raise KeyError(f"{what} has no estimate named {key!r}{hint}; names: {names}")


def _is_estimate(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("name", "value", "se", "ci_low", "ci_high", "alpha"))


@dataclass(frozen=True)
class _Format:
    """How one output format writes a headline, a titled table, a titled list, and joins the parts."""

    method: str
    escape: Callable[[Any], str]
    headline: str
    title: str
    table: Callable[[pd.DataFrame], str]
    items: str
    item: str
    joiner: str

    def titled(self, name: str, body: str) -> str:
        return (self.title.format(self.escape(name)) if name else "") + body

    def listed(self, name: str, items: Iterable[Any]) -> str:
        return self.titled(name, self.items.format("".join(self.item.format(self.escape(i)) for i in items)))


MARKDOWN = _Format("to_markdown", md_escape, "**{}**", "**{}**\n\n", markdown_table, "{}", "- {}\n", "\n\n")
HTML = _Format("to_html", lambda t: html.escape(str(t)), "<p>{}</p>", "<p>{}</p>", frame_html, "<ul>{}</ul>",
               "<li>{}</li>", "")


def _render(result: ResultProtocol, f: _Format) -> str:
    """A result in one format: its headline, each section (nested results render themselves), its warnings."""
    parts = [f.headline.format(f.escape(result._headline()))] if result._headline() else []
    for name, section in result._sections():
        if isinstance(section, ResultProtocol):
            parts.append(getattr(section, f.method)())
        elif isinstance(section, pd.DataFrame | Mapping):
            frame = _mapping_frame(section) if isinstance(section, Mapping) else section
            parts.append(f.titled(name, f.table(frame)))
        else:
            parts.append(f.listed(name, section))
    if result._warnings():
        parts.append(f.listed("Warnings", result._warnings()))
    text = f.joiner.join(p.rstrip("\n") if f is MARKDOWN else p for p in parts)
    return text + ("\n" if f is MARKDOWN else "")


def _section_text(name: str, section: Any) -> list[str]:
    if isinstance(section, ResultProtocol):
        estimates = section._estimates()
        if not estimates:
            return _section_text(section._title(), section.to_frame())
        title = section._title() if section._title() != type(section).__name__ else name
        return [title, RULE, *estimates_text(estimates), RULE]
    if _is_estimate(section):
        return [name, RULE, *estimates_text([section]), RULE]
    if isinstance(section, pd.DataFrame | Mapping):
        frame = _mapping_frame(section) if isinstance(section, Mapping) else section
        body = display_frame(frame).to_string(index=False) if len(frame) else "(none)"
        return [name, RULE, *body.splitlines(), RULE]
    return [name, RULE, *(f"  - {s}" for s in section), RULE]

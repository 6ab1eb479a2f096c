"""The gate's Markdown (a CI log or pull-request comment) and HTML page.

Every data- or config-derived string (candidate, reward and segment names, reason codes, reasons, the config
name) goes through :func:`escape_markdown` in the Markdown and through Jinja autoescaping in the HTML, so it
shows as text: it cannot start a heading, a list or a new table row, mention someone, link, embed an image,
emphasise, typeset maths, or reorder text with bidirectional controls.

>>> print(escape_markdown("# hi @team | [x](y) *b* `c` <b>").replace("\u200b", "<ZWSP>"))
\\#<ZWSP> hi @<ZWSP>team \\| \\[x\\](y) \\*b\\* \\`c\\` &lt;b&gt;
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"  # inserted after "@", "#" and inside "://" and "www." so GitHub links nothing
_SPECIAL = set("\\`*_[]|#!$~")  # punctuation that starts code, emphasis, links, images, tables, headings, maths
_LINE_BREAKS = "\r\n\t\v\f\x85\u2028\u2029"
_AUTOLINK = re.compile(r"(?i)(:)(//)|(www)(\.)")
_LIST_START = re.compile(r"^([-+]|\d{1,9}[.)])")  # would open a list inside a list item


def escape_markdown(text: object) -> str:
    """``text`` as inline Markdown that renders literally on one line (GitHub-flavoured Markdown).

    Line breaks and tabs become spaces and runs of spaces collapse; other control, format (bidirectional
    overrides, zero-width characters) and separator characters become U+FFFD; ``& < >`` become entities;
    Markdown punctuation is backslash-escaped; a zero-width space follows ``@`` and ``#`` and splits ``://`` and
    ``www.`` so no mention, issue reference or autolink forms. A blank string shows as ``(empty)`` (an empty
    list item would turn the line above it into a heading).
    """
    out = []
    for ch in str(text):
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append("\ufffd")
        elif ch in "&<>":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[ch])
        elif ch in _SPECIAL:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@" + ZWSP)
        else:
            out.append(ch)
        if ch == "#":
            out.append(ZWSP)
    s = re.sub(r" {2,}", " ", "".join(out)).strip(" ")
    s = _AUTOLINK.sub(lambda m: f"{m[1]}{ZWSP}{m[2]}" if m[1] else f"{m[3]}{ZWSP}{m[4]}", s)
    return _LIST_START.sub(lambda m: m[1][:-1] + "\\" + m[1][-1], s) or "(empty)"


def _num(v) -> str:
    return "—" if v is None or v != v else f"{v:.4g}"


def quality_rows(q) -> list[list[str]]:
    """The data-quality table: one column per reward, each reconciling read = quarantined + excluded + used."""
    rows = [["read"] + [str(q.read)] * len(q.rewards)]
    rows += [[f"quarantined: {k}"] + [str(v)] * len(q.rewards) for k, v in q.quarantined.items()]
    codes = list(dict.fromkeys(k for r in q.rewards for k in r.excluded))
    rows += [[f"excluded: {k}"] + [str(r.excluded.get(k, 0)) for r in q.rewards] for k in codes]
    rows += [["used"] + [str(r.used) for r in q.rewards]]
    return rows


def to_markdown(result) -> str:
    """The summary for a CI log or a pull-request comment."""
    md, labels, q = escape_markdown, result.intervals, result.data_quality
    lines = [f"## OPE screen: {md(result.name)}", "",
             f"| rank | candidate | verdict | primary lift, {labels['primary']} | {labels['lower_bound']} | support |",
             "|---|---|---|---|---|---|"]
    for i, c in enumerate(result.candidates, 1):
        p = c.primary
        lines.append(f"| {i} | {md(c.name)} | **{c.verdict}** | {_num(p.value)} [{_num(p.ci_low)}, {_num(p.ci_high)}] "
                     f"| ≥ {_num(c.lower_bound)} | {c.support.verdict} (ESS {c.support.ess_ratio:.1%}) |")
    if q is not None:
        lines += ["", f"**Data quality** ({md(q.source or 'log')}): requests read = used + quarantined + excluded "
                      f"({'reconciled' if q.reconciles() else 'NOT reconciled'}); quarantined "
                      f"{q.quarantine_share:.2%} (at most {q.max_quarantine_share:.2%} for a pass)", "",
                  "| requests | " + " | ".join(f"{md(r.reward)} ({r.role})" for r in q.rewards) + " |",
                  "|---" * (len(q.rewards) + 1) + "|"]
        lines += ["| " + " | ".join([md(row[0]), *row[1:]]) + " |" for row in quality_rows(q)]
        lines += [f"- {md(n)}" for n in q.notes]
    for c in result.candidates:
        mode = "" if c.mode == "top_slot" else f" ({c.mode})"
        lines += ["", f"**{md(c.name)}: {c.verdict}**{mode}"] + [f"- {md(r)}" for r in c.reasons]
        if c.data_quality is not None:  # its mode counts requests differently from the screen's
            lines += [f"- data quality ({c.mode}), {md(r.reward)}: used {r.used} of {c.data_quality.read}; excluded "
                      f"{md(', '.join(f'{k} {v}' for k, v in r.excluded.items()) or 'none')}"
                      for r in c.data_quality.rewards]
        if c.support.unlogged_slate_mass is not None:  # ranking: target mass on slates never logged
            lines.append(f"- target mass on slates never logged: {c.support.unlogged_slate_mass:.1%} (requests "
                         f"whose logged slate the target never shows: {c.support.slates_never_logged})")
        if c.versions:  # one line: support per logging-policy version
            lines.append("- support per version: " + "; ".join(
                f"{md(v['version'])} ESS {v['ess_ratio']:.1%}, max weight share {v['max_weight_share']:.1%}"
                for v in c.versions))
    return "\n".join(lines) + "\n"


OVERALL = {0: "pass", 1: "fail", 3: "inconclusive"}


def to_html(result) -> str:
    """A self-contained page (Jinja autoescaping on for every template and string): the overall verdict, then per
    candidate its tables, support per position, data accounting and a lift chart, and when it was generated."""
    from datetime import UTC, datetime

    from jinja2 import Environment, PackageLoader, select_autoescape

    from recsys_causal.textsafe import visible_text

    env = Environment(loader=PackageLoader("recsys_causal.gate", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      finalize=lambda v: visible_text(v) if isinstance(v, str) else v)
    q = result.data_quality
    return env.get_template("gate.html.j2").render(
        r=result, q=q, rows=quality_rows(q) if q else [], fmt=_num, labels=result.intervals,
        overall=OVERALL.get(result.exit_code, "inconclusive"), charts=[lift_chart(c, result) for c in result.candidates],
        own_rows=[quality_rows(c.data_quality) if c.data_quality else [] for c in result.candidates],
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def lift_chart(c, result):
    """The primary lift and its cross-checks with their intervals, as inline SVG markup (no network)."""
    from markupsafe import Markup

    from recsys_causal.plotting import bar_intervals, figure_svg

    rows = [c.primary, *c.cross_checks]
    rel = bool(result.settings.get("relative", True))
    fig = bar_intervals([e.details.get("estimator", e.method) for e in rows], [e.value for e in rows],
                        [e.ci_low for e in rows], [e.ci_high for e in rows], title="primary lift by estimator",
                        xlabel=f"{'relative ' if rel else ''}lift over the baseline",
                        interval=result.intervals["primary"])
    return Markup(figure_svg(fig))  # matplotlib escapes every text it writes into the SVG

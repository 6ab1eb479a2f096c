"""Catalogue: the gate's data accounting, Markdown/HTML/figure escaping, and interval labels.

* gate data quality — the shipped decision log (4000 requests, slates of 3) with requests quarantined, excluded
  or immature, run through ``causal-gate``: exit code and verdict, the named reason, requests read = used +
  quarantined + excluded in the JSON, the Markdown and the HTML (each parsed on its own), inputs byte-identical.
* escaping — hostile strings as candidate, config, reward and segment names and reasons: the Markdown, parsed
  by a GFM-style parser (mistune with tables, bare-URL links, strikethrough, maths, footnotes), holds no heading,
  table row, link, image, HTML, emphasis, maths or mention of theirs; tables and figures of the report and the
  gate page show them literally, and drawing never fails on them.
* interval labels — every level printed equals the level implied by the interval itself (half-width / se under
  the normal, an independent computation), for alpha 0.05, 0.1 and 0.2, and "95%" never labels a 90% interval.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import mistune
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from recsys_causal import RecsysCausalError
from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.estimate import Estimate, EstimateTable, interval_label
from recsys_causal.gate import main as gate_main
from recsys_causal.gate import screen
from recsys_causal.gate.render import ZWSP, escape_markdown
from recsys_causal.logs import DecisionLog, read_decision_log
from recsys_causal.ope import policies

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "decision_logs" / "sample_decision_log.parquet"
EVENTS = ROOT / "decision_logs" / "sample_outcome_events.parquet"
SCHEMA = json.loads((ROOT / "recsys_causal" / "schemas" / "gate.schema.json").read_text())
sys.path.insert(0, str(ROOT / "tests" / "report"))

from report_tables import parse_tables as tables  # noqa: E402  (the report tests' HTML table parser)

# ----------------------------------------------------------------------------- helpers


def md_quality_table(md: str) -> list[list[str]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| requests |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return [rows[0]] + rows[2:]  # header and body, without the delimiter row


def check_reconciled(table: list[list[str]], data_quality: dict, esc=lambda x: x) -> None:
    """A parsed data-quality table (header + rows) reconciles per reward column and equals the JSON."""
    body = {r[0]: [int(x) for x in r[1:]] for r in table[1:]}
    for j, rw in enumerate(data_quality["rewards"]):
        read, used = body["read"][j], body["used"][j]
        quar = sum(v[j] for k, v in body.items() if k.startswith("quarantined: "))
        excl = sum(v[j] for k, v in body.items() if k.startswith("excluded: "))
        assert read == used + quar + excl
        assert (read, used, quar, excl) == (data_quality["requests_read"], rw["used"],
                                            data_quality["quarantined_total"], rw["excluded_total"])
        for k, v in rw["excluded"].items():
            assert body[esc(f"excluded: {k}")][j] == v
    for k, v in data_quality["quarantined"].items():
        assert body[esc(f"quarantined: {k}")][0] == v


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "out" not in p.parts:
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_parquet(LOG)


def spread(frame: pd.DataFrame, k: int, start: int = 0) -> np.ndarray:
    """k request ids drawn at random over the whole log (no time bias); disjoint for disjoint [start, start+k)."""
    ids = np.random.default_rng(0).permutation(np.sort(frame["request_id"].unique()))
    return ids[start:start + k]


def bad_propensity(k, offset=0):
    def f(fr):
        m = fr["request_id"].isin(spread(fr, k, offset)) & (fr["position"] == 1)
        fr.loc[m, "propensity"] = np.nan
    return f


def bad_position(k, offset=2000):
    def f(fr):
        m = fr["request_id"].isin(spread(fr, k, offset)) & (fr["position"] == 1)
        fr.loc[m, "position"] = 0.0
    return f


def hide_position_1(k):
    """The item at position 1 was not shown: the request shows positions 2 and 3 only."""
    def f(fr):
        m = fr["request_id"].isin(spread(fr, k, 1000)) & (fr["position"] == 1)
        fr.loc[m, ["shown"]] = False
        fr.loc[m, ["position", "propensity"]] = np.nan
    return f


def show_nothing(k):
    def f(fr):
        m = fr["request_id"].isin(spread(fr, k, 3000))
        fr.loc[m, "shown"] = False
        fr.loc[m, ["position", "propensity"]] = np.nan
    return f


def both(*fns):
    def f(fr):
        for fn in fns:
            fn(fr)
    return f


def base_config() -> dict:
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "screen.yaml").read_text())
    cfg["candidates"] = [c for c in cfg["candidates"] if c["name"] == "new-softmax"]
    cfg["log"].update(path="decision_logs/log.parquet", outcome_events="decision_logs/events.parquet")
    cfg["output"] = {}
    return cfg


def run_gate(tmp_path: Path, frame: pd.DataFrame, mutate=None, cfg_update=None):
    (tmp_path / "decision_logs").mkdir()
    f = frame.copy()
    if mutate is not None:
        mutate(f)
    f.to_parquet(tmp_path / "decision_logs" / "log.parquet", index=False)
    shutil.copy(EVENTS, tmp_path / "decision_logs" / "events.parquet")
    cfg = base_config()
    if cfg_update is not None:
        cfg_update(cfg)
    (tmp_path / "screen.yaml").write_text(yaml.safe_dump(cfg))
    before = digest(tmp_path)
    out = tmp_path / "out"
    code = gate_main([str(tmp_path / "screen.yaml"), "--json", str(out / "g.json"), "--markdown", str(out / "g.md"),
                      "--html", str(out / "g.html")])
    assert digest(tmp_path) == before  # inputs and config byte-identical
    data = json.loads((out / "g.json").read_text())
    return code, data, (out / "g.md").read_text(), (out / "g.html").read_text()


# ----------------------------------------------------------------------------- A: gate data quality

# (id, mutation, config update, exit code, verdict, reason fragment (first reason) or None,
#  quarantined counts, excluded counts of the primary reward)
CASES_A = [
    ("clean log passes", None, None, 0, "pass", None, {}, {}),
    ("0.5% quarantined: pass", bad_propensity(20), None, 0, "pass", None, {"invalid_propensity": 20}, {}),
    ("1% quarantined (at the threshold): pass", bad_propensity(40), None, 0, "pass", None,
     {"invalid_propensity": 40}, {}),
    ("1.5% quarantined: inconclusive", bad_propensity(60), None, 3, "inconclusive",
     "data quality: 60 of 4000 requests (1.50%) were quarantined (invalid_propensity 60), above "
     "max_quarantine_share 0.01", {"invalid_propensity": 60}, {}),
    ("40% quarantined: inconclusive", bad_propensity(1600), None, 3, "inconclusive",
     "data quality: 1600 of 4000 requests (40.00%) were quarantined", {"invalid_propensity": 1600}, {}),
    ("1.5% over two reasons: both named", both(bad_propensity(30), bad_position(30)), None, 3, "inconclusive",
     "(invalid_position 30, invalid_propensity 30)", {"invalid_propensity": 30, "invalid_position": 30}, {}),
    ("1.5% under max_quarantine_share 0.05: pass", bad_propensity(60),
     lambda c: c.update(max_quarantine_share=0.05), 0, "pass", None, {"invalid_propensity": 60}, {}),
    ("one request under max_quarantine_share 0: inconclusive", bad_propensity(1),
     lambda c: c.update(max_quarantine_share=0.0), 3, "inconclusive", "1 of 4000 requests (0.03%)",
     {"invalid_propensity": 1}, {}),
    ("failing candidate stays fail, data reason first", bad_propensity(100),
     lambda c: c["primary"].update(min_lift=5.0), 1, "fail", "data quality: 100 of 4000",
     {"invalid_propensity": 100}, {}),
    ("position 1 not shown: excluded, counted", hide_position_1(200), None, 0, "pass", None, {},
     {"position_outside_evaluated": 200}),
    ("nothing shown: excluded, counted", show_nothing(100), None, 0, "pass", None, {}, {"nothing_shown": 100}),
    ("positions and quarantine together", both(hide_position_1(150), bad_propensity(80)), None, 3, "inconclusive",
     "80 of 4000 requests (2.00%)", {"invalid_propensity": 80}, {"position_outside_evaluated": 150}),
    ("immature labels: excluded, counted", None,
     lambda c: c["log"].update(labels=["click within 1d", "hide within 1d"], as_of="2026-06-15T00:00:00Z"), 0,
     "pass", None, {}, {"immature_label": None}),
    ("as_of inside the log: future requests quarantined", None,
     lambda c: c["log"].update(as_of="2026-06-14T00:00:00Z"), 3, "inconclusive", "future_timestamp",
     {"future_timestamp": None}, {"immature_label": None}),
]


@pytest.mark.parametrize("case", CASES_A, ids=[c[0] for c in CASES_A])
def test_gate_data_quality(tmp_path, frame, capsys, case):
    import jsonschema

    _, mutate, update, exit_code, verdict, fragment, quarantined, excluded = case
    code, data, md, page = run_gate(tmp_path, frame, mutate, update)
    assert code == exit_code == data["exit_code"], capsys.readouterr().err
    jsonschema.validate(data, SCHEMA)
    cand = data["candidates"][0]
    assert cand["verdict"] == verdict
    if fragment is None:
        assert not any(r.startswith("data quality") for r in cand["reasons"])
    else:
        assert cand["reasons"][0].startswith("data quality") and fragment in cand["reasons"][0]
        assert escape_markdown(cand["reasons"][0]) in md and f"<li>{cand['reasons'][0]}</li>" in page.replace(
            "&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
    dq = data["data_quality"]
    assert dq["validated"] and dq["reconciles"] and dq["requests_read"] == 4000
    primary = dq["rewards"][0]
    assert primary["role"] == "primary" and primary["used"] == cand["primary"]["n"]
    for k, v in quarantined.items():
        assert dq["quarantined"][k] == v if v is not None else dq["quarantined"][k] > 0
    assert set(dq["quarantined"]) == set(quarantined)
    for k, v in excluded.items():
        assert primary["excluded"][k] == v if v is not None else primary["excluded"][k] > 0
    assert set(primary["excluded"]) == set(excluded)
    for rw in dq["rewards"]:
        assert dq["requests_read"] == rw["used"] + dq["quarantined_total"] + rw["excluded_total"]
    check_reconciled(md_quality_table(md), dq, escape_markdown)
    check_reconciled(tables(page)["data-quality-table"], dq)


@pytest.fixture(scope="module")
def sim():
    from recsys_causal.simulate import simulate_decision_log

    return simulate_decision_log(n_requests=3000, n_candidates=5, slate_size=1, epsilon=0.3, seed=4)


def api_no_report(sim):
    log = sim.log
    log = replace(log, metadata={})
    res = screen(log, {"new": policies.softmax(log, "pred_new", 1)}, primary="click")
    q = res.data_quality
    assert not q.validated and q.read == log.n_requests and q.quarantined == {}
    assert "no validation report" in q.notes[0] and q.reconciles()
    assert "no validation report" in res.to_markdown() and "no validation report" in res.to_html()
    return res


def api_excluded_share(sim):
    f = sim.log.to_long_frame()
    ids = f["request_id"].unique()[::10]  # 10% of the requests show their item at position 2 only
    f.loc[f["request_id"].isin(ids) & f["shown"], "position"] = 2.0
    log, report = read_decision_log(f, require_propensity=True)
    cands = {"new": policies.softmax(log, "pred_new", 1)}
    loose = screen(log, cands, primary="click", validation=report)
    strict = screen(log, cands, primary="click", validation=report, max_excluded_share=0.05)
    assert loose.data_quality.rewards[0].excluded == {"position_outside_evaluated": ids.size}
    c = strict.candidates[0]
    assert c.verdict in ("inconclusive", "fail") and c.reasons[0].startswith("data quality")
    assert f"{ids.size} of {log.n_requests} requests (10.00%) were excluded for primary reward click" in c.reasons[0]
    assert "position_outside_evaluated" in c.reasons[0] and loose.candidates[0].reasons[0] != c.reasons[0]
    return strict


def api_missing_reward(sim):
    f = sim.log.to_long_frame()
    shown = f.index[f["shown"]]
    f.loc[shown[::20], "click"] = np.nan
    log, report = read_decision_log(f, require_propensity=True)
    res = screen(log, {"new": policies.softmax(log, "pred_new", 1)}, primary="click")  # report from log.metadata
    q = res.data_quality
    assert q.validated and q.rewards[0].excluded == {"missing_reward": shown[::20].size}
    assert res.candidates[0].primary.n == log.n_requests - shown[::20].size
    return res


def api_report_of_another_log(sim):
    _, report = read_decision_log(sim.log.to_long_frame().iloc[:-50], require_propensity=True)
    with pytest.raises(ConfigError, match="validation report counts"):
        screen(sim.log, {"new": policies.softmax(sim.log, "pred_new", 1)}, primary="click", validation=report)


def api_two_items_at_position_1(sim):
    req = pd.DataFrame({"request_id": ["a", "b"], "decision_time": pd.to_datetime(["2026-01-01"] * 2, utc=True)})
    cand = pd.DataFrame({"request_id": ["a", "a", "b"], "item_id": ["i", "j", "i"], "shown": True,
                         "position": 1.0, "propensity": 0.5, "click": 1.0, "pred_new": 0.0})
    log = DecisionLog.from_frames(req, cand)
    with pytest.raises(DataValidationError, match="several items at position 1") as err:
        screen(log, {"new": policies.uniform(log, 1)}, primary="click")
    assert "Fix:" in str(err.value)


def api_bad_share(sim):
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="max_quarantine_share"):
            screen(sim.log, {"new": policies.softmax(sim.log, "pred_new", 1)}, primary="click",
                   max_quarantine_share=bad)


API_CASES = [("API without a report counts its exclusions", api_no_report),
             ("API max_excluded_share blocks a pass", api_excluded_share),
             ("API missing rewards counted", api_missing_reward),
             ("API report of another log refused", api_report_of_another_log),
             ("API duplicate position 1 does not reconcile", api_two_items_at_position_1),
             ("API invalid max_quarantine_share", api_bad_share)]
CASES_A = CASES_A + API_CASES


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_gate_data_quality_api(sim, case):
    case[1](sim)


SHARE_VALUES = [-0.01, 1.01, ".nan", "lots"]
CASES_A = CASES_A + [(f"config max_quarantine_share {v}", v) for v in SHARE_VALUES]


@pytest.mark.parametrize("value", SHARE_VALUES)
def test_config_rejects_bad_max_quarantine_share(tmp_path, frame, capsys, value):
    (tmp_path / "decision_logs").mkdir()
    cfg = base_config()
    cfg["max_quarantine_share"] = value
    (tmp_path / "screen.yaml").write_text(yaml.safe_dump(cfg).replace("'.nan'", ".nan"))
    assert gate_main([str(tmp_path / "screen.yaml")]) == 2
    err = capsys.readouterr().err
    assert "max_quarantine_share" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- B: escaping

MD = mistune.create_markdown(renderer="ast", plugins=["table", "url", "strikethrough", "math", "footnotes",
                                                      "task_lists"])
ALLOWED = {"heading", "paragraph", "text", "strong", "blank_line", "list", "list_item", "block_text", "table",
           "table_head", "table_body", "table_row", "table_cell", "softbreak"}
MENTION = re.compile(r"(?:^|[^\w])@[A-Za-z0-9]")
AUTOLINK = re.compile(r"(?i)(https?|ftp)://|www\.|[\w.+-]+@[\w-]+\.\w|(?:^|\W)#\d")


def walk(tokens):
    for t in tokens:
        yield t
        yield from walk(t.get("children") or [])


@pytest.fixture(scope="module")
def gate_result(sim):
    from recsys_causal.gate import Guardrail

    log = sim.log
    return screen(log, {"new": policies.softmax(log, "pred_new", 1), "bold": policies.softmax(log, "pred_bold", 1)},
                  primary="click", guardrails=[Guardrail("click", "decrease_is_bad", 0.5)])


def hostile_result(res, s: str):
    """The result with ``s`` as the config, candidate, reward and reason-code names and inside every reason."""
    q = res.data_quality
    q2 = replace(q, source=s, quarantined={s: 3}, read=q.read + 3,
                 rewards=[replace(r, reward=s, excluded={s: 0}) for r in q.rewards], notes=[s])
    return replace(res, name=s, data_quality=q2,
                   candidates=[replace(c, name=s, reasons=[s, f"guardrail {s} x", *c.reasons]) for c in res.candidates])


def assert_markdown_safe(md: str, s: str, n_candidates: int, n_rewards: int) -> None:
    tokens = list(walk(MD(md)))
    assert {t["type"] for t in tokens} <= ALLOWED, {t["type"] for t in tokens} - ALLOWED
    assert sum(t["type"] == "heading" for t in tokens) == 1
    assert [ln for ln in md.splitlines() if ln.lstrip().startswith("#")] == [md.splitlines()[0]]
    rows = [t for t in tokens if t["type"] == "table_row"]
    assert len(rows) == n_candidates + 4  # candidates; read, one quarantine code, one exclusion code, used
    assert all(len(r["children"]) == 6 for r in rows[:n_candidates])
    assert all(len(r["children"]) == n_rewards + 1 for r in rows[n_candidates:])
    assert sum(ln.startswith("|") for ln in md.splitlines()) == n_candidates + 2 + 6
    text = "".join(t.get("raw", "") for t in tokens if t["type"] == "text")
    assert not MENTION.search(text) and not AUTOLINK.search(text)
    for ch in set(md) - set(s):  # no control or format character of the input survives, only our ZWSP
        assert ch == ZWSP or not (ord(ch) < 32 and ch != "\n")
    for i, ch in enumerate(md):
        if ch == ZWSP:
            assert md[i - 1] in "@#:" or md[i - 3:i].lower() == "www"
        assert ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200c\u200d\u200e\u200f\ufeff"


HOSTILE = [
    ("newline then heading", "x\n# Heading\n"),
    ("carriage returns and tabs", "a\r\n## b\r\tc"),
    ("leading hash", "# not a heading"),
    ("issue reference", "fixes #123 and GH-1"),
    ("mention", "@alice and @org/team please"),
    ("email", "mail a.b@example.com"),
    ("table pipes", "a | b | c |"),
    ("new table row", "x |\n| injected | row | 1 | 2 | 3 | 4 |"),
    ("backticks", "`code` and ```fence```"),
    ("link", "[click](https://evil.example/)"),
    ("image", "![pixel](https://evil.example/p.png)"),
    ("reference link", "[x]: https://evil.example\n[x]"),
    ("bare URLs", "see https://evil.example and WWW.evil.example"),
    ("HTML", "<img src=x onerror=alert(1)><script>alert(1)</script>"),
    ("HTML entity", "&#64;alice &lt;b&gt;"),
    ("emphasis", "*bold* _it_ **strong** ~~strike~~"),
    ("maths", "$\\alpha$ and $$x$$"),
    ("list starts", "- item"),
    ("ordered list start", "12. item"),
    ("blockquote", "> quoted"),
    ("control characters", "\x1b[31mred\x00\x07\x7f\x85"),
    ("bidirectional overrides", "abc\u202edcba\u2066x\u2069\u202a\u202b\u202c\u202d\u2067\u2068"),
    ("zero-width characters", "a\u200bb\u200cc\u200dd\ufeffe\u2060f@\u200dbob"),
    ("line and paragraph separators", "a\u2028# b\u2029@c"),
    ("backslashes", "\\# \\| \\\\"),
    ("footnote and task", "[^1] [ ] [x]"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_markdown_escapes_every_derived_string(gate_result, case):
    _, s = case
    res = hostile_result(gate_result, s)
    md = res.to_markdown()
    assert_markdown_safe(md, s, len(res.candidates), len(res.data_quality.rewards))
    page = res.to_html()
    assert "<script" not in page and "<img" not in page
    from recsys_causal.textsafe import visible_text

    assert tables(page)["candidates"][1][1] == visible_text(s).strip()
    assert not any(ch in page for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\x00\x1b")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
       | st.text(alphabet=list("#@|`[]()!<>*_~$\\-+=.:/wW \n\r\t\u202e\u2066\u200b1aZ&;"), max_size=40))
def test_markdown_escaping_property(gate_result, s):
    """No input yields a heading line, a new table row or cell, a link, an image, HTML, a mention or an
    autolink, whatever the characters."""
    res = hostile_result(gate_result, s)
    assert_markdown_safe(res.to_markdown(), s, len(res.candidates), len(res.data_quality.rewards))


HOSTILE_LABELS = ["$\\alpha$ & <script>alert(1)</script>", "a $ b", "$\\frac{$", "100% & 50%_{x}^2", "\\textbf{x}"]


def fig_texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text()]


def check_figure(fig, labels):
    """Every label is a text of the figure, drawn literally (no mathtext, no TeX), in SVG and PNG."""
    from recsys_causal.report.figures import figure_svg

    texts = {t.get_text(): t for t in fig_texts(fig)}
    for label in labels:
        assert label in texts
        assert texts[label]._preprocess_math(label) == (label, False)
    svg = figure_svg(fig)
    for label in labels:
        assert label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in svg
    assert "<script" not in svg
    fig.savefig(io.BytesIO(), format="png")


def fig_bars():
    from recsys_causal.report.figures import bar_intervals

    fig = bar_intervals(HOSTILE_LABELS, [0.1] * 5, [0.0] * 5, [0.2] * 5, title=HOSTILE_LABELS[0], xlabel="x",
                        marks=[0.05] * 5, interval=interval_label(0.1))
    check_figure(fig, HOSTILE_LABELS)


def fig_forest():
    from recsys_causal.hte.plots import forest_plot

    frame = pd.DataFrame({"segment": HOSTILE_LABELS, "value": 0.1, "ci_low": 0.0, "ci_high": 0.2})
    check_figure(forest_plot(frame, title=HOSTILE_LABELS[2], interval=interval_label(0.05)), HOSTILE_LABELS)


def fig_novelty():
    from recsys_causal.report.figures import effect_by_day_figure

    daily = pd.DataFrame({"days_since_exposure": [0, 1], "effect": [0.1, 0.0], "ci_low": [0.0, -0.1],
                          "ci_high": [0.2, 0.1]})
    fig = effect_by_day_figure(daily, None, metric=HOSTILE_LABELS[0], interval=interval_label(0.2))
    check_figure(fig, [f"effect on {HOSTILE_LABELS[0]}"])
    assert "daily effect (80% interval (two-sided))" in {t.get_text() for t in fig_texts(fig)}


def fig_usetex():
    import matplotlib
    from matplotlib.figure import Figure

    from recsys_causal.plotting import literal_text

    with matplotlib.rc_context({"text.usetex": True}):  # a user's matplotlibrc: TeX for every text
        fig = Figure()
        ax = fig.subplots()
        ax.set_yticks(range(5))
        ax.set_yticklabels(HOSTILE_LABELS)
        ax.set_title(HOSTILE_LABELS[0])
        ax.plot([0, 1], label=HOSTILE_LABELS[1])
        ax.legend()
        ours = [t for t in fig_texts(literal_text(fig)) if t.get_text() in HOSTILE_LABELS]
        assert len(ours) >= 7 and not any(t.get_usetex() or t.get_parse_math() for t in ours)


def report_tables_literal():
    from recsys_causal.report.figures import bar_intervals, figure_svg
    from recsys_causal.report.render import render_html

    e = Estimate.from_normal(name=HOSTILE_LABELS[0], value=0.1, se=0.05, n=100, method="<b>m</b>", alpha=0.1)
    row = {**e.to_dict(), "metric": HOSTILE_LABELS[1], "variant": HOSTILE_LABELS[2], "role": "primary",
           "lift": "relative", "name": HOSTILE_LABELS[3]}
    svg = figure_svg(bar_intervals(HOSTILE_LABELS[:1], [0.1], [0.0], [0.2], title="t", xlabel="x"))
    page = render_html(report_data(0.1, metrics=[row], figures={"lifts": svg}))
    got = tables(page)["metrics-table"][1]
    assert got[:3] == [HOSTILE_LABELS[1], HOSTILE_LABELS[2], "primary"]
    assert "<script" not in page and "$\\alpha$ &amp; &lt;script&gt;" in page


def autoescape_everywhere():
    from jinja2 import Environment, PackageLoader, select_autoescape

    from recsys_causal.report.render import environment

    env = environment()
    names = env.list_templates()
    assert names and all(env.autoescape(n) for n in names)
    gate_env = Environment(loader=PackageLoader("recsys_causal.gate", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True))
    assert all(gate_env.autoescape(n) for n in gate_env.list_templates())
    rendered = env.from_string("{{ x }}").render(x="<b>")
    assert rendered == "&lt;b&gt;"


def gate_page_literal(gate_result):
    s = HOSTILE_LABELS[0]
    page = hostile_result(gate_result, s).to_html()
    cells = tables(page)
    assert cells["candidates"][1][1] == s and cells["data-quality-table"][0][1].startswith(s)
    assert f"quarantined: {s}" in [r[0] for r in cells["data-quality-table"]]


def bidi_visible_everywhere(gate_result=None):
    from recsys_causal.hte.plots import forest_plot
    from recsys_causal.report.figures import bar_intervals, figure_svg
    from recsys_causal.report.render import render_html

    s = "safe\u202eexe.txt\u2066x\u2069\u200b\x1b"
    shown = "safe\ufffdexe.txt\ufffdx\ufffd\ufffd\ufffd"
    svg = figure_svg(bar_intervals([s], [0.1], [0.0], [0.2], title=s, xlabel=s))
    assert s not in svg and svg.count(shown) == 3
    fig = forest_plot(pd.DataFrame({"segment": [s], "value": 0.1, "ci_low": 0.0, "ci_high": 0.2}), title=s)
    assert figure_svg(fig).count(shown) == 2
    row = {**Estimate.from_normal(name=s, value=0.1, se=0.05, n=10, method="m").to_dict(), "metric": s}
    page = render_html(report_data(0.05, metrics=[row]))
    assert tables(page)["metrics-table"][1][0] == shown
    assert not any(ch in page for ch in "\u202e\u2066\u2069\u200b\x1b")


FIGURE_CASES = [("bidirectional and hidden characters made visible", bidi_visible_everywhere), ("figure: bars with hostile labels", fig_bars), ("figure: forest plot", fig_forest),
                ("figure: novelty metric name", fig_novelty), ("figure: usetex in rcParams", fig_usetex),
                ("report tables literal", report_tables_literal), ("autoescape on for every template",
                                                                    autoescape_everywhere)]


@pytest.mark.parametrize("case", FIGURE_CASES, ids=[c[0] for c in FIGURE_CASES])
def test_labels_literal_in_tables_and_figures(case):
    case[1]()


def test_gate_page_shows_hostile_names_literally(gate_result):
    gate_page_literal(gate_result)


CASES_B = HOSTILE + [("property: any text", None)] + FIGURE_CASES + [("gate page literal", gate_page_literal)]


# ----------------------------------------------------------------------------- C: interval labels


def level_of(label: str) -> float:
    return float(re.match(r"([\d.]+)%", label)[1]) / 100


def report_data(alpha, **extra):
    base = {"experiment": {"name": "x", "design": "ab", "unit": "user_id"}, "alpha": alpha,
            "decision": {"verdict": "inconclusive", "reasons": []}, "data_quality": {"sources": []},
            "metrics": [], "guardrails": [], "figures": {}, "methods": [],
            "reproducibility": {"config_sha256": "", "input_sha256": {}, "seed": 0, "package_versions": {},
                                "generated_at": ""}}
    return {**base, **extra}


def percent_labels(text: str) -> set[str]:
    return set(re.findall(r"(?<![\d.])(\d+(?:\.\d+)?%) (?:interval|one-sided|CI)", text))


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_gate_labels_follow_alpha(tmp_path, frame, alpha):
    code, data, md, page = run_gate(tmp_path, frame, None, lambda c: c.update(alpha=alpha))
    assert code in (0, 1, 3)
    two, one = interval_label(2 * alpha), interval_label(alpha, "lower")
    assert data["intervals"]["primary"] == two and data["intervals"]["lower_bound"] == one
    p = data["candidates"][0]["primary"]
    # the level each label states equals the level the numbers imply (normal quantiles, computed here)
    half = (p["ci_high"] - p["ci_low"]) / 2
    assert level_of(two) == pytest.approx(2 * stats.norm.cdf(half / p["se"]) - 1, abs=1e-9)
    z_lower = (p["value"] - data["candidates"][0]["lower_bound"]) / p["se"]
    assert level_of(one) == pytest.approx(stats.norm.cdf(z_lower), abs=1e-9)
    assert p["interval"] == two and p["alpha"] == pytest.approx(2 * alpha)
    allowed = {f"{100 * (1 - alpha):g}%", f"{100 * (1 - 2 * alpha):g}%"}
    for text in (md, page):
        assert two in text and one in text
        assert percent_labels(text) <= allowed, percent_labels(text)
    g = data["candidates"][0]["guardrails"][0]
    z_g = (g["harm_upper"] - g["harm"]) / ((g["harm_upper"] - g["harm_lower"]) / 2) * stats.norm.ppf(1 - alpha)
    assert level_of(data["intervals"]["guardrail_bounds"]) == pytest.approx(stats.norm.cdf(z_g), abs=1e-9)
    if alpha != 0.05:
        assert "95%" not in md and "95%" not in page


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_report_tables_state_their_level(alpha):
    from recsys_causal.report.render import render_html

    e = Estimate.from_normal(name="ctr", value=0.1, se=0.05, n=100, method="welch", alpha=alpha)
    row = {**e.to_dict(), "metric": "ctr", "variant": "t", "role": "primary", "lift": "relative"}
    g = {**row, "guardrail": "hide", "direction": "increase_is_bad", "margin": 0.1, "margin_scale": "relative",
         "harm": 0.1, "harm_lower": 0.0, "harm_upper": 0.2, "p_noninferiority": 0.5, "verdict": "inconclusive"}
    page = render_html(report_data(alpha, metrics=[row], guardrails=[g],
                                   holdout={"estimates": [row], "assumptions": []}))
    heads = tables(page)
    assert heads["metrics-table"][0][7] == interval_label(alpha)
    assert level_of(heads["metrics-table"][0][7]) == pytest.approx(
        2 * stats.norm.cdf((e.ci_high - e.ci_low) / 2 / e.se) - 1, abs=1e-9)
    assert heads["guardrails-table"][0][4] == f"{interval_label(alpha, 'bounds')} (lower, upper)"
    assert heads["holdout-table"][0][2] == interval_label(alpha)
    assert percent_labels(page) == {f"{100 * (1 - alpha):g}%"}


def test_report_mixed_levels_are_labelled_per_row():
    from recsys_causal.report.render import render_html

    rows = [{**Estimate.from_normal(name=n, value=0.1, se=0.05, n=10, method="m", alpha=a).to_dict(), "metric": n}
            for n, a in (("a", 0.1), ("b", 0.05))]
    got = tables(render_html(report_data(0.05, metrics=rows)))["metrics-table"]
    assert got[0][7] == "interval (two-sided; level per row)"
    assert got[1][7].endswith("(90%)") and got[2][7].endswith("(95%)")


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_full_holdout_report_never_mislabels(tmp_path, alpha):
    """The whole page (figures included) of a report run at alpha states only its own level."""
    from recsys_causal.report import build_report

    (tmp_path / "reports" / "examples").mkdir(parents=True)
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "holdout.yaml").read_text())
    cfg["alpha"] = alpha
    (tmp_path / "reports" / "examples" / "h.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    html_path, json_path, data = build_report(tmp_path / "reports" / "examples" / "h.yaml", tmp_path / "h.html",
                                              tmp_path / "h.json")
    page = html_path.read_text()
    assert percent_labels(page) == {f"{100 * (1 - alpha):g}%"}
    assert alpha == 0.05 or "95%" not in page
    e = data["holdout"]["estimates"][0]
    assert level_of(tables(page)["holdout-table"][0][2]) == pytest.approx(
        2 * stats.norm.cdf((e["ci_high"] - e["ci_low"]) / 2 / e["se"]) - 1, abs=1e-6)


def estimate_repr_levels():
    for alpha, text in ((0.025, "97.5% CI"), (0.1, "90% CI"), (0.2, "80% CI"), (0.001, "99.9% CI")):
        e = Estimate.from_normal(name="x", value=1.0, se=0.1, n=10, method="m", alpha=alpha)
        assert text in repr(e)
        assert level_of(text) == pytest.approx(2 * stats.norm.cdf((e.ci_high - e.value) / e.se) - 1, abs=1e-9)


def estimate_table_caption():
    t = EstimateTable([Estimate.from_normal(name="x", value=1.0, se=0.1, n=10, method="m", alpha=0.1)], title="T")
    assert "<caption>T — intervals: 90% interval (two-sided)</caption>" in t._repr_html_()
    mixed = EstimateTable([Estimate.from_normal(name=n, value=1.0, se=0.1, n=10, method="m", alpha=a)
                           for n, a in (("x", 0.1), ("y", 0.05))])
    html = mixed._repr_html_()  # mixed levels: each row names its own
    assert "<td>[0.8355, 1.164] (90%)</td>" in html and "<td>[0.804, 1.196] (95%)</td>" in html


def label_helper():
    assert interval_label(0.05) == "95% interval (two-sided)"
    assert interval_label(0.1, "upper") == "90% one-sided upper bound"
    assert interval_label(0.2, "bounds") == "80% one-sided bounds"
    with pytest.raises(RecsysCausalError):
        interval_label(1.5)
    with pytest.raises(RecsysCausalError):
        interval_label(0.05, "sideways")


LABEL_CASES = [("Estimate repr levels", estimate_repr_levels), ("EstimateTable caption", estimate_table_caption),
               ("label helper", label_helper)]


@pytest.mark.parametrize("case", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_estimate_labels(case):
    case[1]()


CASES_C = ([(f"gate alpha {a}", a) for a in (0.05, 0.1, 0.2)] + [(f"report tables alpha {a}", a) for a in
                                                                 (0.05, 0.1, 0.2)]
           + [("report mixed levels", None)] + [(f"holdout report alpha {a}", a) for a in (0.05, 0.1, 0.2)] + LABEL_CASES)

CATALOGUE = {"gate data quality": CASES_A, "escaping: Markdown, HTML, figures": CASES_B,
             "interval labels": CASES_C}
PROMISES = {
    "gate data quality": "requests read = used + quarantined + excluded (by reason, per reward) in the gate's JSON, "
                         "Markdown and HTML; above max_quarantine_share no candidate passes, with the reason named",
    "escaping: Markdown, HTML, figures": "data- and config-derived strings render literally: no heading, row, "
                                         "mention, link, image, HTML or maths in the Markdown; escaped in HTML "
                                         "tables; no mathtext or TeX in figures",
    "interval labels": "every interval states the level and sidedness it was computed at; never 95% for a "
                       "90% interval",
}


def test_catalogue_size():
    assert sum(len(v) for v in CATALOGUE.values()) >= 25 and set(PROMISES) == set(CATALOGUE)


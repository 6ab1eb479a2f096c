"""The gate's HTML page a reviewer acts on: overall verdict first, then per candidate the primary table with its
cross-checks, guardrails, protected segments, support (per position for rankings), data accounting, an inline
lift chart (no network) and the time it was generated; hostile names stay text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from recsys_causal.gate import Guardrail, screen
from recsys_causal.ope import policies
from recsys_causal.simulate import simulate_decision_log


@pytest.fixture(scope="module")
def result():
    log = simulate_decision_log(n_requests=3000, n_candidates=8, slate_size=3, epsilon=0.3, seed=4).log
    return screen(log, {"<b>top</b>": policies.softmax(log, "pred_new", 1),
                        "slate": policies.softmax(log, "pred_new", 3)}, primary="click",
                  guardrails=[Guardrail("hide", "increase_is_bad", 0.5)], protected_segments=[("surface", None)],
                  per_candidate={"slate": {"mode": "ranking"}})


def test_page_opens_with_the_overall_verdict_and_orders_the_sections(result):
    page = result.to_html()
    overall = {0: "pass", 1: "fail", 3: "inconclusive"}[result.exit_code]
    assert re.search(rf'id="overall"[^>]*>Overall: <span class="{overall}">{overall}</span>', page)
    marks = [page.index(m) for m in ('id="overall"', 'id="candidates"', 'class="candidate"', 'id="generated"')]
    assert marks == sorted(marks)
    for name in ("&lt;b&gt;top&lt;/b&gt;", "slate"):  # each candidate: its tables in reading order
        at = page.index(f"<h2>{name}: ")
        sec = page[at:page.index("</section>", at)]
        order = [sec.index(m) for m in ('class="primary"', "<svg", 'class="guardrails"', 'class="segments"',
                                        'class="support"')]
        assert order == sorted(order)
    assert "<b>top</b>" not in page


def test_ranking_candidate_shows_support_per_position_and_its_own_accounting(result):
    page = result.to_html()
    sec = page[page.index("<h2>slate: "):]
    sec = sec[:sec.index("</section>")]
    slate = next(c for c in result.candidates if c.name == "slate")
    rows = re.findall(r"<tr><td>(\d)</td><td>(\d+)</td>", sec[sec.index('class="support-positions"'):])
    assert [(int(k), int(n)) for k, n in rows] == [(p["position"], p["n"]) for p in slate.positions]
    assert [p["position"] for p in slate.positions] == [1, 2, 3]
    assert 'class="data-quality-candidate"' in sec and "mode ranking" in sec
    top = page[page.index("<h2>&lt;b&gt;top"):]
    assert 'class="support-positions"' not in top[:top.index("</section>")]


def test_chart_is_inline_svg_of_the_primary_and_cross_checks_without_network(result):
    page = result.to_html()
    assert page.count("<svg") == len(result.candidates)
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    slate = next(c for c in result.candidates if c.name == "slate")
    svg = page[page.index("<svg", page.index("<h2>slate: ")):]
    svg = svg[:svg.index("</svg>")]
    assert all(e.details["estimator"] in svg for e in [slate.primary, *slate.cross_checks])


def test_page_says_when_it_was_generated(result):
    stamp = re.search(r'id="generated">Generated (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC', result.to_html())[1]
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - when).total_seconds()) < 120


def test_markdown_stays_short(result):
    md = result.to_markdown()
    assert "<svg" not in md and "support-positions" not in md
    assert sum(ln.startswith("|") for ln in md.splitlines()) == len(result.candidates) + 2 + 2 + \
        len(np.unique([k for r in result.data_quality.rewards for k in r.excluded])) + 2

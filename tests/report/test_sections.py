"""Report sections are objects run in a loop: a new section is one class and one template fragment, numbered on
the page with the others; warnings of every section reach the page."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from recsys_causal.report import build_report
from recsys_causal.report.render import render_html
from recsys_causal.report.sections import REGISTRY, Section, SectionResult, register, sections, unregister


def headings(html: str) -> list[tuple[int, str, str]]:
    return [(int(n), anchor, title) for anchor, n, title in re.findall(r'<h2 id="([a-z-]+)">(\d+)\. ([^<]*)</h2>', html)]


@pytest.fixture
def dummy(tmp_path):
    """A section defined here (not in the package), with its fragment in a temporary folder."""
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "dummy_note.html.j2").write_text(
        '<p id="dummy-text">{{ r.dummy_note.text }} ({{ fmt(r.dummy_note.value) }})</p>\n')

    class DummyNote(Section):
        name, title, order = "dummy_note", "A dummy note", 52  # after novelty (50), before surrogate and segments
        template_dir = tmp_path

        def applies(self, cfg):
            return cfg.experiment.design == "ab"

        def run(self, ctx):
            units = ctx.results["metrics"].result.n_units  # the typed result of a section run before it
            return SectionResult(data={"text": "<b>units</b>", "value": sum(units.values())},
                                 methods=["Dummy: counts the units."])

    register(DummyNote)
    yield DummyNote
    unregister("dummy_note")


def test_a_new_section_is_one_class_and_one_fragment(example_dir, dummy):
    names = [s.name for s in sections()]
    assert names.index("dummy_note") == names.index("novelty") + 1 < names.index("segments")
    with pytest.raises(ValueError, match="already registered"):
        register(dummy)
    html_path, json_path, _ = build_report(example_dir / "ab.yaml", example_dir / "r.html", example_dir / "r.json")
    data, html = json.loads(json_path.read_text()), html_path.read_text()
    units = sum(data["data_quality"]["units"].values())
    assert data["dummy_note"] == {"text": "<b>units</b>", "value": units}
    assert "Dummy: counts the units." in data["methods"]
    h = headings(html)
    assert [n for n, _, _ in h] == list(range(1, len(h) + 1))
    anchors = [a for _, a, _ in h]
    assert anchors.index("dummy-note") == anchors.index("novelty") + 1 == anchors.index("segments") - 1
    assert (anchors.index("dummy-note") + 1, "dummy-note", "A dummy note") in h
    assert f'<p id="dummy-text">&lt;b&gt;units&lt;/b&gt; ({units})</p>' in html  # escaped like every fragment


def test_a_section_that_does_not_apply_is_empty_and_not_shown(example_dir, dummy):
    html_path, json_path, _ = build_report(example_dir / "holdout.yaml", example_dir / "r.html",
                                           example_dir / "r.json")
    assert json.loads(json_path.read_text())["dummy_note"] is None
    assert "dummy" not in html_path.read_text()
    assert "dummy_note" in REGISTRY


def test_page_shows_the_sections_whose_data_is_present():
    base = {"experiment": {"name": "x", "design": "ab", "unit": "u"}, "alpha": 0.05,
            "decision": {"verdict": "inconclusive", "reasons": []}, "data_quality": {"sources": []},
            "metrics": [], "guardrails": [], "figures": {}, "methods": ["m"],
            "ope": {"name": "<i>screen</i>", "settings": {"alpha": 0.05}, "candidates": []},
            "reproducibility": {"config_sha256": "", "input_sha256": {}, "seed": 0, "package_versions": {},
                                "generated_at": ""}}
    h = headings(render_html(base))
    assert h == [(1, "decision", "Decision summary"), (2, "data-quality", "Data quality"),
                 (3, "ope", "OPE screening: &lt;i&gt;screen&lt;/i&gt;"), (4, "methods", "Methods and assumptions")]


def test_holdout_duplicate_rows_are_warned_on_the_page(example_dir):
    """Exact repeated unit rows are removed and counted, and the warning reaches the page next to the holdout's
    own warnings (it used to be overwritten by them)."""
    data_dir = example_dir.parent.parent / "decision_logs"
    units = pd.read_parquet(data_dir / "sample_holdout_units.parquet")
    pd.concat([units, units.iloc[:3]]).to_parquet(example_dir / "dup.parquet")
    cfg = yaml.safe_load((example_dir / "holdout.yaml").read_text())
    cfg["data"]["units"] = "dup.parquet"
    (example_dir / "dup.yaml").write_text(yaml.safe_dump(cfg))
    html_path, json_path, _ = build_report(example_dir / "dup.yaml", example_dir / "r.html", example_dir / "r.json")
    data = json.loads(json_path.read_text())
    assert data["data_quality"]["duplicate_rows_removed"]["data.units"]["rows"] == 3
    counts = data["holdout"]["counts"]
    assert counts["treated"] + counts["holdout"] == len(units)  # each unit once
    (warning,) = [w for w in data["warnings"] if "duplicate" in w]
    assert "3 exact duplicate rows" in warning
    assert "3 exact duplicate rows" in html_path.read_text()


def test_every_section_has_its_fragment_and_every_fragment_its_section():
    from recsys_causal.report.render import environment

    fragments = {n for n in environment().list_templates() if n.startswith("sections/")}
    assert fragments == {s.template for s in sections()}
    assert len({s.order for s in sections()}) == len(sections())  # one place each on the page

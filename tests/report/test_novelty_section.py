"""The shipped A/B example's novelty section: no long-run effect with an absurd interval when the decay is not
identified; the constant-effect GLS mean instead, in the JSON and in the HTML text."""

from __future__ import annotations

import json
import re

from recsys_causal.report.cli import main


def test_shipped_example_novelty_text_has_no_absurd_interval(example_dir):
    out, js = example_dir / "ab.html", example_dir / "ab.json"
    assert main([str(example_dir / "ab.yaml"), "--quiet", "--out", str(out), "--json", str(js)]) in (0, 1, 3)
    nv = json.loads(js.read_text())["novelty"]
    days = nv["by_day"]
    daily_range = max(d["ci_high"] for d in days) - min(d["ci_low"] for d in days)
    assert nv["fit"] is None  # no long-run effect to show
    fit = nv["decay"]
    assert fit["label"] == "stable" and fit["identified"] is False
    eff = fit["effect"]
    assert eff["name"] == "constant_effect"
    assert eff["ci_high"] - eff["ci_low"] < daily_range  # a pooled mean is narrower than the daily intervals
    lo, hi = min(d["effect"] for d in days), max(d["effect"] for d in days)
    assert lo <= eff["value"] <= hi
    page = out.read_text()
    section = page[page.index('<h2 id="novelty">'):page.index('id="novelty-table"')]
    text = re.search(r"<p>(click: stable\..*?)</p>", section, re.S).group(1)
    assert "not identified" in text and "Long-run effect" not in text
    numbers = [float(x) for x in re.findall(r"\[(-?[\d.e+-]+), (-?[\d.e+-]+)\]", text)[0]]
    assert numbers[1] - numbers[0] < daily_range
    figure = page[page.index('<h2 id="novelty">'):]
    assert "constant effect (decay not identified)" in figure and "fitted decay" not in figure

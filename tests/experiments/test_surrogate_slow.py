"""The acceptance of the surrogate index at 500 simulated datasets per row (``make validate``): when surrogacy holds
the lift is unbiased within 3 MC SE with 95% coverage in 93–97%; with a direct path the estimate is off by the
closed-form bias (within 3 MC SE) and the validation gap covers that bias."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))

RUNS = 500


def _bias_in_mc_se(note: str) -> float:
    return float(re.search(r"\(([+-][\d.]+) MC SE\)", note).group(1))


@pytest.mark.slow
def test_acceptance_when_surrogacy_holds_and_when_it_does_not():
    from studies_surrogate import surrogacy_holds, surrogacy_violated

    for family, name, runs, hits, *note in surrogacy_holds(RUNS) + surrogacy_violated(RUNS):
        rate = hits / runs
        if family == "false positives":
            assert rate <= 0.05 + 2 * (0.05 * 0.95 / runs) ** 0.5, name
        elif "experiment-only" in name:
            continue  # the documented limitation: ignores the historical sample
        else:
            assert 0.93 <= rate <= 0.97, (name, rate)
            assert abs(_bias_in_mc_se(note[0])) < 3, (name, note)

"""Generate switchback schedules from a design, including the minimax-optimal design for carryover order m.

>>> from recsys_causal.switchback.schedule import SwitchbackDesign
>>> s = make_schedule(n_clusters=2, n_blocks=24, design=SwitchbackDesign("balanced"), seed=1)
>>> s.groupby("cluster")["treated"].sum().tolist()
[12, 12]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_causal.switchback.schedule import SwitchbackDesign, draw_assignments, validate_schedule


def make_schedule(
    n_clusters: int,
    n_blocks: int,
    *,
    block_minutes: int = 60,
    design: SwitchbackDesign | None = None,
    start: str | pd.Timestamp = "2026-06-01T00:00:00Z",
    seed: int = 0,
) -> pd.DataFrame:
    """A schedule (cluster × block) drawn from ``design`` (default Bernoulli p = 0.5), seeded."""
    design = design or SwitchbackDesign()
    t0 = pd.Timestamp(start)
    cl = np.repeat([f"region_{i}" for i in range(n_clusters)], n_blocks)
    period = np.tile(np.arange(n_blocks), n_clusters)
    starts = t0 + pd.to_timedelta(period * block_minutes, unit="m")
    frame = pd.DataFrame({"cluster": cl, "block_start": starts,
                          "block_end": starts + pd.Timedelta(minutes=block_minutes), "treated": False})
    skeleton = validate_schedule(frame, SwitchbackDesign("bernoulli", design.p) if design.kind == "balanced"
                                 else design)
    draws = draw_assignments(skeleton, design, 1, np.random.default_rng(seed))[0]
    skeleton["treated"] = draws
    skeleton["variant"] = np.where(draws, "treatment", "control")
    return skeleton

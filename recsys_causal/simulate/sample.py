"""Write the shipped sample decision logs (fixed seed): ``python -m recsys_causal.simulate.sample decision_logs``.

Files written (atomically) into the target directory:

- ``sample_decision_log.parquet``: 4,000 requests of a production ranker (ε-mixture of Plackett–Luce and a
  uniform slate, ε = 0.1), 8–16 candidates each, slates of 3, exact propensities, shadow scores ``pred_new``
  and ``pred_bold``; outcomes are *not* included: they come from the events file through label windows.
- ``sample_outcome_events.parquet``: click / purchase / hide events with timestamps.
- ``sample_dirty.csv``: 30 requests in long CSV with deliberate logging bugs, to show quarantine at work.
- ``sample_ab_decision_log.parquet`` + ``sample_ab_users.parquet``: an A/B test of the ``pred_new`` ranker
  (users randomised 50/50) with outcomes, and per-user pre-period covariates (``prior_interactions``,
  ``pre_clicks``) and attributes (``region``).
- ``sample_holdout_units.parquet``: a 10% holdout of a recommendation module with ghost exposures.
- ``sample_holdout_log.parquet`` + ``sample_holdout_pre_period.parquet``: the same holdout as a decision log
  (module slates shown to treated units, logged as ``suppressed`` for the holdout) and its pre-period table.
- ``sample_switchback_schedule.parquet`` + ``sample_switchback_events.parquet``: 4 regions × 7 days of hourly
  blocks with a carryover of one block.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_causal.outputs import OutputPlan
from recsys_causal.simulate.decision_log import simulate_decision_log

SEED = 20260601
LABELS = ("click within 30m", "purchase within 7d", "value of purchase within 7d as revenue", "hide within 1d")
AS_OF = "2026-06-20T00:00:00Z"


def make_sample(seed: int = SEED):
    return simulate_decision_log(n_requests=4000, n_candidates=(8, 16), slate_size=3, epsilon=0.1, seed=seed,
                                 with_events=True)


def make_dirty(seed: int = SEED) -> pd.DataFrame:
    """A small long table with one logging bug per affected request (documented in the returned ids)."""
    sim = simulate_decision_log(n_requests=30, n_candidates=5, slate_size=2, epsilon=0.2, seed=seed + 1)
    frame = sim.log.to_long_frame()
    frame["decision_time"] = frame["decision_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rid = frame["request_id"].to_numpy()
    shown = frame["shown"].to_numpy()
    ids = pd.unique(rid)

    def first(req, want_shown=True):
        return int(np.nonzero((rid == req) & (shown == want_shown))[0][0])

    frame.loc[first(ids[1]), "propensity"] = 0.0  # invalid propensity
    frame.loc[first(ids[2]), "propensity"] = np.nan  # missing propensity
    frame.loc[first(ids[3]), "position"] = np.nan  # shown without position
    dup = frame.loc[[first(ids[4], False)]]  # duplicate candidate (retry)
    frame.loc[first(ids[5], False), "click"] = 1.0  # outcome on a candidate never shown
    frame.loc[rid == ids[6], "decision_time"] = "2026-13-45T99:00:00Z"  # unparsable timestamp
    frame.loc[first(ids[7]), "eligible"] = False  # shown although ineligible (warning only)
    frame.loc[rid == ids[8], "ranking_policy_version"] = "pl-softmax-v4"  # second policy version (warning)
    return pd.concat([frame, dup], ignore_index=True)


def make_ab(seed: int = SEED):
    """A/B decision log (requests with variant) and a per-user covariate table."""
    from recsys_causal.simulate.world import make_world

    world = make_world(n_users=3000, seed=seed + 2)
    sim = simulate_decision_log(n_requests=8_000, n_candidates=(6, 10), slate_size=3, epsilon=0.1, world=world,
                                experiment={"control": 0.5, "treatment": 0.5}, seed=seed + 3)
    rng = np.random.default_rng(seed + 4)
    propensity = 1 / (1 + np.exp(-(-2.0 + world.user_affinity.max(axis=1))))
    users = pd.DataFrame({
        "user_id": world.user_ids,
        "prior_interactions": world.user_prior_interactions,
        "pre_clicks": rng.poisson(30 * propensity).astype(float),
        "region": world.user_region,
    })
    return sim, users


def write_sample(directory: str | Path) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sim = make_sample()
    frame = sim.log.to_long_frame().drop(columns=list(sim.log.reward_columns))
    events = sim.outcome_events
    dirty = make_dirty()
    ab_sim, ab_users = make_ab()
    ab_frame = ab_sim.log.to_long_frame()
    from recsys_causal.simulate.holdout_log import simulate_holdout_log
    from recsys_causal.simulate.switchback import simulate_switchback

    holdout_log = simulate_holdout_log(n_units=40_000, holdout_share=0.1, exposure_rate=0.3, seed=SEED)
    holdout = holdout_log.holdout.units  # the same units as a table and as a decision log
    switchback = simulate_switchback(n_clusters=4, n_blocks=168, direct_effect=0.5, carryover_effect=0.2,
                                     events_per_block=20, seed=SEED)
    writers = {
        "sample_ab_decision_log.parquet": lambda p: ab_frame.to_parquet(p, index=False),
        "sample_ab_users.parquet": lambda p: ab_users.to_parquet(p, index=False),
        "sample_holdout_units.parquet": lambda p: holdout.to_parquet(p, index=False),
        "sample_holdout_log.parquet": lambda p: holdout_log.log.to_long_frame().to_parquet(p, index=False),
        "sample_holdout_pre_period.parquet": lambda p: holdout_log.pre_period.to_parquet(p, index=False),
        "sample_switchback_schedule.parquet": lambda p: switchback.schedule.to_parquet(p, index=False),
        "sample_switchback_events.parquet": lambda p: switchback.events.to_parquet(p, index=False),
        "sample_decision_log.parquet": lambda p: frame.to_parquet(p, index=False),
        "sample_outcome_events.parquet": lambda p: events.to_parquet(p, index=False),
        "sample_dirty.csv": lambda p: dirty.to_csv(p, index=False),
    }
    OutputPlan({name: out / name for name in writers}).write(writers)  # all files or none
    return [out / name for name in writers]

if __name__ == "__main__":
    for path in write_sample(sys.argv[1] if len(sys.argv) > 1 else "decision_logs"):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")

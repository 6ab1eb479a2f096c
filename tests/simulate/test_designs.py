"""Switchback and holdout simulators: their known effects are recovered by the simplest unbiased contrast."""

import numpy as np

from recsys_causal.simulate import simulate_holdout, simulate_switchback


def test_switchback_difference_in_means_recovers_direct_effect():
    sb = simulate_switchback(n_clusters=6, n_blocks=400, direct_effect=0.7, seed=2)
    blocks = sb.schedule.set_index(["cluster", "block_start"])
    ev = sb.events.copy()
    ev["block_start"] = ev["event_time"].dt.floor("60min")
    ev = ev.join(blocks["treated"], on=["cluster", "block_start"])
    assert ev["treated"].notna().all()
    per_block = ev.groupby(["cluster", "block_start"]).agg(y=("value", "mean"), t=("treated", "first"))
    # cluster fixed effects: demean by cluster before contrasting
    per_block["y"] -= per_block.groupby(level=0)["y"].transform("mean")
    t, y = per_block["t"].to_numpy(bool), per_block["y"].to_numpy()
    diff = y[t].mean() - y[~t].mean()
    se = np.sqrt(y[t].var(ddof=1) / t.sum() + y[~t].var(ddof=1) / (~t).sum())
    assert abs(diff - 0.7) < 4 * se


def test_switchback_carryover_adds_to_total_effect():
    sb = simulate_switchback(n_blocks=10, direct_effect=0.5, carryover_effect=0.2, seed=1)
    assert sb.true_effect == 0.5 + 0.2


def test_holdout_itt_and_effect_on_exposed():
    h = simulate_holdout(n_units=400_000, exposure_rate=0.3, effect_on_exposed=0.02, seed=3)
    u = h.units
    treated = u["group"].to_numpy() == "treated"
    y = u["converted"].to_numpy()
    itt = y[treated].mean() - y[~treated].mean()
    se = np.sqrt(y[treated].var() / treated.sum() + y[~treated].var() / (~treated).sum())
    assert abs(itt - h.true_itt) < 4 * se
    # ghost-exposed holdout units are the counterfactual of the exposed treated units
    exposed, ghost = u["exposed"].to_numpy(), u["ghost_exposed"].to_numpy()
    tot = y[exposed].mean() - y[ghost].mean()
    se2 = np.sqrt(y[exposed].var() / exposed.sum() + y[ghost].var() / ghost.sum())
    assert abs(tot - 0.02) < 4 * se2
    # attribution over-credits: every converting exposed unit is credited
    assert u["attributed"].sum() > h.true_itt * treated.sum()

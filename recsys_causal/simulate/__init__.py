"""Simulators with exactly known truth, for tests, benchmarks, notebooks and the shipped sample.

>>> from recsys_causal.simulate import simulate_decision_log
>>> simulate_decision_log(n_requests=10, n_candidates=5, slate_size=2, seed=0).log.n_requests
10
"""

from recsys_causal.logs.segments import lifecycle_segment
from recsys_causal.simulate.decision_log import SimulatedLog, simulate_decision_log
from recsys_causal.simulate.holdout import SimulatedHoldout, simulate_holdout
from recsys_causal.simulate.holdout_log import SimulatedHoldoutLog, simulate_holdout_log
from recsys_causal.simulate.longterm import SimulatedLongTerm, simulate_longterm
from recsys_causal.simulate.switchback import SimulatedSwitchback, simulate_switchback
from recsys_causal.simulate.takeup import SimulatedTakeup, simulate_takeup
from recsys_causal.simulate.world import World, make_world

__all__ = [
    "SimulatedHoldout",
    "SimulatedHoldoutLog",
    "SimulatedLog",
    "SimulatedLongTerm",
    "SimulatedSwitchback",
    "SimulatedTakeup",
    "World",
    "lifecycle_segment",
    "make_world",
    "simulate_decision_log",
    "simulate_holdout",
    "simulate_holdout_log",
    "simulate_longterm",
    "simulate_switchback",
    "simulate_takeup",
]

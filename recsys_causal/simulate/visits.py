"""A user-randomised experiment whose users come back over weeks: long-term readouts with exactly known truth.

Each user ``i`` is assigned an arm, enters at a first exposure ``t0`` uniform over ``enrol_days`` and then
makes requests as a Poisson process of rate ``lambda_a * g_i`` per day over ``(t0, t0 + follow_days]``, with
``g_i ~ Gamma(shape, 1 / shape)`` (mean 1) and ``lambda_a = rate * (1 + rate_lift * T)``. Every request shows
``slate_size`` items, each clicked with probability ``c_a = ctr * (1 + ctr_lift * T)`` (the candidate column
``click``). A click becomes a ``purchase`` event with probability ``purchase_rate`` after an exponential delay,
and a purchase a ``return`` event with probability ``return_rate_a`` after a delay uniform on ``(0,
return_days)``. Requests and events after ``as_of`` have not happened yet and are not in the log. A share
``flag_share`` of users, drawn independently of everything, is flagged (``fraud_flag`` / ``user_deleted``).

Truth per arm at horizon ``h`` days after first exposure (closed forms, from the design, not the sample):

* retention (another request in ``(t0, t0 + h]``): ``1 - (1 + lambda_a h / shape) ** -shape``;
* clicks and impressions in ``[t0, t0 + h)``: ``slate_size * c_a * (1 + lambda_a h)`` and
  ``slate_size * (1 + lambda_a h)``.

>>> sim = simulate_visits(n_users=300, seed=0)
>>> sorted(sim.events["event"].unique().tolist()), sim.requests["decision_time"].max() <= sim.as_of
(['purchase', 'return'], True)
>>> round(sim.truth(14)["retention"]["treatment"] - sim.truth(14)["retention"]["control"], 4)
0.0578
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_causal.simulate.assign import draw_arms

START = pd.Timestamp("2026-04-06", tz="UTC")
DAY_S = 86400.0


@dataclass(frozen=True)
class VisitsDesign:
    """The parameters of :func:`simulate_visits` (see the module docstring)."""

    rate: float = 0.15
    rate_lift: float = 0.3
    shape: float = 1.5
    ctr: float = 0.05
    ctr_lift: float = 0.06
    slate_size: int = 4
    purchase_rate: float = 0.2
    purchase_delay_days: float = 2.0
    return_rate: float = 0.15
    return_rate_treated: float = 0.12
    return_days: float = 40.0
    enrol_days: float = 14.0
    follow_days: float = 45.0
    as_of_days: float = 40.0
    flag_share: float = 0.01

    def arm_rate(self, treated: bool) -> float:
        return self.rate * (1 + self.rate_lift * treated)


@dataclass(frozen=True)
class SimulatedVisits:
    """Decision-log frames (``requests``, ``candidates``), outcome ``events``, user ``flags``, the analysis time
    ``as_of`` and the design; :meth:`truth` gives the exact per-arm means at a horizon."""

    requests: pd.DataFrame
    candidates: pd.DataFrame
    events: pd.DataFrame
    flags: pd.DataFrame
    as_of: pd.Timestamp
    design: VisitsDesign
    control: str = "control"
    treatment: str = "treatment"

    def truth(self, horizon_days: float) -> dict[str, dict[str, float]]:
        """Exact per-arm means at ``horizon_days`` after first exposure: ``retention``, ``click``,
        ``impressions`` (``truth(h)[metric][arm]``)."""
        d, h = self.design, float(horizon_days)
        out: dict[str, dict[str, float]] = {"retention": {}, "click": {}, "impressions": {}}
        for arm, treated in ((self.control, False), (self.treatment, True)):
            lam = d.arm_rate(treated)
            c = d.ctr * (1 + d.ctr_lift * treated)
            out["retention"][arm] = 1 - (1 + lam * h / d.shape) ** -d.shape
            out["impressions"][arm] = d.slate_size * (1 + lam * h)
            out["click"][arm] = d.slate_size * c * (1 + lam * h)
        return out


def simulate_visits(n_users: int = 2000, *, design: VisitsDesign | None = None, seed: int | None = 0,
                      experiment_id: str = "longterm1") -> SimulatedVisits:
    """Simulate the experiment (see the module docstring); vectorised over users and requests."""
    d = design or VisitsDesign()
    rng = np.random.default_rng(seed)
    names, arm = draw_arms(rng, {"control": 0.5, "treatment": 0.5}, n_users)
    treated = np.asarray(names)[arm] == "treatment"
    lam = np.where(treated, d.arm_rate(True), d.arm_rate(False)) * rng.gamma(d.shape, 1 / d.shape, n_users)
    t0 = rng.uniform(0, d.enrol_days * DAY_S, n_users)
    n_more = rng.poisson(lam * d.follow_days)
    user = np.concatenate([np.arange(n_users), np.repeat(np.arange(n_users), n_more)])
    offset = np.concatenate([np.zeros(n_users), rng.uniform(0, d.follow_days * DAY_S, int(n_more.sum()))])
    t = t0[user] + offset
    order = np.lexsort((t, user))
    user, t = user[order], t[order]
    keep = t <= d.as_of_days * DAY_S
    user, t = user[keep], t[keep]
    rid = np.char.add("r", np.arange(user.size).astype(str))
    requests = pd.DataFrame({"request_id": rid, "decision_time": START + pd.to_timedelta(np.round(t), unit="s"),
                             "user_id": np.char.add("u", user.astype(str)), "experiment_id": experiment_id,
                             "variant": np.where(treated[user], "treatment", "control")})
    k = d.slate_size
    c = d.ctr * (1 + d.ctr_lift * treated[user])
    click = (rng.random((user.size, k)) < c[:, None]).astype(float)
    candidates = pd.DataFrame({"request_id": np.repeat(rid, k), "item_id": np.tile(np.char.add("i", np.arange(
        k).astype(str)), user.size), "shown": True, "position": np.tile(np.arange(1, k + 1), user.size),
        "click": click.ravel()})
    candidates["item_id"] = np.char.add(candidates["item_id"].to_numpy(str),
                                        np.char.add("_", (rng.integers(0, 200, candidates.shape[0])).astype(str)))
    events = _events(rng, d, candidates, np.round(t).repeat(k), treated[user].repeat(k))
    as_of = START + pd.Timedelta(days=d.as_of_days)
    flags = _flags(rng, n_users, d.flag_share)
    return SimulatedVisits(requests, candidates, events, flags, as_of, d)


def _events(rng: np.random.Generator, d: VisitsDesign, cand: pd.DataFrame, t: np.ndarray,
            treated: np.ndarray) -> pd.DataFrame:
    """Purchase events after clicks and return events after purchases (those before ``as_of`` only)."""
    clicked = np.flatnonzero(cand["click"].to_numpy() > 0)
    bought = clicked[rng.random(clicked.size) < d.purchase_rate]
    t_buy = t[bought] + np.round(rng.exponential(d.purchase_delay_days * DAY_S, bought.size))
    price = np.round(rng.lognormal(3.0, 0.5, bought.size), 2)
    p_ret = np.where(treated[bought], d.return_rate_treated, d.return_rate)
    back = rng.random(bought.size) < p_ret
    t_ret = t_buy[back] + np.round(rng.uniform(0, d.return_days * DAY_S, int(back.sum())))
    rows = np.concatenate([bought, bought[back]])
    frame = pd.DataFrame({
        "request_id": cand["request_id"].to_numpy()[rows], "item_id": cand["item_id"].to_numpy()[rows],
        "event": np.repeat(["purchase", "return"], [bought.size, int(back.sum())]),
        "event_time": START + pd.to_timedelta(np.concatenate([t_buy, t_ret]), unit="s"),
        "value": np.concatenate([price, price[back]]),
    })
    frame = frame.loc[frame["event_time"] <= START + pd.Timedelta(days=d.as_of_days)]
    return frame.sort_values(["event_time", "request_id"], kind="stable").reset_index(drop=True)


def _flags(rng: np.random.Generator, n_users: int, share: float) -> pd.DataFrame:
    flagged = np.flatnonzero(rng.random(n_users) < share)
    return pd.DataFrame({"user_id": np.char.add("u", flagged.astype(str)),
                         "flag": rng.choice(["fraud_flag", "user_deleted"], flagged.size)})


#: the shipped long-term sample (``python -m recsys_causal.simulate.visits decision_logs``)
SAMPLE_SEED, SAMPLE_USERS = 20260406, 2000
SAMPLE_FILES = ("sample_longterm_decision_log.parquet", "sample_longterm_events.parquet",
                "sample_longterm_flags.csv", "sample_longterm_history.parquet")
HISTORY_SEED, HISTORY_USERS = 20251006, 4000


def history_table(n_users: int = HISTORY_USERS, seed: int = HISTORY_SEED) -> pd.DataFrame:
    """A past experiment of the same world whose users were all followed for 30 days: one row per user with the
    7-day surrogates (``n_requests``, ``impressions``, ``click``) and the long-term outcome ``retained_30d``
    (another request within 30 days of the first), the historical sample of a surrogate index. User ids carry
    an ``h`` prefix (other users than the experiment's)."""
    from recsys_causal.experiments.unit_metrics import unit_metrics_from_log
    from recsys_causal.logs.model import DecisionLog

    d = VisitsDesign(as_of_days=60.0, follow_days=60.0)
    sim = simulate_visits(n_users, design=d, seed=seed)
    requests = sim.requests.assign(user_id="h" + sim.requests["user_id"])
    log = DecisionLog.from_frames(requests, sim.candidates, reward_columns=("click",))
    short = unit_metrics_from_log(log, window="7D", as_of=sim.as_of).units
    month = unit_metrics_from_log(log, window="30D", as_of=sim.as_of).units
    table = short[["user_id", "variant", "n_requests", "impressions", "click"]].merge(
        month[["user_id", "n_requests"]].rename(columns={"n_requests": "requests_30d"}), on="user_id",
        validate="one_to_one")
    table["retained_30d"] = (table.pop("requests_30d") > 1).astype(float)
    return table.astype({"n_requests": float, "impressions": float})


def write_visits_sample(directory: str | Path) -> list[Path]:
    """Write the long-term sample (fixed seed): the decision log in long Parquet (``click`` on candidates), the
    purchase / return events, the user flags and the historical sample of the surrogate index
    (:func:`history_table`), atomically (all files or none)."""
    from recsys_causal.logs.model import DecisionLog
    from recsys_causal.outputs import OutputPlan

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sim = simulate_visits(SAMPLE_USERS, seed=SAMPLE_SEED)
    frame = DecisionLog.from_frames(sim.requests, sim.candidates).to_long_frame()
    log_file, events_file, flags_file, history_file = SAMPLE_FILES
    history = history_table()
    writers = {log_file: lambda p: frame.to_parquet(p, index=False),
               events_file: lambda p: sim.events.to_parquet(p, index=False),
               flags_file: lambda p: sim.flags.to_csv(p, index=False),
               history_file: lambda p: history.to_parquet(p, index=False)}
    OutputPlan({name: out / name for name in writers}).write(writers)
    return [out / name for name in writers]


if __name__ == "__main__":
    for path in write_visits_sample(sys.argv[1] if len(sys.argv) > 1 else "decision_logs"):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")

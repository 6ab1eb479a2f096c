"""Switchback events from a decision log: each request is an event of its region (or surface) at its decision
time, and the variant it logged is checked against the schedule's assignment of its block.

The outcome of a request is a numeric request column, or a reward summed over the request's shown candidates
(missing when any of them is not yet labelled, never 0). Requests without a cluster value are quarantined
(``missing_cluster``); requests whose logged variant is not the one the schedule assigned to their block are
counted (``assignment_mismatch``, with example request ids) and kept: the analysis compares blocks as
scheduled (intent to treat), so a mismatch dilutes the effect rather than biasing the comparison, and a
warning names the share. Requests outside the schedule, in a burn-in or without an outcome are counted by
:func:`~recsys_causal.switchback.blocks.aggregate_events` as for any events.

>>> from recsys_causal.simulate import simulate_switchback
>>> from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule
>>> sb = simulate_switchback(n_clusters=2, n_blocks=6, seed=0)
>>> log = switchback_log_from_events(sb.events, sb.schedule)
>>> ev = switchback_events_from_log(log, validate_schedule(sb.schedule, SwitchbackDesign()), value_col="value")
>>> ev.counts["requests_read"] == len(sb.events), ev.counts["assignment_mismatch"]
(True, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.caveats import DataQualityWarning, caveat
from recsys_causal.checks import require_columns
from recsys_causal.errors import SchemaError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.switchback.blocks import block_index


@dataclass(frozen=True)
class SwitchbackLogEvents:
    """The events of a switchback read from a decision log and the request accounting."""

    events: pd.DataFrame  # cluster, event_time, the outcome column
    counts: dict[str, int]
    examples: dict[str, list[str]] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        n, read = self.counts["assignment_mismatch"], self.counts["requests_read"]
        if not n:
            return []
        return [caveat(f"{n} of {read} requests ({n / read:.1%}) logged a variant other than the schedule's for their "
                f"block (e.g. {', '.join(self.examples['assignment_mismatch'])}); they are analysed as scheduled "
                "(intent to treat), which dilutes the effect: check the assignment service", DataQualityWarning)]


def switchback_events_from_log(
    data: DecisionLog, schedule: pd.DataFrame, *, value_col: str | Sequence[str], cluster_col: str = "region",
    variant_col: str = "variant", treatment_label: object = "treatment", control_label: object = "control",
) -> SwitchbackLogEvents:
    """Events of a validated ``schedule`` from a decision log (see the module docstring); ``value_col`` names
    one outcome or several (e.g. the metric and its guardrails), each a column of the events."""
    log = data
    require_columns(log.requests, [cluster_col, variant_col], what="request table", source=log.source,
                    fix="name the cluster (region / surface) and variant request columns: cluster_col=, variant_col=")
    names = [value_col] if isinstance(value_col, str) else list(dict.fromkeys(value_col))
    cluster = log.requests[cluster_col]
    missing = cluster.isna().to_numpy()
    ids = log.request_ids
    events = pd.DataFrame({"cluster": cluster.astype(str).to_numpy()[~missing],
                           "event_time": log.requests["decision_time"].to_numpy()[~missing],
                           **{name: _request_values(log, name)[~missing] for name in names}})
    block = block_index(events["cluster"].to_numpy(), events["event_time"], schedule)
    inside = block >= 0
    expected = np.where(schedule["treated"].to_numpy(dtype=bool)[block[inside]], str(treatment_label),
                        str(control_label))
    logged = log.requests[variant_col].astype("string").to_numpy(dtype=object, na_value=None)[~missing][inside]
    mismatch = logged != expected
    counts = {"requests_read": log.n_requests, "missing_cluster": int(missing.sum()),
              "assignment_mismatch": int(mismatch.sum()), "requests_in_schedule": int(inside.sum())}
    examples = {"missing_cluster": [str(i) for i in ids[missing][:5]],
                "assignment_mismatch": [str(i) for i in ids[~missing][inside][mismatch][:5]]}
    return SwitchbackLogEvents(events, counts, examples)


def _request_values(log: DecisionLog, value_col: str) -> np.ndarray:
    """The outcome per request: a numeric request column, or a reward summed over shown candidates."""
    if value_col in log.requests.columns:
        return pd.to_numeric(log.requests[value_col], errors="coerce").to_numpy(dtype=float)
    if value_col not in log.reward_columns:
        raise SchemaError(f"outcome {value_col!r} is neither a request column nor a reward of the log",
                          source=log.source, column=value_col,
                          fix=f"name a request column or one of the rewards {list(log.reward_columns)}")
    y = log.reward(value_col)
    shown = log.shown
    total = log.per_request_sum(np.where(shown & np.isfinite(y), y, 0.0))
    unknown = log.per_request_sum((shown & ~np.isfinite(y)).astype(float)) > 0
    return np.where(unknown, np.nan, total)


def switchback_log_from_events(events: pd.DataFrame, schedule: pd.DataFrame, *, value_col: str = "value",
                               cluster_col: str = "region") -> DecisionLog:
    """A decision log with one request per event (cluster, decision time, the scheduled variant and the outcome
    as request columns; no candidates): the shape a switchback's serving log has once reduced to requests."""
    from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule

    sched = validate_schedule(schedule, SwitchbackDesign())
    t = pd.to_datetime(events["event_time"], utc=True)
    block = block_index(events["cluster"].to_numpy(), t, sched)
    treated = np.where(block >= 0, sched["treated"].to_numpy(dtype=bool)[np.maximum(block, 0)], False)
    requests = pd.DataFrame({"request_id": [f"q{i}" for i in range(len(events))], "decision_time": t.to_numpy(),
                             cluster_col: events["cluster"].astype(str).to_numpy(),
                             "variant": np.where(block >= 0, np.where(treated, "treatment", "control"), None),
                             value_col: events[value_col].to_numpy()})
    empty = pd.DataFrame({"request_id": pd.Series(dtype=object), "item_id": pd.Series(dtype=object),
                          "shown": pd.Series(dtype=bool)})
    return DecisionLog.from_frames(requests, empty, reward_columns=(), source="switchback log")

"""Exclusions from label windows: flagged users and items unavailable for a whole window.

A flags table has a ``flag`` column (e.g. ``user_deleted``, ``fraud_flag``, ``item_unavailable``) and either a
``user_id`` (the user is flagged: every label of every request of that user is excluded) or an ``item_id``
(the item is unavailable, with optional ``start`` / ``end`` timestamps; empty means unbounded): a request- or
chain-level label of a shown candidate of that item is excluded when its whole window ``[decision, decision +
span]`` lies inside one unavailable period. User-level labels do not depend on the shown item and are not
excluded by item flags. Excluded labels are missing (NaN) and counted by reason (``flagged_user``,
``item_unavailable``) and by flag, in the validation report and in ``log.metadata["label_exclusions"]``.

>>> import pandas as pd
>>> f = pd.DataFrame({"user_id": ["u1", None], "item_id": [None, "b"], "flag": ["fraud_flag", "recalled"]})
>>> read_flags(f, "flags.csv").users.tolist()
['u1']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from recsys_causal.errors import SchemaError
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import ValidationReport

FLAGGED_USER = "flagged_user"
ITEM_UNAVAILABLE = "item_unavailable"


@dataclass(frozen=True)
class Flags:
    """Flagged users (``users`` with their first ``user_flags``) and item unavailability periods (``items``:
    ``item_id``, ``flag``, ``start``, ``end`` as UTC timestamps, NaT unbounded)."""

    users: pd.Index
    user_flags: np.ndarray
    items: pd.DataFrame


def read_flags(flags: pd.DataFrame, source: str) -> Flags:
    """Check a flags table (see the module docstring); problems raise a :class:`SchemaError` naming the column,
    how many rows and example rows."""
    if "flag" not in flags.columns or not ({"user_id", "item_id"} & set(flags.columns)):
        raise SchemaError(f"the flags table has columns {list(flags.columns)}", source=source, column="flag",
                          fix="give a 'flag' column and a 'user_id' or an 'item_id' column (with optional "
                              "'start' / 'end' for item unavailability)", code="missing_column")
    user = flags["user_id"] if "user_id" in flags.columns else pd.Series([None] * len(flags), index=flags.index)
    item = flags["item_id"] if "item_id" in flags.columns else pd.Series([None] * len(flags), index=flags.index)
    bad = flags["flag"].isna() | (user.isna() == item.isna())
    if bad.any():
        raise SchemaError(f"{int(bad.sum())} flag rows lack a flag or name neither or both of user_id / item_id",
                          source=source, column="flag", count=int(bad.sum()),
                          examples=[str(i) for i in flags.index[bad][:5]],
                          fix="one row per flagged user (user_id) or unavailable item (item_id), with its flag")
    on_user = user.notna()
    users = pd.DataFrame({"user": user[on_user].astype(str), "flag": flags.loc[on_user, "flag"].astype(str)})
    users = users.drop_duplicates("user", keep="first")
    items = pd.DataFrame({"item_id": item[~on_user].astype(str), "flag": flags.loc[~on_user, "flag"].astype(str),
                          "start": _times(flags, "start", ~on_user, source),
                          "end": _times(flags, "end", ~on_user, source)})
    backwards = items["start"] > items["end"]
    if backwards.any():
        raise SchemaError(f"{int(backwards.sum())} item flags end before they start", source=source, column="end",
                          count=int(backwards.sum()), examples=items.loc[backwards, "item_id"].head(5).tolist(),
                          fix="swap start and end")
    return Flags(pd.Index(users["user"]), users["flag"].to_numpy(), items.reset_index(drop=True))


def _times(flags: pd.DataFrame, col: str, rows: pd.Series, source: str) -> pd.Series:
    if col not in flags.columns:
        return pd.Series(pd.NaT, index=flags.index[rows], dtype="datetime64[ns, UTC]")
    text = flags.loc[rows, col]
    if isinstance(text.dtype, pd.DatetimeTZDtype):
        return text.dt.tz_convert("UTC")
    out = pd.to_datetime(text.astype("string"), errors="coerce", utc=True, format="ISO8601")
    naive = text.notna() & ~text.astype("string").str.strip().str.contains(schema.TZ_SUFFIX).fillna(False)
    bad = (text.notna() & out.isna()) | naive
    if bad.any():
        raise SchemaError(f"{int(bad.sum())} values of {col!r} are not timestamps with a timezone", source=source,
                          column=col, count=int(bad.sum()), examples=text[bad].astype(str).head(5).tolist(),
                          fix="write ISO-8601 times with an offset, e.g. 2026-06-01T00:00:00Z; empty = unbounded")
    return out


def exclude_flagged(log: DecisionLog, specs: Sequence, flags: pd.DataFrame, *, report: ValidationReport | None,
                    source: str = "flags") -> DecisionLog:
    """``log`` with the labels of ``specs`` excluded (NaN) where a flag applies, counted by reason and flag."""
    f = read_flags(flags, source)
    req_users = log.requests["user_id"].astype("string") if "user_id" in log.requests.columns else \
        pd.Series(pd.NA, index=log.requests.index, dtype="string")
    pos = f.users.get_indexer(req_users.fillna("\x00"))
    req_flag = np.where(pos >= 0, f.user_flags[np.maximum(pos, 0)], None)
    cand, requests = log.candidates.copy(), log.requests.copy()
    counts: dict[str, dict[str, int]] = {FLAGGED_USER: {}, ITEM_UNAVAILABLE: {}}
    examples: dict[str, list] = {FLAGGED_USER: [], ITEM_UNAVAILABLE: []}
    for spec in specs:
        if spec.scope == "user":
            hit, flag_of, ids = pos >= 0, req_flag, log.request_ids
            _count(counts, examples, FLAGGED_USER, hit & requests[spec.column].notna().to_numpy(), flag_of, ids)
            requests.loc[hit, spec.column] = np.nan
            continue
        user_hit = (pos >= 0)[log.request_index] & log.shown
        item_hit, item_flag = _unavailable(log, f.items, spec.span)
        item_hit &= ~user_hit
        ids = log.request_ids[log.request_index]
        known = cand[spec.column].notna().to_numpy()
        _count(counts, examples, FLAGGED_USER, user_hit & known, req_flag[log.request_index], ids)
        _count(counts, examples, ITEM_UNAVAILABLE, item_hit & known, item_flag, ids)
        cand.loc[user_hit | item_hit, spec.column] = np.nan
    if report is not None:
        _report(report, counts, examples, source)
    meta = {**log.metadata, "label_exclusions": {k: v for k, v in counts.items() if v}}
    return replace(log, candidates=cand, requests=requests, metadata=meta)


def _unavailable(log: DecisionLog, items: pd.DataFrame, span: pd.Timedelta) -> tuple[np.ndarray, np.ndarray]:
    """Shown candidates whose window ``[decision, decision + span]`` lies in one unavailability period of their
    item, and the flag of that period."""
    n = log.n_candidates
    hit, flag = np.zeros(n, dtype=bool), np.full(n, None, dtype=object)
    if not len(items):
        return hit, flag
    t = pd.DatetimeIndex(log.requests[schema.DECISION_TIME]).tz_convert("UTC")[log.request_index]
    shown = np.flatnonzero(log.shown)
    c = pd.DataFrame({"row": shown, "item_id": log.candidates[schema.ITEM_ID].astype(str).to_numpy()[shown],
                      "t0": t[shown], "t1": t[shown] + span})
    m = c.merge(items, on="item_id", how="inner")
    inside = (m["start"].isna() | (m["start"] <= m["t0"])) & (m["end"].isna() | (m["t1"] <= m["end"]))
    m = m.loc[inside].drop_duplicates("row", keep="first")
    hit[m["row"].to_numpy()] = True
    flag[m["row"].to_numpy()] = m["flag"].to_numpy()
    return hit, flag


def _count(counts: dict, examples: dict, reason: str, rows: np.ndarray, flag_of: np.ndarray,
           ids: np.ndarray) -> None:
    if not rows.any():
        return
    names, n = np.unique(flag_of[rows].astype(str), return_counts=True)
    for name, k in zip(names, n, strict=True):
        counts[reason][str(name)] = counts[reason].get(str(name), 0) + int(k)
    examples[reason] += [str(i) for i in pd.unique(ids[rows])[:5]]


def _report(report: ValidationReport, counts: dict, examples: dict, source: str) -> None:
    text = {FLAGGED_USER: "labels of flagged users", ITEM_UNAVAILABLE: "labels of items unavailable for the "
                                                                        "whole window"}
    for reason, by_flag in counts.items():
        if by_flag:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(by_flag.items()))
            report.add(reason, "info", sum(by_flag.values()), examples[reason][:5],
                       f"{source}: {text[reason]} are excluded (missing, not 0) — {detail}",
                       "nothing to do if the flags are right; they are left out of every readout", "flag",
                       unit="labels")

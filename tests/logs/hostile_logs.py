"""Hostile decision logs and the frozen result of reading them (the reader's behaviour, pinned).

Each case is ``name -> (source builder, read_decision_log keyword arguments)``. ``freeze(dir)`` writes, per
case, the log's request and candidate frames, the quarantined rows (Parquet) and a JSON record of the column
dtypes, offsets, outcome columns, counts and issues. The files in ``tests/logs/frozen_reader/`` were written by
the reader before its fast paths existed (``python tests/logs/hostile_logs.py``); they are never rewritten to
follow the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FROZEN = Path(__file__).resolve().parent / "frozen_reader"
AS_OF = "2026-07-01T00:00:00Z"


def _grouped(n_req: int, seed: int) -> pd.DataFrame:
    """A clean long log grouped by request: 2-7 candidates, slates of up to 3, text timestamps."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 8, n_req)
    req = np.repeat(np.arange(n_req), sizes)
    rank = np.concatenate([np.arange(s) for s in sizes])
    shown = rank < 3
    n = len(req)
    t = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400 * 20, n_req), unit="s")
    return pd.DataFrame({
        "request_id": np.char.add("r", req.astype(str)),
        "decision_time": t.strftime("%Y-%m-%dT%H:%M:%SZ")[req],
        "user_id": np.char.add("u", (req % 37).astype(str)),
        "surface": np.where(req % 3 == 0, "search", "home"),
        "ranking_policy_version": "v1",
        "item_id": np.char.add("i", rng.integers(0, 400, n).astype(str)),
        "shown": shown,
        "position": np.where(shown, rank + 1.0, np.nan),
        "score": rng.normal(size=n),
        "propensity": np.where(shown, rng.uniform(0.05, 0.3, n), np.nan),
        "pred_new": rng.normal(size=n),
        "click": np.where(shown, (rng.random(n) < 0.3).astype(float), np.nan),
    })


def _corrupt(frame: pd.DataFrame, seed: int, drop_ids: bool = True) -> pd.DataFrame:
    """Every quarantine reason and warning a few times, in place of valid values (``drop_ids=False``: every row
    keeps its request id, so that a grouped log stays grouped)."""
    rng = np.random.default_rng(seed)
    f = frame.astype({"shown": object, "position": object, "click": object, "decision_time": object,
                      "user_id": object, "item_id": object, "request_id": object})
    n = len(f)
    pick = lambda k: rng.choice(n, k, replace=False)  # noqa: E731
    f.loc[pick(4) if drop_ids else [], "request_id"] = None
    f.loc[pick(4), "item_id"] = None
    f.loc[pick(3), "decision_time"] = "not a time"
    f.loc[pick(2), "decision_time"] = "2999-01-01T00:00:00Z"
    f.loc[pick(3), "user_id"] = None
    f.loc[pick(3), "shown"] = "maybe"
    f.loc[pick(3), "position"] = "x"
    f.loc[pick(3), "position"] = 0.5
    f.loc[pick(3), "click"] = "abc"
    f.loc[pick(2), "click"] = np.inf
    dup = pick(5)
    f.loc[dup, "item_id"] = f.loc[np.maximum(dup - 1, 0), "item_id"].to_numpy()
    f.loc[pick(3), "ranking_policy_version"] = "v2"
    f.loc[pick(2), "surface"] = "other"
    shown = np.flatnonzero(frame["shown"].to_numpy())
    unshown = np.flatnonzero(~frame["shown"].to_numpy())
    some = lambda rows, k: rng.choice(rows, k, replace=False)  # noqa: E731
    f.loc[some(shown, 3), "propensity"] = 0.99
    f.loc[some(shown, 2), "propensity"] = 0.0
    f.loc[some(shown, 2), "position"] = None
    second = shown[frame["position"].to_numpy()[shown] == 2]
    f.loc[some(second, 2), "position"] = 1.0
    f.loc[some(unshown, 3), "click"] = 1.0
    extra = some(unshown, 2)
    f.loc[extra, "position"], f.loc[extra, "propensity"] = 1.0, 0.95
    f["eligible"] = np.where(rng.random(n) < 0.01, "no", "yes")
    f.loc[pick(2), "eligible"] = "perhaps"
    f["slate_propensity"] = 0.01
    first = np.flatnonzero(~f["request_id"].duplicated().to_numpy())
    f.loc[f["request_id"].isin(f.loc[some(first, 2), "request_id"]), "slate_propensity"] = 1.5
    empty = f.iloc[:1].copy()
    empty[["item_id", "shown", "position", "propensity", "click", "score", "pred_new"]] = None
    empty["request_id"] = "r_empty"
    return pd.concat([f, empty], ignore_index=True)


def _mixed_types() -> pd.DataFrame:
    """Integer and text ids in one column, numbers as text, a request logged without candidates."""
    return pd.DataFrame({
        "request_id": [1, 1, "1", 2, 2, 3, 4, 4, 5],
        "decision_time": ["2026-06-01T10:00:00Z"] * 5 + ["2026-06-01T10:00:00+02:00"] * 2
        + ["2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z"],
        "item_id": ["a", 7, "7", "a", "a", None, "b", 3.0, "c"],
        "shown": ["true", "0", "yes", True, False, None, "1", "n", "TRUE"],
        "position": ["1", None, 2, 1, None, None, 1, None, "1"],
        "propensity": [0.5, None, "0.2", 0.3, None, None, 0.4, None, 0.6],
        "click": [1, None, "0", 0.0, None, None, 1, None, 0],
    })


def _typed_corrupt(n_req: int, seed: int, drop_ids: bool = True) -> pd.DataFrame:
    """Problems that keep each column's type (as in a Parquet export): grouped by request, typed timestamps."""
    rng = np.random.default_rng(seed)
    f = _grouped(n_req, seed)
    f["decision_time"] = pd.to_datetime(f["decision_time"], utc=True)
    n = len(f)
    pick = lambda k: rng.choice(n, k, replace=False)  # noqa: E731
    f.loc[pick(3) if drop_ids else [], "request_id"] = None
    f.loc[pick(3), "item_id"] = None
    dup = pick(6)
    f.loc[dup, "item_id"] = f.loc[np.maximum(dup - 1, 0), "item_id"].to_numpy()
    f.loc[pick(2), "decision_time"] = pd.Timestamp("2999-01-01", tz="UTC")
    f.loc[pick(2), "decision_time"] = pd.NaT
    f.loc[pick(3), "user_id"] = None
    f.loc[pick(2), "surface"] = "other"
    f.loc[pick(3), "position"] = 0.5
    f.loc[pick(2), "click"] = np.inf
    shown = np.flatnonzero(f["shown"].to_numpy())
    f.loc[rng.choice(shown, 2), "propensity"] = np.nan
    f.loc[rng.choice(np.flatnonzero(~f["shown"].to_numpy()), 2), "click"] = 0.0
    return f


def _parquet(build, name: str):
    def path() -> Path:
        import tempfile

        out = Path(tempfile.mkdtemp()) / f"{name}.parquet"
        build().to_parquet(out, index=False, row_group_size=97)
        return out
    return path


def _dataframe(build):
    return lambda: build()


CASES: dict[str, tuple] = {
    "grouped_clean": (_dataframe(lambda: _grouped(300, 1)), {"require_propensity": True}),
    "grouped_corrupt": (_dataframe(lambda: _corrupt(_grouped(300, 2), 3)), {"require_propensity": True}),
    "shuffled_corrupt": (_dataframe(lambda: _corrupt(_grouped(300, 4), 5).sample(frac=1, random_state=6)
                                    .reset_index(drop=True)), {}),
    "interleaved_clean": (_dataframe(lambda: _grouped(120, 7).sample(frac=1, random_state=8)
                                     .reset_index(drop=True)), {"require_propensity": True}),
    "mixed_types": (_dataframe(_mixed_types), {"allow_empty": True}),
    "unit_and_max_position": (_dataframe(lambda: _corrupt(_grouped(200, 9), 10)),
                              {"unit_column": "user_id", "max_position": 2, "full_candidate_set": False}),
    "parquet_corrupt": (_parquet(lambda: _typed_corrupt(400, 11), "corrupt"), {"require_propensity": True}),
    "parquet_shuffled": (_parquet(lambda: _typed_corrupt(200, 12).sample(frac=1, random_state=13), "shuffled"),
                         {}),
    "parquet_clean": (_parquet(lambda: _grouped(500, 14).drop_duplicates(["request_id", "item_id"]), "clean"),
                      {"require_propensity": True}),
    "grouped_corrupt_ids": (_dataframe(lambda: _corrupt(_grouped(300, 15), 16, drop_ids=False)),
                            {"require_propensity": True}),
    "parquet_corrupt_ids": (_parquet(lambda: _typed_corrupt(400, 17, drop_ids=False), "corrupt_ids"), {}),
    "parquet_max_position": (_parquet(lambda: _typed_corrupt(300, 18, drop_ids=False), "max_position"),
                             {"unit_column": "user_id", "max_position": 2}),
    "dirty_csv": (lambda: ROOT / "decision_logs" / "sample_dirty.csv", {}),
}


def make_clean_parquet(path: Path) -> Path:
    """A clean grouped log with typed columns (the layout of the read benchmark), written to ``path``."""
    f = _grouped(500, 14).drop_duplicates(["request_id", "item_id"])
    f["decision_time"] = pd.to_datetime(f["decision_time"], utc=True)
    f.drop(columns=["pred_new"]).to_parquet(path, index=False, row_group_size=301)
    return path


def read_case(name: str):
    from recsys_causal import read_decision_log

    build, kwargs = CASES[name]
    return read_decision_log(build(), as_of=AS_OF, **kwargs)


def record(log, report) -> dict:
    """The JSON-able part of a read: dtypes, offsets, outcome columns, counts and issues."""
    return {
        "request_dtypes": {c: str(t) for c, t in log.requests.dtypes.items()},
        "candidate_dtypes": {c: str(t) for c, t in log.candidates.dtypes.items()},
        "quarantine_dtypes": {c: str(t) for c, t in report.quarantine.dtypes.items()},
        "offsets": log.offsets.tolist(),
        "reward_columns": list(log.reward_columns),
        "counts": [report.n_requests_read, report.n_requests_used, report.n_rows_read, report.n_rows_used],
        "quarantine_counts": report.quarantine_counts,
        "issues": report.to_frame().astype(object).fillna("").astype(str).to_dict(orient="records"),
    }


def freeze(out: Path = FROZEN, names=None) -> None:
    out.mkdir(exist_ok=True)
    for name in names or CASES:
        log, report = read_case(name)
        log.requests.to_parquet(out / f"{name}.requests.parquet")
        log.candidates.to_parquet(out / f"{name}.candidates.parquet")
        report.quarantine.astype(str).to_parquet(out / f"{name}.quarantine.parquet")
        (out / f"{name}.json").write_text(json.dumps(record(log, report), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # python tests/logs/hostile_logs.py [reader root] [case ...]
    sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(ROOT))
    freeze(names=sys.argv[2:])

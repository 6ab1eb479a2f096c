"""The grouped-log kernels agree with the general path (pd.factorize, brute force over Python sets) on random
logs, slices cut anywhere, missing values; validation of a clean grouped log copies no candidate column."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from recsys_causal.logs import grouped
from recsys_causal.logs.validation import validate_long_frame


def _grouped_ids(rng, n_req, max_size=6):
    sizes = rng.integers(1, max_size + 1, n_req)
    codes = np.repeat(np.arange(n_req), sizes)
    ids = np.char.add("r", rng.permutation(n_req * 3)[:n_req].astype(str))[codes]
    return codes, pd.Series(ids, dtype="str")


@pytest.mark.parametrize("seed", range(5))
def test_run_codes_equal_factorize_or_refuse(seed):
    rng = np.random.default_rng(seed)
    codes, ids = _grouped_ids(rng, 200)
    got = grouped.run_codes(ids)
    want_codes, want_uniques = pd.factorize(ids.astype("string"), use_na_sentinel=True)
    assert got is not None
    assert got[0].tolist() == want_codes.tolist() == codes.tolist()
    assert got[1].tolist() == list(want_uniques)
    split = pd.concat([ids, ids.iloc[:3]], ignore_index=True)  # a request id in two runs
    assert grouped.run_codes(split) is None
    missing = ids.copy()
    missing.iloc[5] = None
    assert grouped.run_codes(missing) is None
    assert grouped.run_codes(ids.astype(object)) is None  # not Arrow-backed: the general path


@pytest.mark.parametrize(("seed", "slice_rows"), [(0, 1), (1, 5), (2, 17), (3, 65_536)])
def test_duplicate_requests_equal_brute_force(monkeypatch, seed, slice_rows):
    monkeypatch.setattr(grouped, "SLICE_ROWS", slice_rows)
    rng = np.random.default_rng(seed)
    codes, _ = _grouped_ids(rng, 300, max_size=8)
    items = np.char.add("i", rng.integers(0, 40, len(codes)).astype(str)).astype(object)
    items[rng.random(len(codes)) < 0.05] = None
    col = pd.Series(items, dtype="string")
    got = grouped.duplicate_requests(codes, grouped.arrow_strings(col), 300)
    want = np.zeros(300, dtype=bool)
    for r in range(300):
        seen = Counter(v for v in items[codes == r] if v is not None)
        want[r] = any(c > 1 for c in seen.values())
    assert want.any() and not want.all()
    assert got.tolist() == want.tolist()


def _differs_by_factorize(values, codes, n_req):
    v = pd.factorize(values, use_na_sentinel=True)[0]
    first = np.unique(codes, return_index=True)[1]
    hit = np.zeros(n_req, dtype=bool)
    hit[codes[v != v[first[codes]]]] = True
    return hit


@pytest.mark.parametrize("kind", ["string", "category", "datetime", "float", "int", "bool"])
def test_differs_within_equals_factorize(kind):
    rng = np.random.default_rng(7)
    codes, _ = _grouped_ids(rng, 400)
    n = len(codes)
    base = rng.integers(0, 3, 400)[codes]
    flip = rng.random(n) < 0.02
    raw = np.where(flip, base + 1, base)
    if kind in ("string", "category"):
        v = np.char.add("u", raw.astype(str)).astype(object)
        v[rng.random(n) < 0.03] = None
        values = pd.Series(v, dtype="str" if kind == "string" else "category")
    elif kind == "datetime":
        values = pd.Series(pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(raw, unit="s"))
        values[rng.random(n) < 0.03] = pd.NaT
    elif kind == "float":
        values = pd.Series(np.where(rng.random(n) < 0.03, np.nan, raw.astype(float)))
    else:
        values = pd.Series(raw if kind == "int" else raw > 0)
    got = grouped.differs_within(values, codes, 400)
    want = _differs_by_factorize(values, codes, 400)
    assert want.any() and not want.all()
    assert got.tolist() == want.tolist()
    assert grouped.differs_within(values.astype(object), codes, 400) is None


def test_duplicated_pairs_equal_counting():
    rng = np.random.default_rng(3)
    a, b = rng.integers(-1, 30, 2000), rng.integers(-1, 12, 2000)
    counts = Counter(zip(a.tolist(), b.tolist(), strict=True))
    want = [counts[(x, y)] > 1 for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    assert grouped.duplicated_pairs(a, b).tolist() == want


def test_clean_grouped_log_shares_the_frame_columns_and_leaves_the_input_alone():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "request_id": pd.Series(np.repeat([f"r{i}" for i in range(20)], 3), dtype="str"),
        "decision_time": pd.Timestamp("2026-01-01", tz="UTC"),
        "item_id": pd.Series(np.tile(["a", "b", "c"], 20), dtype="str"),
        "shown": np.tile([True, False, False], 20), "position": np.tile([1.0, np.nan, np.nan], 20),
        "score": rng.normal(size=n), "click": np.tile([1.0, np.nan, np.nan], 20)})
    before = frame.copy(deep=True)
    log, report = validate_long_frame(frame, options=None)
    assert report.n_requests_used == 20 and log.offsets.tolist() == list(range(0, 61, 3))
    for col in ("score", "position", "click"):
        assert np.shares_memory(log.candidates[col].to_numpy(), frame[col].to_numpy()), col
    pd.testing.assert_frame_equal(frame, before)


def test_propensity_above_one_on_single_slots_is_flagged_like_a_sum():
    """Shown slots hold one candidate each, so the per-(request, position) sum is the propensity itself; with and
    without an unshown candidate sharing a position (the summing path) the same requests are quarantined."""
    frame = pd.DataFrame({
        "request_id": pd.Series(np.repeat(["r0", "r1", "r2", "r3"], 2), dtype="str"),
        "decision_time": pd.Timestamp("2026-01-01", tz="UTC"),
        "item_id": pd.Series(np.tile(["a", "b"], 4), dtype="str"),
        "shown": np.tile([True, False], 4), "position": np.tile([1.0, np.nan], 4),
        "propensity": [0.5, np.nan, 1.0 + 1e-6, np.nan, 1.0 + 3e-6, np.nan, 0.7, np.nan]})
    _, report = validate_long_frame(frame)
    assert report.quarantine_counts == {"propensity_sum_exceeds_one": 1}
    assert report.issue("propensity_sum_exceeds_one").examples == ("r2",)
    summed = frame.copy()
    summed.loc[7, ["position", "propensity"]] = [1.0, 0.4]  # r3: 0.7 + 0.4 at position 1
    _, report = validate_long_frame(summed)
    assert report.quarantine_counts == {"propensity_sum_exceeds_one": 2}
    assert report.issue("propensity_sum_exceeds_one").examples == ("r2", "r3")


@pytest.mark.parametrize("shuffle", [False, True])
def test_position_beyond_the_candidate_count_equals_brute_force(shuffle):
    from recsys_causal.logs.rules import position_out_of_range

    rng = np.random.default_rng(11)
    codes, _ = _grouped_ids(rng, 300, max_size=5)
    order = rng.permutation(len(codes)) if shuffle else np.arange(len(codes))
    codes = codes[order]
    position = rng.integers(1, 7, len(codes)).astype(float)
    position[rng.random(len(codes)) < 0.2] = np.nan
    shown = rng.random(len(codes)) < 0.6
    got = position_out_of_range(position, shown, codes, full_candidate_set=True, max_position=None)
    size = Counter(codes.tolist())
    want = [bool(s and p == p and p > size[r]) for r, p, s in zip(codes.tolist(), position, shown, strict=True)]
    assert any(want) and got.tolist() == want

"""Implicit target policies (recsys_causal.ope.position_probs) against the dense arrays they replace.

Every reference below is computed independently of the implicit tables: the top-k ranking by a per-request
Python sort, the dense arrays by the dense constructors (Plackett–Luce marginals, uniform marginals, their
ε-mixture) and the per-request sums by ``DecisionLog.per_request_sum`` on those arrays — the arithmetic of the
former dense path, so equality is asserted bit for bit.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DecisionLog, simulate_decision_log
from recsys_causal.ope import TargetPolicy, evaluate_policies, policies
from recsys_causal.ope.position_probs import DenseProbs, PositionProbs, RankedProbs
from recsys_causal.plackett_luce import plackett_luce_marginals, uniform_slate_marginals


@pytest.fixture(scope="module")
def sim():
    return simulate_decision_log(n_requests=400, n_candidates=(1, 9), slate_size=3, ineligible_share=0.2, seed=4)


def _top_k_reference(log, score, k):
    """Dense top-k by sorting each request's eligible candidates in Python (ties: earlier row first)."""
    s, elig = log.column(score), log.column("eligible").astype(bool)
    out = np.zeros((log.n_candidates, k))
    for r in range(log.n_requests):
        lo, hi = log.offsets[r], log.offsets[r + 1]
        rows = sorted((i for i in range(lo, hi) if elig[i]), key=lambda i: (-s[i], i))
        for pos, i in enumerate(rows[:k]):
            out[i, pos] = 1.0
    return out


def _dense_reference(log, kind, k):
    s, elig = log.column("pred_new"), log.column("eligible").astype(bool)
    if kind == "top_k":
        return _top_k_reference(log, "pred_new", k)
    if kind == "softmax":
        return plackett_luce_marginals(s, log.offsets, k, 0.7, eligible=elig, n_samples=60, seed=3)
    uni = uniform_slate_marginals(log.offsets, k, elig)
    if kind == "uniform":
        return uni
    base = _dense_reference(log, kind.split("+")[0], k)
    return 0.9 * base + 0.1 * uni


def _policy(log, kind, k):
    if kind == "top_k":
        return policies.top_k(log, "pred_new", k)
    if kind == "softmax":
        return policies.softmax(log, "pred_new", k, temperature=0.7, n_samples=60, seed=3)
    if kind == "uniform":
        return policies.uniform(log, k)
    return policies.epsilon_greedy(log, _policy(log, kind.split("+")[0], k), 0.1)


CASES = [(kind, k) for kind in ("top_k", "softmax", "uniform", "top_k+eps", "softmax+eps") for k in (1, 3, 5)]


@pytest.fixture(params=["one pass", "small chunks"])
def chunking(request, monkeypatch):
    """Run once as shipped and once with tiny chunks and no kept Plackett–Luce array (many chunked passes)."""
    if request.param == "small chunks":
        from recsys_causal import plackett_luce
        from recsys_causal.ope import position_probs, request_sums

        monkeypatch.setattr(request_sums, "CHUNK_CELLS", 64)
        monkeypatch.setattr(position_probs, "CACHE_CELLS", 0)
        monkeypatch.setattr(position_probs, "KEEP_ONE_POSITION", False)
        monkeypatch.setattr(plackett_luce, "_CHUNK_CELLS", 64)
    return request.param


@pytest.mark.parametrize(("kind", "k"), CASES)
def test_implicit_tables_give_the_dense_numbers_bit_for_bit(sim, kind, k, chunking):
    log = sim.log
    dense = _dense_reference(log, kind, k)
    pol = _policy(log, kind, k)
    table, off = pol.table, log.offsets
    assert not isinstance(pol.table, DenseProbs)  # implicit, not a stored array
    assert np.array_equal(pol.probs, dense)
    rows = np.nonzero(log.shown & (log.position <= k))[0]
    req, pos = log.request_index[rows], log.position[rows].astype(np.int64) - 1
    assert np.array_equal(table.at(off, rows, req, pos), dense[rows, pos])
    old_sums = np.stack([log.per_request_sum(dense[:, j]) for j in range(k)], axis=1)
    assert np.array_equal(table.position_sums(off), old_sums)
    q = np.random.default_rng(1).uniform(size=(log.n_candidates, 2))
    old_q = np.stack([log.per_request_sum(dense[:, j] * q[:, min(j, 1)]) for j in range(k)], axis=1)
    assert np.array_equal(table.weighted_sums(off, q), old_q)
    old_q1 = np.stack([log.per_request_sum(dense[:, j] * q[:, 0]) for j in range(k)], axis=1)
    assert np.array_equal(table.weighted_sums(off, q[:, 0]), old_q1)
    mask = np.arange(log.n_requests) % 3 != 1
    sub = pol.select(log, mask)
    assert np.array_equal(sub.probs, dense[mask[log.request_index]])


def test_top_k_breaks_ties_by_row_and_skips_ineligible(sim):
    log = sim.log
    log.candidates["pred_tie"] = np.round(log.column("pred_new"), 0)  # many ties within requests
    try:
        assert np.array_equal(policies.top_k(log, "pred_tie", 4).probs, _top_k_reference(log, "pred_tie", 4))
    finally:
        del log.candidates["pred_tie"]


@pytest.mark.parametrize("k", [1, 4, 8, 9])
def test_top_k_on_a_regular_layout_matches_the_python_sort(k):
    log = simulate_decision_log(n_requests=300, n_candidates=8, slate_size=3, ineligible_share=0.3, seed=5).log
    log.candidates["pred_tie"] = np.round(2 * log.column("pred_new"), 0)
    assert np.array_equal(policies.top_k(log, "pred_tie", k).probs, _top_k_reference(log, "pred_tie", k))
    assert np.array_equal(policies.top_k(log, "pred_new", k).probs, _top_k_reference(log, "pred_new", k))


def _slate_log():
    return simulate_decision_log(n_requests=1500, n_candidates=8, slate_size=3, click_model="cascade",
                                 log_prefix_propensity=True, seed=11).log


@pytest.mark.parametrize("kind", ["top_k", "softmax+eps"])
def test_ranking_evaluation_equals_the_dense_policy(kind):
    log = _slate_log()
    pol = _policy(log, kind, 3)
    dense = TargetPolicy(pol.name, pol.probs, pol.deterministic)
    ests = ["PI-IPS", "SN-PI-IPS", "RIPS (cascade)", "PI (pseudo-inverse)", "cascade-DR"]
    ests += ["slate IPS"] if pol.deterministic else []
    kw = {"rewards": ["click"], "estimators": ests, "mode": "ranking", "reward_model": "pred_new"}
    a = evaluate_policies(log, {"p": pol}, **kw)
    b = evaluate_policies(log, {"p": dense}, **kw)
    fa, fb = a.to_frame(), b.to_frame()
    for col in ("value", "se", "ci_low", "ci_high"):
        assert np.array_equal(fa[col].to_numpy(), fb[col].to_numpy(), equal_nan=True), col
    sa, sb = a.support_frame(), b.support_frame()
    assert sa.drop(columns=["unlogged_slate_mass"]).equals(sb.drop(columns=["unlogged_slate_mass"]))


def test_ranking_mode_and_gate_never_build_a_dense_policy(monkeypatch):
    from recsys_causal.gate import screen

    log = _slate_log()
    pol = policies.top_k(log, "pred_new", 3, name="top")

    def refuse(*_a, **_k):
        raise AssertionError("a dense (candidates × positions) array was built")

    monkeypatch.setattr(PositionProbs, "dense", refuse)
    monkeypatch.setattr(RankedProbs, "dense", refuse)
    monkeypatch.setattr(PositionProbs, "blocks", refuse)
    monkeypatch.setattr(RankedProbs, "blocks", refuse)
    res = evaluate_policies(log, {"top": pol}, rewards=["click"], mode="ranking", reward_model="pred_new",
                            estimators=["PI-IPS", "SN-PI-IPS", "RIPS (cascade)", "slate IPS", "cascade-DR"])
    assert len(res.estimates) > 5
    out = screen(log, {"top": pol}, primary="click", mode="ranking", relative=False)
    assert out.candidates[0].mode == "ranking"


# Share of target mass on slates never logged (#18): three candidates a, b, c with Plackett–Luce weights 1, 2, 1
# (scores log w); slates of 2. The logged slates of the three request types are (b, a), (a, b) and (c, b).
WEIGHTS = {"a": 1.0, "b": 2.0, "c": 1.0}
LOGGED = [("b", "a"), ("a", "b"), ("c", "b")]


def _enumerated(slate, weights):
    """P(first two positions = slate) by summing the probability of every full ranking that starts with it."""
    total = 0.0
    for perm in permutations(weights):
        left, p = sum(weights.values()), 1.0
        for item in perm:
            p *= weights[item] / left
            left -= weights[item]
        total += p if perm[:2] == slate else 0.0
    return total


def _tiny_log(repeat=20):
    req, cand = [], []
    for n in range(repeat):
        for t, slate in enumerate(LOGGED):
            rid = f"r{n}_{t}"
            req.append({"request_id": rid, "decision_time": pd.Timestamp("2026-06-01", tz="UTC")})
            for item, w in WEIGHTS.items():
                shown = item in slate
                cand.append({"request_id": rid, "item_id": item, "shown": shown,
                             "position": float(slate.index(item) + 1) if shown else np.nan,
                             "propensity": 0.5 if shown else np.nan, "pred_new": np.log(w),
                             "click": float((n + t) % 3 == 0) if shown else np.nan})
    return DecisionLog.from_frames(pd.DataFrame(req), pd.DataFrame(cand), reward_columns=("click",))


def _pi_by_hand(kind):
    top = ("b", "a")  # highest weight first, the tie a / c broken by row order
    uni = [_enumerated(s, {"a": 1.0, "b": 1.0, "c": 1.0}) for s in LOGGED]  # 1/6 each
    if kind == "softmax":
        return np.array([_enumerated(s, WEIGHTS) for s in LOGGED])
    if kind == "uniform":
        return np.array(uni)
    det = np.array([float(s == top) for s in LOGGED])
    return det if kind == "top_k" else 0.9 * det + 0.1 * np.array(uni)


@pytest.mark.parametrize("kind", ["top_k", "softmax", "uniform", "top_k+eps"])
def test_mass_on_slates_never_logged_by_enumeration(kind):
    log = _tiny_log()
    pol = _policy(log, kind, 2) if kind != "softmax" else policies.softmax(log, "pred_new", 2, temperature=1.0)
    pi = np.tile(_pi_by_hand(kind), 20)
    assert kind != "softmax" or np.allclose(_pi_by_hand(kind), [0.25, 1 / 6, 1 / 6], rtol=0, atol=1e-15)
    res = evaluate_policies(log, {"p": pol}, rewards=["click"], mode="ranking", estimators=["PI-IPS"])
    row = res.support_frame().iloc[0]
    assert row["unlogged_slate_mass"] == pytest.approx(np.mean(1 - pi), rel=1e-12, abs=1e-15)
    assert row["slates_never_logged"] == int(np.sum(pi == 0))


def test_gate_support_shows_the_mass_on_slates_never_logged():
    from recsys_causal.gate import screen

    log = _tiny_log()
    res = screen(log, {"top": policies.top_k(log, "pred_new", 2)}, primary="click", mode="ranking",
                 relative=False, cross_check=[])
    support = res.to_dict()["candidates"][0]["support"]
    assert support["unlogged_slate_mass"] == pytest.approx(2 / 3, rel=1e-12)  # 2 of 3 logged slates differ
    assert support["slates_never_logged"] == 40
    assert "target mass on slates never logged: 66.7% (requests whose logged slate the target never shows: 40)" \
        in res.to_markdown()
    assert "Target mass on slates never logged: 0.6667" in res.to_html()
    top_slot = screen(log, {"top": policies.top_k(log, "pred_new", 2)}, primary="click", relative=False)
    assert "unlogged_slate_mass" not in top_slot.to_dict()["candidates"][0]["support"]


def test_softmax_beyond_the_candidate_count_fills_only_what_exists():
    """Five positions over requests of three candidates (Monte Carlo marginals): formerly an IndexError. Each
    candidate appears once in every sampled ranking, so its marginals over positions 1–3 sum to exactly 1, and
    positions 4–5 stay empty."""
    log = simulate_decision_log(n_requests=20, n_candidates=3, slate_size=2, ineligible_share=0.0, seed=2).log
    P = policies.softmax(log, "pred_new", 5, n_samples=50).probs
    assert np.array_equal(P[:, 3:], np.zeros((log.n_candidates, 2)))
    assert np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_a_one_dimensional_array_is_refused_with_the_fix(sim):
    from recsys_causal.errors import SchemaError

    with pytest.raises(SchemaError, match=r"expected \(candidates, positions\)"):
        evaluate_policies(sim.log, {"flat": np.full(sim.log.n_candidates, 0.1)}, rewards=["click"])


def test_product_sums_in_chunks_equal_the_full_product_bit_for_bit(monkeypatch):
    """Chunks of whole requests in one reused buffer (including a request larger than the buffer and empty
    requests) give the per-request sums of the full product, as ``DecisionLog.per_request_sum`` adds them."""
    from recsys_causal.ope import request_sums

    rng = np.random.default_rng(7)
    sizes = np.array([3, 0, 40, 1, 0, 7, 12, 0, 2] * 5)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    a, b = rng.normal(size=offsets[-1]), rng.uniform(size=offsets[-1])
    by_hand = np.array([sum(a[lo:hi] * b[lo:hi]) for lo, hi in zip(offsets[:-1], offsets[1:], strict=True)])
    full = request_sums.segment_sums(a * b, offsets)  # the former path: one full-size product
    assert np.allclose(full, by_hand, rtol=1e-13, atol=1e-13)
    monkeypatch.setattr(request_sums, "CHUNK_CELLS", 16)  # smaller than the largest request (40 rows)
    assert np.array_equal(request_sums.product_sums(a, b, offsets), full)
    assert np.array_equal(request_sums.product_sums(a, None, offsets), request_sums.segment_sums(a, offsets))

"""The vectorised clustering (ccnce.clustering) against the plain-Python reference of the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_clustering as ref
from ccnce.clustering import (
    GlobalBank,
    OnlineClustering,
    ThresholdEstimator,
    batch_clustering,
    global_clustering,
    random_members,
    similarity,
)


class FixedThreshold:
    """Stands in for the estimator where a test wants a known threshold."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.mu_hat, self.sigma_hat = threshold, 0.0

    def observe(self, S, epoch):
        pass


def integer_windows(draw, n: int, d: int) -> list[list[float]]:
    return [[float(draw(st.integers(-3, 3))) for _ in range(d)] for _ in range(n)]


@st.composite
def batches(draw, max_n: int = 12):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, 5))
    y = integer_windows(draw, n, d)
    threshold = draw(st.integers(-10, 15)) + 0.5 * draw(st.integers(0, 1))
    first = draw(st.integers(0, n - 1))
    return y, threshold, first


# ---------------------------------------------------------------------------------------- Algorithm 1
@settings(max_examples=150, deadline=None)
@given(batches())
def test_batch_clustering_matches_reference(case):
    y, threshold, first = case
    Y = torch.tensor(y, dtype=torch.float64)  # integer windows: dot products are exact in both
    ours = batch_clustering(similarity(Y, Y), threshold, first)
    clusters, anchors = ref.batch_clustering(y, threshold, first)
    expected = np.empty(len(y), dtype=np.int64)
    for c, members in enumerate(clusters):
        expected[members] = c
    assert ours.anchors.tolist() == anchors
    assert ours.assignment.tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.floats(-1.0, 1.0), st.integers(0, 2 ** 31 - 1))
def test_batch_clustering_invariants(n, quantile_shift, seed):
    g = torch.Generator().manual_seed(seed)
    Y = torch.randn(n, 7, generator=g)
    S = similarity(Y, Y)
    threshold = float(S.mean() + quantile_shift * S.std()) if n > 1 else 0.0
    first = int(torch.randint(n, (1,), generator=g))
    bc = batch_clustering(S, threshold, first)
    # every sample in exactly one cluster, every cluster non-empty and holding its anchor
    assert bc.assignment.min() >= 0 and bc.sizes().sum() == n and bool((bc.sizes() > 0).all())
    assert bc.anchors[0] == first
    assert bc.assignment[bc.anchors].tolist() == list(range(bc.n))
    for c in range(bc.n):
        a = int(bc.anchors[c])
        members = (bc.assignment == c).nonzero().squeeze(1)
        others = members[members != a]
        assert bool((S[a, others] >= threshold).all())
        if c + 1 < bc.n:
            # the next anchor is the least similar to this anchor among the still unassigned samples
            remaining = (bc.assignment > c).nonzero().squeeze(1)
            nxt = int(bc.anchors[c + 1])
            assert S[a, nxt] == S[a, remaining].min()
            # and an unassigned sample never was similar enough to join this cluster
            assert bool((S[a, remaining] < threshold).all())


def test_batch_clustering_separates_structured_groups():
    protos = torch.eye(4) * 10
    Y = protos[[0, 1, 0, 2, 3, 1, 0]] + 0.1
    bc = batch_clustering(similarity(Y, Y), 50.0, first_anchor=0)
    groups = {tuple((bc.assignment == c).nonzero().squeeze(1).tolist()) for c in range(bc.n)}
    assert groups == {(0, 2, 6), (1, 5), (3,), (4,)}


def test_random_members_belong_to_their_cluster():
    assignment = torch.tensor([2, 0, 2, 1, 0, 2])
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(50):
        reps = random_members(assignment, 3, g)
        assert assignment[reps].tolist() == [0, 1, 2]
        seen.add(int(reps[2]))
    assert seen == {0, 2, 5}  # uniform choice reaches every member


# ---------------------------------------------------------------------------------------- Algorithm 2
@settings(max_examples=100, deadline=None)
@given(st.data())
def test_global_clustering_decisions_match_reference(data):
    d = data.draw(st.integers(1, 4))
    n_global = data.draw(st.integers(0, 5))
    n_batch = data.draw(st.integers(1, 5))
    threshold = data.draw(st.integers(-5, 10)) + 0.5
    global_reps = integer_windows(data.draw, n_global, d)
    batch_reps = integer_windows(data.draw, n_batch, d)
    capacity = n_global + n_batch
    # reference: each global cluster holds just its representative, each batch cluster just its own
    global_d = [[w] for w in global_reps]
    targets = ref.global_clustering([[i] for i in range(n_batch)], batch_reps, global_d, threshold,
                                    list(range(n_batch)), [0] * n_global)
    G = torch.zeros(capacity, d, dtype=torch.float64)
    if n_global:
        G[:n_global] = torch.tensor(global_reps, dtype=torch.float64)
    B = torch.tensor(batch_reps, dtype=torch.float64)
    active = torch.arange(capacity) < n_global
    decision = global_clustering(similarity(B, G), similarity(B, B), active, torch.zeros(capacity, dtype=torch.long),
                                 threshold)
    assert decision.rows.tolist() == targets
    assert decision.created.tolist() == [t >= n_global and t not in targets[:i] for i, t in enumerate(targets)]


def test_merge_goes_to_most_similar_global_cluster_above_threshold():
    protos = torch.eye(3) * 10
    active = torch.tensor([True, True, True, False])
    G = torch.cat([protos, torch.zeros(1, 3)])
    B = torch.stack([protos[2] + 0.5, protos[0] * 0.9, torch.ones(3)])
    decision = global_clustering(similarity(B, G), similarity(B, B), active, torch.zeros(4, dtype=torch.long), 50.0)
    assert decision.rows.tolist() == [2, 0, 3]
    assert decision.created.tolist() == [False, False, True]


def test_later_batch_cluster_can_merge_into_cluster_created_by_this_batch():
    B = torch.tensor([[10.0, 0.0], [9.0, 1.0]])
    active = torch.zeros(3, dtype=torch.bool)
    decision = global_clustering(B.new_full((2, 3), -math.inf), similarity(B, B), active,
                                 torch.zeros(3, dtype=torch.long), 50.0)
    assert decision.rows.tolist() == [0, 0]
    assert decision.created.tolist() == [True, False]


def test_full_bank_evicts_least_recently_updated_cluster():
    B = torch.tensor([[0.0, 10.0]])
    S_global = torch.tensor([[1.0, 2.0, 3.0]])
    active = torch.ones(3, dtype=torch.bool)
    decision = global_clustering(S_global, similarity(B, B), active, torch.tensor([5, 2, 7]), 50.0)
    assert decision.rows.tolist() == [1] and decision.created.tolist() == [True]


def test_no_eviction_of_a_cluster_this_batch_touched():
    B = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    S_global = torch.tensor([[100.0, 0.0], [0.0, 1.0]])  # cluster 0 merges into row 0; cluster 1 is new
    active = torch.ones(2, dtype=torch.bool)
    decision = global_clustering(S_global, similarity(B, B), active, torch.tensor([0, 9]), 50.0)
    assert decision.rows.tolist() == [0, 1]  # row 0 is older but was just merged into: row 1 goes
    assert decision.created.tolist() == [False, True]
    full = global_clustering(S_global, similarity(B, B), torch.ones(1, dtype=torch.bool)[[0, 0]],
                             torch.tensor([0, 9]), 1000.0)
    # threshold unreachable: row 0 made new, row 1 then is the only non-touched row
    assert full.created.tolist() == [True, True] and full.rows.tolist() == [0, 1]


# ---------------------------------------------------------------------------------------- the bank
def test_bank_fifo_keeps_last_slots_and_counts():
    bank = GlobalBank(max_clusters=2, slots=3)
    created = torch.tensor([True, False])
    y = torch.arange(5, dtype=torch.float32)[:, None].repeat(1, 2)
    flat = bank.insert(torch.zeros(5, dtype=torch.long), created, y, y[:, :, None])
    assert bank.count.tolist() == [5, 0] and bank.filled.tolist() == [3, 0]
    assert sorted(bank.y[0, :, 0].tolist()) == [2.0, 3.0, 4.0]
    assert flat.tolist()[:2] == [-1, -1] and sorted(flat.tolist()[2:]) == [0, 1, 2]
    bank.insert(torch.tensor([0]), torch.zeros(2, dtype=torch.bool), y[:1] + 10, y[:1, :, None] + 10)
    assert sorted(bank.y[0, :, 0].tolist()) == [3.0, 4.0, 10.0]  # the oldest (2) was replaced
    assert bank.member_mask().tolist() == [[True] * 3, [False] * 3]


def test_bank_keeps_its_dtype_under_mixed_precision():
    bank = GlobalBank(max_clusters=2, slots=2)
    created = torch.tensor([True, False])
    bank.insert(torch.tensor([0]), created, torch.ones(1, 3), torch.ones(1, 2, 2))
    bank.insert(torch.tensor([0]), torch.zeros(2, dtype=torch.bool), torch.ones(1, 3),
                torch.full((1, 2, 2), 2.0, dtype=torch.bfloat16))
    assert bank.features.dtype == torch.float32 and bank.features[0, 1].eq(2.0).all()


def _reference_index(count_before: int, slot: int, slots: int) -> int:
    """Which member (in insertion order) a FIFO slot holds, given the row's count before the batch."""
    if count_before <= slots:
        return slot
    return count_before - slots + (slot - count_before) % slots


@pytest.mark.parametrize("slots", [4, 50])
def test_online_clustering_matches_reference_over_batches(slots):
    g = torch.Generator().manual_seed(3)
    protos = torch.randint(-2, 3, (6, 8)).double()
    threshold = 6.0
    clustering = OnlineClustering("dot", FixedThreshold(threshold), GlobalBank(64, slots), seed=0)
    global_d: list[list[list[float]]] = []
    for _ in range(6):
        classes = torch.randint(6, (10,), generator=g)
        Y = (protos[classes] + torch.randint(-1, 2, (10, 8), generator=g)).double()
        features = torch.randn(10, 2, 3, generator=g).double()
        count_before = clustering.global_bank.count.clone()
        S = clustering.observe(Y[:, None, :], epoch=5)
        result = clustering.cluster(Y[:, None, :], S, features)
        y_list = Y.tolist()
        clusters, anchors = ref.batch_clustering(y_list, threshold, int(result.batch_clusters.anchors[0]))
        assert result.batch_clusters.anchors.tolist() == anchors
        global_reps = [_reference_index(int(count_before[r]), int(result.global_reps[r]), slots)
                       for r in range(len(global_d))]
        targets = ref.global_clustering(clusters, y_list, global_d, threshold,
                                        result.batch_reps.tolist(), global_reps)
        assert result.cluster_rows.tolist() == targets
        bank = clustering.global_bank
        for row, members in enumerate(global_d):
            stored = sorted(map(tuple, bank.y[row, : int(bank.filled[row])].tolist()))
            assert stored == sorted(map(tuple, members[-slots:]))
        # the stored features travel with their windows
        flat = result.slots
        kept = flat >= 0
        stored_features = bank.features.flatten(0, 1)[flat[kept]]
        assert torch.equal(stored_features, features[kept])


def test_bank_reset_and_global_ids():
    clustering = OnlineClustering("dot", FixedThreshold(50.0), GlobalBank(8, 4), seed=0)
    Y = (torch.eye(3) * 10)[[0, 0, 1, 2]][:, None, :]
    r1 = clustering.cluster(Y, clustering.observe(Y, 3), torch.zeros(4, 1))
    assert clustering.global_bank.n_clusters == 3
    ids = r1.diagnostics(clustering.global_bank, FixedThreshold(50.0))["cluster_ids"]
    assert ids[0] == ids[1] and len(set(ids.tolist())) == 3
    r2 = clustering.cluster(Y, clustering.observe(Y, 3), torch.zeros(4, 1))
    assert torch.equal(clustering.global_bank.uid[r2.rows], ids)  # same clusters again
    clustering.global_bank.reset()
    assert clustering.global_bank.n_clusters == 0
    r3 = clustering.cluster(Y, clustering.observe(Y, 3), torch.zeros(4, 1))
    assert set(clustering.global_bank.uid[r3.rows].tolist()).isdisjoint(ids.tolist())


def test_diagnostics_fraction_in_non_singleton_clusters():
    clustering = OnlineClustering("dot", FixedThreshold(50.0), GlobalBank(8, 4), seed=0)
    Y = (torch.eye(3) * 10)[[0, 0, 1, 2]][:, None, :]
    result = clustering.cluster(Y, clustering.observe(Y, 3), torch.zeros(4, 1))
    diag = result.diagnostics(clustering.global_bank, FixedThreshold(50.0))
    assert diag["n_batch_clusters"] == 3 and diag["frac_nonsingleton"] == 0.5
    assert sorted(diag["batch_cluster_sizes"].tolist()) == [1, 1, 2]


def test_state_dict_round_trip_continues_identically():
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(12, 4, 5, generator=g) for _ in range(4)]

    def make():
        return OnlineClustering("cosine", ThresholdEstimator("paper", 0.9, warmup_epochs=1), GlobalBank(6, 3), seed=1)

    a = make()
    for i, y in enumerate(batches[:3]):
        S = a.observe(y, epoch=i)
        if i >= 1:
            a.cluster(y, S, y.flatten(1))
    b = make()
    b.load_state_dict(a.state_dict())
    ra = a.cluster(batches[3], a.observe(batches[3], 3), batches[3].flatten(1))
    rb = b.cluster(batches[3], b.observe(batches[3], 3), batches[3].flatten(1))
    assert torch.equal(ra.rows, rb.rows) and torch.equal(ra.slots, rb.slots)
    assert ra.threshold == rb.threshold


# ---------------------------------------------------------------------------------------- threshold
def _pairs(S: torch.Tensor) -> np.ndarray:
    n = S.shape[0]
    return S.numpy()[~np.eye(n, dtype=bool)]


def test_paper_threshold_pools_warmup_pairs_then_moving_average():
    g = torch.Generator().manual_seed(0)
    est = ThresholdEstimator("paper", momentum=0.9, warmup_epochs=2)
    Ss = [similarity(x, x) for x in (torch.randn(6, 4, generator=g) for _ in range(4))]
    est.observe(Ss[0], 0)
    est.observe(Ss[1], 1)
    pooled = np.concatenate([_pairs(Ss[0]), _pairs(Ss[1])])
    assert est.mu_hat == pytest.approx(pooled.mean(), rel=1e-5)
    assert est.sigma_hat == pytest.approx(pooled.std(), rel=1e-5)
    est.observe(Ss[2], 2)
    m1 = 0.9 * pooled.mean() + 0.1 * _pairs(Ss[2]).mean()
    m2 = 0.9 * (pooled ** 2).mean() + 0.1 * (_pairs(Ss[2]) ** 2).mean()
    assert est.mu_hat == pytest.approx(m1, rel=1e-5)
    assert est.sigma_hat == pytest.approx(math.sqrt(m2 - m1 ** 2), rel=1e-5)
    assert est.threshold == pytest.approx(est.mu_hat + est.sigma_hat)


def test_original_threshold_uses_batch_means_of_last_warmup_epoch_then_freezes():
    g = torch.Generator().manual_seed(1)
    est = ThresholdEstimator("original", warmup_epochs=2)
    Ss = [similarity(x, x) for x in (torch.randn(6, 4, generator=g) for _ in range(5))]
    est.observe(Ss[0], 0)  # first warm-up epoch: ignored by the original code
    est.observe(Ss[1], 1)
    est.observe(Ss[2], 1)
    means = np.array([_pairs(Ss[1]).mean(), _pairs(Ss[2]).mean()])
    assert est.mu_hat == pytest.approx(means.mean(), rel=1e-5)
    assert est.sigma_hat == pytest.approx(means.std(ddof=1), rel=1e-5)
    frozen = est.threshold
    est.observe(Ss[3], 2)
    est.observe(Ss[4], 3)
    assert est.threshold == frozen


def test_threshold_without_warmup_starts_from_first_batch():
    est = ThresholdEstimator("paper", momentum=0.5, warmup_epochs=0)
    assert not est.ready
    S = similarity(torch.eye(3), torch.eye(3)) + 1
    est.observe(S, 0)
    assert est.ready and est.mu_hat == pytest.approx(1.0) and est.sigma_hat == pytest.approx(0.0)

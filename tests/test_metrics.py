"""Tests of ccnce.metrics: hand cases, independent re-implementations and invariants."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ccnce import metrics as M
from ccnce.data.skeleton import N_KEPT, POSE_DIM

UNIT_STATS = (np.zeros(POSE_DIM), np.ones(POSE_DIM))


def to_pose(joints: np.ndarray) -> np.ndarray:
    """(..., 48, 2) pixel joints → (..., 96) x block then y block."""
    return np.concatenate([joints[..., 0], joints[..., 1]], axis=-1)


def normalise(pixels96: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mean, std = stats
    return (pixels96 - mean) / std


def anisotropic_stats(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Speaker-like stats: a random mean pose, x spread 2 px, y spread 5 px per z unit."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 50.0, POSE_DIM), np.r_[np.full(N_KEPT, 2.0), np.full(N_KEPT, 5.0)]


def eig_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """Independent FID: hand-written N-1 covariances, Tr (S1 S2)^½ = Tr (S1^½ S2 S1^½)^½ by eigh."""
    mx, my = x.mean(axis=0), y.mean(axis=0)
    s1 = (x - mx).T @ (x - mx) / (len(x) - 1)
    s2 = (y - my).T @ (y - my) / (len(y) - 1)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root1 @ s2 @ root1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    return float(((mx - my) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


# -------------------------------------------------------------------------------------------------- L1


def test_l1_hand_case() -> None:
    assert M.l1(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 6.0]])) == 1.25


def test_l1_rejects_mismatched_shapes() -> None:
    with pytest.raises(M.MetricError, match="shape"):
        M.l1(np.zeros((3, POSE_DIM)), np.zeros((4, POSE_DIM)))


# ------------------------------------------------------------------------------------------------- FID


def test_fid_of_a_set_with_itself_is_zero() -> None:
    rng = np.random.default_rng(0)
    full_rank = rng.normal(size=(300, POSE_DIM))
    rank_deficient = rng.normal(size=(40, POSE_DIM))  # fewer frames than dimensions: singular covariance
    assert M.fid(full_rank, full_rank) == pytest.approx(0.0, abs=1e-8)
    assert M.fid(rank_deficient, rank_deficient) == pytest.approx(0.0, abs=1e-4)


def test_fid_matches_an_eigendecomposition_implementation() -> None:
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(POSE_DIM, POSE_DIM)) / np.sqrt(POSE_DIM)
    x = rng.normal(size=(500, POSE_DIM)) @ mixing
    y = 0.7 * rng.normal(size=(300, POSE_DIM)) @ mixing.T + 0.3
    assert M.fid(x, y) == pytest.approx(eig_frechet(x, y), rel=1e-8)


def test_frechet_distance_closed_form_for_diagonal_covariances() -> None:
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2.0 * np.sqrt(var1 * var2)).sum()
    assert M.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)


def test_fid_mean_shift_adds_its_squared_norm() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, POSE_DIM))
    d = rng.normal(size=POSE_DIM)
    assert M.fid(x + d, x) == pytest.approx(float(d @ d), rel=1e-7)


def test_fid_uses_every_frame_of_windows() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 16, POSE_DIM)), rng.normal(size=(12, 16, POSE_DIM))
    expected = eig_frechet(x.reshape(-1, POSE_DIM), y.reshape(-1, POSE_DIM))
    assert M.fid(x, y) == pytest.approx(expected, rel=1e-8)


def test_fid_raises_instead_of_a_sentinel() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 4))
    with pytest.raises(M.MetricError, match="NaN"):
        M.fid(np.where(np.arange(4) == 1, np.nan, x), x)
    with pytest.raises(M.MetricError, match="at least 2 frames"):
        M.fid(x[:1], x)
    with pytest.raises(M.MetricError, match="not real"):  # a negative-definite "covariance" has no real root
        M.frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def frame_sets(d: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, st.tuples(st.integers(2, 12), st.just(d)), elements=st.floats(-100, 100))


small_sets = st.integers(1, 4).flatmap(lambda d: st.tuples(frame_sets(d), frame_sets(d)))


def test_fid_eps_retry_on_a_defective_product(caplog: pytest.LogCaptureFixture) -> None:
    # Found by hypothesis: S1 S2 is nilpotent (no square root), so sqrtm fails and the eps*I retry runs;
    # its documented bias, 2 D sqrt(eps (Tr S1 + Tr S2)), bounds the error.
    x, y = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 1e-179], [0.0, 0.0]])
    bias = 2 * 2 * np.sqrt(M.FID_SQRTM_EPS * 1.0)
    assert M.fid(x, y) == pytest.approx(eig_frechet(x, y), abs=bias)
    assert M.fid(x, y) != pytest.approx(eig_frechet(x, y), abs=1e-6)  # the bias is real, hence the warning
    assert "retrying" in caplog.text


@settings(max_examples=60, deadline=None)
@given(small_sets)
def test_fid_properties(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    forward, backward = M.fid(x, y), M.fid(y, x)
    traces = np.var(x, axis=0, ddof=1).sum() + np.var(y, axis=0, ddof=1).sum()
    # rounding, plus the bias of the eps*I retry that degenerate (singular) sets can trigger
    tolerance = 1e-6 * traces + 2 * x.shape[1] * np.sqrt(M.FID_SQRTM_EPS * (traces + 1e-12)) + 1e-9
    assert forward >= 0.0 and backward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-6, abs=tolerance)
    assert forward == pytest.approx(max(eig_frechet(x, y), 0.0), rel=1e-6, abs=tolerance)


# ------------------------------------------------------------------------------------------------- PCK


def test_pck_identical_is_one_and_far_off_is_zero() -> None:
    rng = np.random.default_rng(5)
    true = rng.normal(size=(20, POSE_DIM))
    stats = anisotropic_stats()
    assert M.pck(true, true, stats) == 1.0
    assert M.pck(true + 1e4, true, stats) == 0.0


def test_pck_constructed_fraction_in_pixel_space() -> None:
    # True joints fill the box [-50, 50] x [0, 40] (contains the neck): max(w, h) = 100 px, so the
    # threshold is 10 px at alpha 0.1 and 20 px at 0.2.
    true_px = np.stack([np.linspace(-50, 50, N_KEPT), np.linspace(0, 40, N_KEPT)], axis=-1)
    shift = np.r_[np.full(12, 5.0), np.full(12, 15.0), np.full(24, 30.0)]  # along y, in pixels
    pred_px = true_px + np.stack([np.zeros(N_KEPT), shift], axis=-1)
    stats = anisotropic_stats()
    pred, true = normalise(to_pose(pred_px)[None], stats), normalise(to_pose(true_px)[None], stats)
    assert M.pck(pred, true, stats, alphas=(0.1,)) == pytest.approx(12 / 48)
    assert M.pck(pred, true, stats, alphas=(0.2,)) == pytest.approx(24 / 48)
    assert M.pck(pred, true, stats) == pytest.approx((12 / 48 + 24 / 48) / 2)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_pck_box_includes_the_neck_at_the_origin(side: float) -> None:
    # Joints span [10, 60]² (or its mirror; box 50 px) but with the neck the box is 60 px wide:
    # threshold 6 px at alpha 0.1, so a 5.5 px error is correct only because of the neck.
    line = side * np.linspace(10, 60, N_KEPT)
    true_px = np.stack([line, line], axis=-1)
    pred_px = true_px + np.array([5.5, 0.0])
    assert M.pck(to_pose(pred_px)[None], to_pose(true_px)[None], UNIT_STATS, alphas=(0.1,)) == 1.0


def test_pck_counts_an_error_equal_to_the_threshold_as_correct() -> None:
    true_px = np.zeros((N_KEPT, 2))
    true_px[0, 0], true_px[1, 0] = -50.0, 50.0  # box 100 x 0 px: threshold 50 px at alpha 0.5
    pred_px = true_px + np.array([30.0, 40.0])  # every joint exactly 50 px off
    assert M.pck(to_pose(pred_px)[None], to_pose(true_px)[None], UNIT_STATS, alphas=(0.5,)) == 1.0


# ---------------------------------------------------------------------------------------------- W1


def constant_motion_windows(rates: np.ndarray, order: int, stats, frames: int = 10) -> np.ndarray:
    """Windows whose joints all move along (0.6, 0.8) at speed (order 1) or acceleration (order 2) = rate."""
    t = np.arange(frames, dtype=float)
    path = t if order == 1 else 0.5 * t**2
    start = np.random.default_rng(6).normal(0, 30, (len(rates), 1, N_KEPT, 2))
    joints = start + (rates[:, None] * path[None, :])[..., None, None] * np.array([0.6, 0.8])
    return normalise(to_pose(joints), stats)


def test_w1_is_zero_for_identical_motion() -> None:
    stats = anisotropic_stats()
    windows = np.random.default_rng(7).normal(size=(6, 12, POSE_DIM))
    assert M.w1_velocity(windows, windows, stats) == 0.0
    assert M.w1_acceleration(windows, windows, stats) == 0.0


@pytest.mark.parametrize("order, w1", [(1, M.w1_velocity), (2, M.w1_acceleration)])
def test_w1_equals_a_shift_of_the_distribution(order, w1) -> None:
    stats = anisotropic_stats()
    rates = np.array([0.5, 1.0, 2.0, 4.0, 7.0])
    true = constant_motion_windows(rates, order, stats)
    pred = constant_motion_windows(rates + 3.0, order, stats)
    assert w1(pred, true, stats) == pytest.approx(3.0, rel=1e-9)


def test_w1_differences_stay_inside_windows() -> None:
    # Still windows at different places: zero speed everywhere unless frames of two windows are differenced.
    rng = np.random.default_rng(8)
    still = np.repeat(rng.normal(size=(5, 1, POSE_DIM)), 8, axis=1)
    assert M.w1_velocity(still, np.zeros_like(still), UNIT_STATS) == 0.0


def test_w1_requires_windows() -> None:
    with pytest.raises(M.MetricError, match=r"\(N, T, 96\)"):
        M.w1_velocity(np.zeros((8, POSE_DIM)), np.zeros((8, POSE_DIM)), UNIT_STATS)
    with pytest.raises(M.MetricError, match="at least 3 frames"):
        M.w1_acceleration(np.zeros((2, 2, POSE_DIM)), np.zeros((2, 2, POSE_DIM)), UNIT_STATS)


# -------------------------------------------------------------------------------------------------- F1


def test_f1_identical_labels_is_one_and_ids_do_not_matter() -> None:
    true = np.array([0, 0, 1, 2, 2, 2, 3])
    pred = np.array([0, 1, 1, 2, 2, 0, 3])
    renamed = np.array([7, 3, 5, 1])  # the same clusterer labels both sides, so rename both
    assert M.f1_clusters(true, true) == 1.0
    assert M.f1_clusters(renamed[pred], renamed[true]) == pytest.approx(M.f1_clusters(pred, true))


def test_f1_is_weighted_by_true_support() -> None:
    # class 0: P=1, R=2/3, F1=0.8 (support 3); class 1: P=1/2, R=1, F1=2/3 (support 1).
    # Weighted 0.7667; macro, or true and pred swapped, would give 0.7333.
    expected = 0.75 * 0.8 + 0.25 * 2 / 3
    assert M.f1_clusters(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1])) == pytest.approx(expected)


def test_f1_of_a_generator_stuck_in_one_cluster_is_a_constant_of_the_test_set() -> None:
    # Why F1 was 0.5219 in every lec_cosmic run of the first regime: all generated frames in the
    # majority cluster give s * 2s / (1 + s) whatever the generator did; f1_constant is that floor.
    rng = np.random.default_rng(4)
    true = rng.choice(5, size=2000, p=[0.66, 0.1, 0.1, 0.08, 0.06])
    stuck = np.zeros_like(true)
    s = np.mean(true == 0)
    assert M.f1_clusters(stuck, true) == pytest.approx(s * 2 * s / (1 + s))
    assert M.f1_constant(true) == pytest.approx(M.f1_clusters(stuck, true))
    assert M.f1_constant(true) == pytest.approx(M.f1_constant(rng.permutation(true)))
    moving = np.where(rng.random(true.size) < 0.7, true, stuck)  # a generator that moves scores above it
    assert M.f1_clusters(moving, true) > M.f1_constant(true) + 0.1


# ------------------------------------------------------------------------------ diversity, expressiveness


def test_diversity_is_pixel_distance_from_the_mean_pose() -> None:
    mean = np.random.default_rng(9).normal(0, 40, POSE_DIM)
    stats = (mean, np.r_[np.full(N_KEPT, 3.0), np.full(N_KEPT, 4.0)])
    poses = np.ones((5, POSE_DIM))  # every joint 3 px right and 4 px down of its mean position: 5 px
    assert M.diversity(poses, stats) == pytest.approx(5.0)
    assert M.diversity(np.zeros((5, POSE_DIM)), stats) == 0.0


def test_expressiveness_ratio() -> None:
    true = np.random.default_rng(10).normal(size=(30, POSE_DIM))
    stats = anisotropic_stats()
    result = M.expressiveness(0.5 * true, true, stats)
    assert result["ratio"] == pytest.approx(0.5)
    assert result["true"] == pytest.approx(M.diversity(true, stats))
    with pytest.raises(M.MetricError, match="diversity 0"):
        M.expressiveness(true, np.zeros_like(true), stats)


# ------------------------------------------------------------------------------------- cluster quality


def test_cluster_quality_is_one_for_a_relabelled_partition_and_ignores_unlabelled() -> None:
    classes = np.array([0, 0, 1, 1, 1, 2, -1, -1])
    clusters = np.array([5, 5, 9, 9, 9, 4, 5, 9])
    assert M.cluster_quality(clusters, classes) == pytest.approx({"nmi": 1.0, "ari": 1.0, "purity": 1.0})


def test_purity_hand_case() -> None:
    # cluster 0 holds classes a, a, b (majority 2); cluster 1 holds b, b, c (majority 2): 4/6.
    result = M.cluster_quality(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 1, 2]))
    assert result["purity"] == pytest.approx(4 / 6)


def test_cluster_quality_needs_a_labelled_entry() -> None:
    with pytest.raises(M.MetricError, match="no entry has a true class"):
        M.cluster_quality(np.array([0, 1]), np.array([-1, -1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=1, max_size=40))
def test_purity_properties(pairs: list[tuple[int, int]]) -> None:
    clusters, classes = np.array(pairs).T
    purity = M.cluster_quality(clusters, classes)["purity"]
    largest_class = np.bincount(classes).max() / len(classes)
    assert largest_class - 1e-12 <= purity <= 1.0
    assert M.cluster_quality(np.arange(len(classes)), classes)["purity"] == 1.0


# ------------------------------------------------------------------------------------------- grounding


def directional_classes(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes 5 degrees apart in direction, magnitudes over three decades: cosine separates them,
    Euclidean distance mostly does not."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n_per_class)
    angle = np.deg2rad(np.where(labels == 0, 40.0, 45.0) + rng.normal(0, 0.5, labels.size))
    magnitude = 10 ** rng.uniform(0, 3, labels.size)
    return np.c_[magnitude * np.cos(angle), magnitude * np.sin(angle)], labels


def test_knn_accuracy_separated_classes_and_cosine_metric() -> None:
    z, labels = directional_classes(100, seed=0)
    z_ref, labels_ref = directional_classes(100, seed=1)
    assert M.knn_accuracy(z, labels, z_ref, labels_ref) >= 0.99


def test_knn_accuracy_is_chance_on_random_labels() -> None:
    rng = np.random.default_rng(11)
    z, labels = rng.normal(size=(400, 16)), rng.integers(0, 4, 400)
    z_ref, labels_ref = rng.normal(size=(800, 16)), rng.integers(0, 4, 800)
    assert abs(M.knn_accuracy(z, labels, z_ref, labels_ref) - 0.25) < 0.08


def test_knn_accuracy_ignores_unlabelled_entries() -> None:
    z, labels = directional_classes(50, seed=1)
    z_ref, labels_ref = directional_classes(50, seed=2)
    noise = np.random.default_rng(12).normal(size=(60, 2)) * 100
    with_noise = M.knn_accuracy(np.r_[z, noise], np.r_[labels, np.full(60, -1)],
                                np.r_[z_ref, noise], np.r_[labels_ref, np.full(60, -1)])
    assert with_noise == M.knn_accuracy(z, labels, z_ref, labels_ref)


def test_knn_accuracy_permutation_chance_follows_the_class_frequencies() -> None:
    # the reference is 90 % class 0; the queries are only 20 % class 0. With the reference labels permuted
    # nearly every 5-vote says 0, so chance is near 0.2, the queries' share of class 0 (not the 0.9 a
    # "reference majority share" would claim), while the real probe is near perfect.
    rng = np.random.default_rng(6)
    centres = rng.normal(size=(2, 8)) * 10
    labels_ref = (np.arange(200) % 10 == 0).astype(int)
    labels = (np.arange(100) >= 20).astype(int)
    z_ref = centres[labels_ref] + rng.normal(size=(200, 8))
    z = centres[labels] + rng.normal(size=(100, 8))
    accuracy, chance = M.knn_accuracy(z, labels, z_ref, labels_ref, permutations=20)
    assert accuracy > 0.95 and 0.15 < chance < 0.3
    assert M.knn_accuracy(z, labels, z_ref, labels_ref) == accuracy
    assert M.knn_accuracy(z, labels, z_ref, labels_ref, permutations=20) == (accuracy, chance)  # seeded


def test_knn_accuracy_votes_from_the_reference_only() -> None:
    # queries sit on their own class's direction but the reference labels are swapped: every vote is wrong
    z = np.array([[1.0, 0.0], [0.0, 1.0]] * 5)
    labels = np.array([0, 1] * 5)
    assert M.knn_accuracy(z, labels, z, 1 - labels, k=3) == 0.0
    with pytest.raises(M.MetricError, match="dimensions"):
        M.knn_accuracy(z, labels, np.c_[z, z], labels)


def test_silhouette_separated_and_random() -> None:
    z, labels = directional_classes(100, seed=2)
    assert M.silhouette(z, labels) > 0.9
    rng = np.random.default_rng(13)
    assert abs(M.silhouette(rng.normal(size=(300, 8)), rng.integers(0, 3, 300))) < 0.05


def test_silhouette_matches_a_direct_cosine_computation() -> None:
    rng = np.random.default_rng(14)
    z, labels = rng.normal(size=(12, 3)), np.array([0, 1, 2] * 4)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    dist = 1.0 - unit @ unit.T
    scores = []
    for i in range(len(z)):
        same = (labels == labels[i]) & (np.arange(len(z)) != i)
        a = dist[i, same].mean()
        b = min(dist[i, labels == c].mean() for c in set(labels) - {labels[i]})
        scores.append((b - a) / max(a, b))
    assert M.silhouette(z, labels) == pytest.approx(np.mean(scores), abs=1e-9)


# ------------------------------------------------------------------------------------------ statistics


def test_mean_std_uses_ddof_one() -> None:
    assert M.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    with pytest.raises(M.MetricError, match="at least 2"):
        M.mean_std([1.0])


def test_paired_comparison_detects_a_clear_difference() -> None:
    base = np.array([0.80, 0.95, 0.70, 1.10, 0.90])
    result = M.paired_comparison(base + np.array([0.50, 0.52, 0.48, 0.51, 0.49]), base)
    assert result["mean_diff"] == pytest.approx(0.5)
    assert 0.48 <= result["ci_low"] < 0.5 < result["ci_high"] <= 0.52
    assert result["cohens_dz"] == pytest.approx(0.5 / np.std([0.50, 0.52, 0.48, 0.51, 0.49], ddof=1))
    assert result["n"] == 5 and result["within_noise"] is False
    reverse = M.paired_comparison(base, base + np.array([0.50, 0.52, 0.48, 0.51, 0.49]))
    assert reverse["ci_high"] < 0 and reverse["cohens_dz"] < 0 and reverse["within_noise"] is False


def test_paired_comparison_interval_is_95_percent() -> None:
    # With 40 seeds the bootstrap mean is close to normal: half-width ~ 1.96 * std(d, ddof=0) / sqrt(n).
    d = np.random.default_rng(19).normal(size=40)
    result = M.paired_comparison(d, np.zeros_like(d))
    half_width = (result["ci_high"] - result["ci_low"]) / 2
    assert half_width == pytest.approx(1.96 * d.std() / np.sqrt(d.size), rel=0.06)


def test_paired_comparison_says_within_noise() -> None:
    base = np.array([0.80, 0.95, 0.70, 1.10, 0.90])
    result = M.paired_comparison(base + np.array([0.03, -0.02, 0.01, -0.03, 0.02]), base)
    assert result["ci_low"] < 0.0 < result["ci_high"]
    assert result["within_noise"] is True
    assert abs(result["cohens_dz"]) < 0.5


def test_paired_comparison_hand_case_and_determinism() -> None:
    result = M.paired_comparison([3.0, 5.0, 7.0], [2.0, 3.0, 4.0], n_boot=2000, seed=3)
    assert result["mean_diff"] == 2.0 and result["cohens_dz"] == pytest.approx(2.0)
    assert 1.0 <= result["ci_low"] <= 2.0 <= result["ci_high"] <= 3.0
    assert result == M.paired_comparison([3.0, 5.0, 7.0], [2.0, 3.0, 4.0], n_boot=2000, seed=3)
    identical = M.paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert identical["cohens_dz"] == 0.0 and identical["within_noise"] is True


def test_paired_comparison_needs_paired_seeds() -> None:
    with pytest.raises(M.MetricError, match="shape"):
        M.paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0])


# ----------------------------------------------------------------------------------------- all at once


def test_evaluate_poses_on_perfect_predictions() -> None:
    rng = np.random.default_rng(15)
    true = rng.normal(size=(6, 16, POSE_DIM))
    stats = anisotropic_stats()
    result = M.evaluate_poses(true, true.copy(), stats, clusterer_label_fn=lambda w: (w[..., 0] > 0) * 1)
    spread = M.diversity(true, stats)
    labels = (true[..., 0] > 0).reshape(-1) * 1
    perfect = {"l1": 0.0, "fid": 0.0, "pck": 1.0, "w1_vel": 0.0, "w1_acc": 0.0, "f1": 1.0,
               "f1_constant": M.f1_constant(labels), "diversity": spread, "diversity_true": spread,
               "expressiveness": 1.0}
    assert result == pytest.approx(perfect, abs=1e-8)


def test_evaluate_poses_agrees_with_the_single_metrics() -> None:
    rng = np.random.default_rng(16)
    true = rng.normal(size=(6, 16, POSE_DIM))
    pred = 0.6 * true + 0.3 * rng.normal(size=true.shape)
    stats = anisotropic_stats()
    result = M.evaluate_poses(pred, true, stats)
    assert "f1" not in result
    assert result["fid"] == pytest.approx(M.fid(pred.reshape(-1, POSE_DIM), true.reshape(-1, POSE_DIM)))
    assert result["w1_acc"] == pytest.approx(M.w1_acceleration(pred, true, stats))
    assert result["expressiveness"] == pytest.approx(M.expressiveness(pred, true, stats)["ratio"])


def test_evaluate_poses_labels_whole_windows_for_f1() -> None:
    # A label function that needs the time axis, like PoseClusterer.label: moving vs. still frames.
    def moving(windows: np.ndarray) -> np.ndarray:
        return (np.abs(np.gradient(windows, axis=1)).sum(axis=-1) > 1e-9).astype(int)

    rng = np.random.default_rng(17)
    still = np.repeat(rng.normal(size=(4, 1, POSE_DIM)), 8, axis=1)  # still inside each window: all 0
    assert M.evaluate_poses(still, still.copy(), UNIT_STATS, clusterer_label_fn=moving)["f1"] == 1.0
    with pytest.raises(M.MetricError, match="one label per frame"):
        M.evaluate_poses(still, still, UNIT_STATS, clusterer_label_fn=lambda w: moving(w).reshape(-1))


def test_stats_can_be_an_object_with_pose_mean_and_pose_std() -> None:
    mean, std = anisotropic_stats()
    poses = np.random.default_rng(18).normal(size=(10, POSE_DIM))
    zstats_like = SimpleNamespace(pose_mean=mean, pose_std=std)
    assert M.diversity(poses, zstats_like) == M.diversity(poses, (mean, std))
    with pytest.raises(M.MetricError, match="stats must be"):
        M.diversity(poses, (mean, std[:10]))

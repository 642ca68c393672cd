import numpy as np

from ccnce.evaluate import cluster_test_windows, dominant_class, grounding


def test_dominant_class_needs_half_the_frames():
    g = np.array([[1] * 40 + [2] * 24, [1] * 20 + [2] * 20 + [-1] * 24, [-1] * 64])
    assert dominant_class(g).tolist() == [1, -1, -1]


def test_grounding_uses_other_intervals_only():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 0, 1, -1], 6)
    intervals = np.repeat(["a", "b", "c", "d", "e"], 6)
    centres = rng.normal(size=(2, 16)) * 10
    z = centres[np.clip(labels, 0, None)] + rng.normal(size=(len(labels), 16)) * 0.1
    out = grounding(z, labels, intervals)
    assert out["grounding_windows"] == 24 and out["knn_acc"] == 1.0
    # each interval alone carries its class: with neighbours from other intervals only, a z that
    # identifies the interval but not the class scores at most chance
    z_interval = np.eye(5)[np.searchsorted(["a", "b", "c", "d", "e"], intervals)] * 10
    assert grounding(z_interval, labels, intervals)["knn_acc"] <= 0.5


def test_grounding_probe_uses_the_reference_with_permutation_chance():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(2, 16)) * 10
    labels = np.repeat([0, 1, 0, 1], 6)
    intervals = np.repeat(["a", "b", "c", "d"], 6)
    z = centres[labels] + rng.normal(size=(len(labels), 16)) * 0.1
    ref_labels = np.r_[np.zeros(30, int), np.ones(10, int), np.full(5, -1)]
    z_ref = centres[np.clip(ref_labels, 0, None)] + rng.normal(size=(len(ref_labels), 16)) * 0.1
    out = grounding(z, labels, intervals, z_ref, ref_labels)
    # permuted reference labels: 3/4 of the votes say class 0, half the queries are class 0
    assert out["knn_probe"] == 1.0 and 0.35 < out["knn_probe_chance"] < 0.65
    assert grounding(z, labels, intervals, z_ref, 1 - np.clip(ref_labels, 0, None))["knn_probe"] == 0.0
    assert "knn_probe" not in grounding(z, labels, intervals)


def test_grounding_is_empty_without_two_classes():
    assert grounding(np.zeros((12, 4)), np.array([0] * 12), np.repeat(["a", "b"], 6)) == {}
    assert grounding(np.zeros((12, 4)), np.full(12, -1), np.repeat(["a", "b"], 6)) == {}


def test_cluster_test_windows_separates_opposite_gestures():
    y = np.stack([np.ones((64, 96))] * 3 + [-np.ones((64, 96))] * 3)
    assignment, _ = cluster_test_windows(y)
    assert len(set(assignment[:3])) == 1 and len(set(assignment[3:])) == 1 and assignment[0] != assignment[3]

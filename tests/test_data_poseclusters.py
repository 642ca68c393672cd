"""Frame-wise pose clusters on pose + velocity + speed: fitted on training windows, label any pose."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from ccnce.data.poseclusters import PoseClusterer, frame_features


def _separated_windows(rng: np.random.Generator, n_per_class: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Windows holding one of 4 far-apart poses (with small jitter); half switch pose mid-window."""
    centres = rng.normal(0, 1, size=(4, 96)) * 6
    classes = rng.integers(0, 4, size=(4 * n_per_class, 2))
    frame_class = np.repeat(classes, 32, axis=1)  # (N, 64): first half class a, second half class b
    pose = centres[frame_class] + rng.normal(0, 0.05, size=frame_class.shape + (96,))
    return pose, frame_class


def test_well_separated_poses_are_recovered():
    rng = np.random.default_rng(1)
    pose, truth = _separated_windows(rng)
    clusterer = PoseClusterer.fit(pose, k=4)
    labels = clusterer.label(pose)
    assert labels.shape == truth.shape and labels.dtype == np.int64
    # velocity is large only at the switch frames; away from them labels match the truth exactly
    steady = np.ones(64, dtype=bool)
    steady[30:34] = False
    assert adjusted_rand_score(truth[:, steady].ravel(), labels[:, steady].ravel()) == 1.0


def test_label_accepts_torch_and_single_windows_and_matches_new_data():
    rng = np.random.default_rng(2)
    pose, truth = _separated_windows(rng)
    clusterer = PoseClusterer.fit(pose, k=4)
    generated = pose[:5] + rng.normal(0, 0.01, size=pose[:5].shape)  # "generated" poses near the truth
    np.testing.assert_array_equal(clusterer.label(torch.from_numpy(generated).float()), clusterer.label(pose[:5]))
    np.testing.assert_array_equal(clusterer.label(pose[0]), clusterer.label(pose[:1])[0])


def test_features_are_pose_velocity_speed():
    p = np.zeros((1, 3, 96))
    p[0, :, 0] = [0.0, 3.0, 6.0]  # joint 0 moves 3 units/frame in x
    p[0, :, 48] = [0.0, 4.0, 8.0]  # and 4 in y
    f = frame_features(p)
    assert f.shape == (1, 3, 240)
    np.testing.assert_allclose(f[0, :, 96], 3.0)
    np.testing.assert_allclose(f[0, :, 192], 5.0)  # speed of joint 0


def test_cached_labels_are_the_clusterer_labels_of_normalised_pose(pats_data):
    for ws in (pats_data.train, pats_data.test):
        batch = ws[list(range(len(ws)))]
        np.testing.assert_array_equal(batch["pose_cluster"].numpy(), pats_data.clusterer.label(batch["pose"].numpy()))
    assert pats_data.clusterer.k == 8
    assert len(np.unique(pats_data.train[list(range(len(pats_data.train)))]["pose_cluster"])) > 1

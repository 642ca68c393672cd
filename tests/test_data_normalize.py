"""z-normalisation statistics: training windows only, per dimension, applied to every split."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ccnce.data.normalize import ZERO_STD, RunningMoments
from ccnce.data.pats import read_interval
from ccnce.data.windows import interval_windows


def _train_windows(pats_root, key: str) -> np.ndarray:
    out = []
    for interval_id in pats_root.ids("lec_cosmic", "train"):
        interval = read_interval(pats_root.path("lec_cosmic", interval_id), "pose/normalize", "audio/log_mel_400")
        w = interval_windows(interval, 64, 5, "audio/log_mel_400", "time")
        out.append(w.pose if key == "pose" else w.audio)
    return np.concatenate(out)


def test_stats_are_numpy_mean_and_std_over_training_windows(pats_root, pats_data):
    for key, mean, std in (("pose", pats_data.stats.pose_mean, pats_data.stats.pose_std),
                           ("audio", pats_data.stats.audio_mean, pats_data.stats.audio_std)):
        x = _train_windows(pats_root, key).reshape(-1, mean.shape[0])
        assert len(x) == 80 * 64  # overlapping windows: frames counted once per window
        np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(std, x.std(axis=0), rtol=1e-8)


def test_batches_are_normalised_with_training_stats_in_every_split(pats_data):
    stats = pats_data.stats
    for ws in (pats_data.train, pats_data.dev, pats_data.test):
        raw = ws.raw(3)
        item = ws[3]
        np.testing.assert_allclose(item["pose"].numpy(), (raw["pose"] - stats.pose_mean) / stats.pose_std,
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(stats.denormalize_audio(item["audio"].numpy()), raw["audio"], atol=1e-4)
    train_pose = pats_data.train[list(range(len(pats_data.train)))]["pose"].numpy()
    np.testing.assert_allclose(train_pose.reshape(-1, 96).mean(axis=0), 0, atol=1e-4)


def test_constant_dimension_gets_tiny_std_not_zero():
    m = RunningMoments(2)
    m.update(np.column_stack([np.full(10, 3.0), np.arange(10.0)]))
    assert m.std[0] == ZERO_STD and m.std[1] == np.arange(10.0).std()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=6), st.integers(0, 2**31 - 1))
def test_chunked_moments_equal_numpy(chunk_sizes, seed):
    rng = np.random.default_rng(seed)
    chunks = [rng.normal(5.0, 3.0, size=(n, 3)) for n in chunk_sizes]
    m = RunningMoments(3)
    for c in chunks:
        m.update(c)
    x = np.concatenate(chunks)
    if len(x):
        np.testing.assert_allclose(m.mean, x.mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(m.var, x.var(axis=0), atol=1e-10)

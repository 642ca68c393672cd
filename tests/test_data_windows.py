"""Interval → windows: counts, audio aligned by time (and the reference drift), sub-words, ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccnce.data.pats import read_interval
from ccnce.data.windows import collapse_tokens, interval_windows, n_windows, window_starts
from pats_fixture import explode_frames, make_pats_root, read_key

POSE, MEL400, MEL512 = "pose/normalize", "audio/log_mel_400", "audio/log_mel_512"


@given(st.integers(0, 500), st.integers(1, 80), st.integers(1, 20))
def test_window_count_formula(n_frames, window, hop):
    starts = window_starts(n_frames, window, hop)
    expected = (n_frames - window) // hop + 1 if n_frames >= window else 0
    assert len(starts) == n_windows(n_frames, window, hop) == expected
    if expected:
        assert starts[-1] + window <= n_frames < starts[-1] + hop + window


@pytest.fixture(scope="module")
def interval(pats_root):
    return read_interval(pats_root.path("lec_cosmic", "0001009"), POSE, MEL400)


def test_pose_windows_are_slices_of_the_kept_joints(interval):
    w = interval_windows(interval, 64, 5, MEL400, "time")
    assert len(w) == 20 and w.starts.tolist() == list(range(0, 100, 5))
    np.testing.assert_array_equal(w.pose[7], interval.pose[35:99])
    assert w.pose.shape == (20, 64, 96) and w.audio.shape == (20, 64, 64)


def test_audio_is_aligned_by_time(interval):
    """Fixture audio column 0 holds each audio frame's start time: it must be the frame at the pose time."""
    w = interval_windows(interval, 64, 5, MEL400, "time")
    pose_time = (w.starts[:, None] + np.arange(64)) / 15.0
    audio_time = w.audio[:, :, 0]
    np.testing.assert_allclose(audio_time, np.floor(pose_time * 100 + 1e-9) / 100, atol=1e-9)
    assert (audio_time <= pose_time + 1e-9).all() and (pose_time - audio_time < 0.01).all()
    np.testing.assert_allclose(w.audio[3, 10, 1:] - w.audio[3, 10, 0], np.arange(1, 64))  # mel axis intact


@pytest.mark.parametrize("sr", [44100, 48000])
def test_log_mel_512_aligned_at_its_native_rate(tmp_path, sr):
    fx = make_pats_root(tmp_path, n_intervals={"train": 1}, sr_512=sr)
    interval = read_interval(fx.path("lec_cosmic", fx.ids()[0]), POSE, MEL512)
    assert interval.audio_rate == sr / 512
    w = interval_windows(interval, 64, 5, MEL512, "time")
    pose_time = (w.starts[:, None] + np.arange(64)) / 15.0
    assert w.audio.shape[-1] == 128
    assert ((pose_time - w.audio[:, :, 0] >= -1e-9) & (pose_time - w.audio[:, :, 0] < 512 / sr)).all()


@pytest.mark.parametrize("key, nominal, true_rate", [(MEL400, 103.0, 100.0), (MEL512, 89.0, 44100 / 512)])
def test_reference_alignment_reproduces_the_drift(pats_root, key, nominal, true_rate):
    interval = read_interval(pats_root.path("lec_cosmic", "0001009"), POSE, key)
    w = interval_windows(interval, 64, 5, key, "reference")
    t = w.starts[:, None] + np.arange(64)
    expected = np.floor(t * nominal / 15 + 1e-9) / true_rate  # start time of the frame the reference picks
    np.testing.assert_allclose(w.audio[:, :, 0], expected, atol=1e-9)
    drift = w.audio[-1, -1, 0] - t[-1, -1] / 15.0
    assert drift == pytest.approx(t[-1, -1] / 15.0 * (nominal / true_rate - 1), abs=1 / true_rate)
    assert drift > 0.25  # ~3 % of ~10 s: audio runs a quarter second late by the end
    # The nominal rate exhausts the audio before the pose ends: those windows are dropped, not padded.
    n_audio = len(interval.audio)
    assert (np.floor(t * nominal / 15 + 1e-9) < n_audio).all()
    dropped = w.dropped["audio past end (reference alignment)"]
    assert len(w) + dropped == 20 and dropped >= 1


def test_tokens_collapse_to_true_sub_words(pats_root, interval):
    segments = pats_root.segments["0001009"]
    w = interval_windows(interval, 64, 5, MEL400, "time")
    offsets = np.concatenate([[0], np.cumsum(w.n_tokens)])
    for i, s in enumerate(w.starts):
        ids, dur = w.tokens[offsets[i]:offsets[i + 1]], w.durations[offsets[i]:offsets[i + 1]]
        expected = [(tok, min(hi, s + 64) - max(lo, s)) for tok, lo, hi in segments if lo < s + 64 and hi > s]
        assert list(zip(ids.tolist(), dur.tolist())) == expected
        assert dur.sum() == 64 and (dur > 0).all()


def test_repeated_word_is_split_at_the_word_boundary_only():
    tokens = np.array([7, 7, 7, 7, 9, 9, 9, 9])
    new_word = np.array([1, 0, 1, 0, 1, 0, 0, 0], dtype=bool)  # "a a b" with "a" spoken twice
    ids, dur = collapse_tokens(tokens, new_word)
    assert ids.tolist() == [7, 7, 9] and dur.tolist() == [2, 2, 4]
    ids, dur = collapse_tokens(tokens[1:], new_word[1:])  # a window starting mid-word
    assert ids.tolist() == [7, 7, 9] and dur.tolist() == [1, 2, 4]


def test_ground_truth_follows_windows_and_defaults_to_minus_one(pats_root, tmp_path, interval):
    w = interval_windows(interval, 64, 5, MEL400, "time")
    t = w.starts[:, None] + np.arange(64)
    np.testing.assert_array_equal(w.ground_truth["gesture"], (t // 16) % 5)
    np.testing.assert_array_equal(w.ground_truth["phrase"], (t // 32) % 3)
    fx = make_pats_root(tmp_path, n_intervals={"train": 1}, with_synth=False)
    plain = interval_windows(read_interval(fx.path("lec_cosmic", fx.ids()[0]), POSE, MEL400), 64, 5, MEL400, "time")
    assert (plain.ground_truth["gesture"] == -1).all() and (plain.ground_truth["phrase"] == -1).all()


def test_windows_over_exploded_frames_are_dropped(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 1})
    path = fx.path("lec_cosmic", fx.ids()[0])
    explode_frames(path, [100])
    w = interval_windows(read_interval(path, POSE, MEL400), 64, 5, MEL400, "time")
    # windows [s, s+64) containing frame 100: s = 40 ... 95 (12 of 20)
    assert w.starts.tolist() == list(range(0, 40, 5)) and w.dropped == {"bad pose frames": 12}
    assert np.abs(w.pose).max() < 20 * np.median(np.abs(read_key(path, POSE)))


def test_short_interval_gives_no_window(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 1}, frames=63)
    w = interval_windows(read_interval(fx.path("lec_cosmic", fx.ids()[0]), POSE, MEL400), 64, 5, MEL400, "time")
    assert len(w) == 0 and w.pose.shape == (0, 64, 96) and len(w.tokens) == 0

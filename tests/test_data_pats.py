"""Reading the PATS layout: the interval table, the missing list, one interval file, audio rates."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from ccnce.data import align
from ccnce.data.pats import (
    CSV_COLUMNS,
    LENGTH_TOLERANCE_FRAMES,
    IntervalError,
    PatsRoot,
    exploded_frames,
    read_interval,
    read_meta,
    read_missing_intervals,
)
from ccnce.data.fixed_frame import read_frame
from pats_fixture import delete_key, explode_frames, make_pats_root, read_key, replace_key, set_missing

POSE, AUDIO = "pose/normalize", "audio/log_mel_400"


def test_table_keeps_string_ids_and_official_splits(pats_root):
    pats = PatsRoot(pats_root.root)
    train = pats.intervals("lec_cosmic", "train")
    assert train == pats_root.ids("lec_cosmic", "train")
    assert train[0] == "0001009"  # leading zeros survive: ids are read as strings
    assert any(i.startswith("cmu") for i in train)
    assert pats.intervals("lec_cosmic", "test") == pats_root.ids("lec_cosmic", "test")
    assert list(pats.table.columns) == list(CSV_COLUMNS)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_missing_list_accepts_bytes_str_and_paths(tmp_path, as_bytes):
    set_missing(tmp_path, ["0001009", "processed/bee/cmu0000000001.h5", ""], as_bytes=as_bytes)
    assert read_missing_intervals(tmp_path) == {"0001009", "cmu0000000001"}


def test_interval_is_read_trimmed_to_kept_joints(pats_root):
    path = pats_root.path("lec_cosmic", "0001009")
    interval = read_interval(path, POSE, AUDIO)
    assert interval.n_frames == 160 and interval.pose.shape == (160, 96)
    raw = read_key(path, POSE)
    np.testing.assert_array_equal(interval.pose[:, 0], raw[:, 1])  # joint 0 (neck) dropped
    assert interval.audio_rate == 100.0 and interval.notes == []
    assert not interval.bad_frames.any()
    meta = read_meta(path)
    zero = meta["start_frame"] == meta["end_frame"]
    assert interval.n_words == len(meta) and interval.n_zero_length_words == zero.sum() > 0
    assert interval.word_starts.tolist() == sorted(set(meta["start_frame"][~zero].astype(int)))


def test_small_length_mismatch_is_trimmed_large_is_rejected(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 1})
    path = fx.path("lec_cosmic", fx.ids()[0])
    tokens = read_key(path, "text/tokens")
    replace_key(path, "text/tokens", tokens[:157])
    interval = read_interval(path, POSE, AUDIO)
    assert interval.n_frames == 157 and "trimmed to 157" in interval.notes[0]
    replace_key(path, "text/tokens", tokens[: 160 - LENGTH_TOLERANCE_FRAMES - 1])
    with pytest.raises(IntervalError, match="modality lengths differ") as e:
        read_interval(path, POSE, AUDIO)
    assert e.value.category == "length mismatch" and str(path) in str(e.value)


def test_rejects_non_finite_audio_missing_keys_and_bad_shapes(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 3})
    a, b, c = (fx.path("lec_cosmic", i) for i in fx.ids())
    audio = read_key(a, AUDIO)
    audio[5, 3] = np.nan
    replace_key(a, AUDIO, audio)
    delete_key(b, "text/meta")
    replace_key(c, POSE, np.zeros((160, 100)))
    for path, category, key in ((a, "non-finite", AUDIO), (b, "missing key", "text/meta"), (c, "bad shape", POSE)):
        with pytest.raises(IntervalError) as e:
            read_interval(path, POSE, AUDIO)
        assert e.value.category == category and str(path) in str(e.value) and key in str(e.value)


def test_exploded_and_non_finite_pose_frames_are_flagged(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 1})
    path = fx.path("lec_cosmic", fx.ids()[0])
    explode_frames(path, [100, 101])
    interval = read_interval(path, POSE, AUDIO)
    assert np.flatnonzero(interval.bad_frames).tolist() == [100, 101]
    assert "2 of 160 pose frames" in interval.notes[0]
    pose = np.ones((10, 96))
    pose[3, 7] = np.inf
    assert np.flatnonzero(exploded_frames(pose)).tolist() == [3]


@pytest.mark.parametrize("sr", [44100, 48000, 22050])
def test_log_mel_512_rate_is_derived_from_lengths(sr):
    for n_pose in (64, 160, 900):
        n_samples = round(n_pose / 15 * sr)
        n_audio = 1 + (n_samples - 2048) // 512  # librosa, center=False
        assert align.true_audio_rate("audio/log_mel_512", n_audio, n_pose) == sr / 512


def test_rate_falls_back_to_44k_when_lengths_disagree_and_400_is_fixed():
    assert align.true_audio_rate("audio/log_mel_512", 300, 160) == 44100 / 512
    assert align.true_audio_rate("audio/log_mel_400", 5, 160) == 100.0
    assert align.alignment_rate("audio/log_mel_400", "reference", 1000, 150) == 103.0


def test_audio_index_is_the_frame_containing_the_pose_time():
    t = np.arange(300)
    k = align.audio_index(t, 100.0)
    assert (k / 100.0 <= t / 15 + 1e-12).all() and (t / 15 < (k + 1) / 100.0).all()
    assert align.audio_covered_frames(1064, 100.0) == 160  # ceil(1064 * 0.15)
    assert align.audio_covered_frames(1065, 100.0) == 160  # 159.75 -> frames 0..159
    assert align.audio_covered_frames(1000, 100.0) == 150  # exactly 10 s: frame 150 starts at the end


def _write_meta(path, meta, mode="w"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables: the object column is pickled
        meta.to_hdf(path, key="text/meta", format="fixed", mode=mode)


@pytest.mark.parametrize("start_dtype", ["float64", "int64"])
def test_meta_decoded_without_pandas_equals_pandas(tmp_path, start_dtype):
    meta = pd.DataFrame({"Word": ["a", "b", "", "c"], "start_frame": np.array([0, 3, 5, 5], dtype=start_dtype),
                         "end_frame": [3.0, 5.0, 5.0, 9.0]})
    path = tmp_path / "meta.h5"
    _write_meta(path, meta)
    pd.testing.assert_frame_equal(read_meta(path), pd.read_hdf(path, "text/meta"))
    with h5py.File(path, "r") as f:
        frames = read_frame(f["text/meta"], ["end_frame", "start_frame"])
    assert list(frames.columns) == ["end_frame", "start_frame"]
    np.testing.assert_array_equal(frames["end_frame"], [3.0, 5.0, 5.0, 9.0])


def test_meta_frames_stored_as_strings_are_non_numeric(tmp_path):
    odd = pd.DataFrame({"Word": ["a"], "start_frame": ["0"], "end_frame": ["x"]})  # frames as strings
    fx = make_pats_root(tmp_path, n_intervals={"train": 1})
    path = fx.path("lec_cosmic", fx.ids()[0])
    delete_key(path, "text/meta")
    _write_meta(path, odd, mode="a")
    with pytest.raises(IntervalError, match="text/meta.*non-numeric") as e:
        read_interval(path, POSE, AUDIO)
    assert e.value.category == "bad text/meta"

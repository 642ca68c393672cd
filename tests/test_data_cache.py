"""The window cache: built once and memory-mapped, rebuilt when the sources or the data config change,
written atomically; messy intervals skipped with reasons (or fatal in strict mode)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ccnce.config import Config
from ccnce.data.cache import LISTED_MISSING, cache_root
from ccnce.data.dataset import load_speaker
from ccnce.errors import DataError
from pats_fixture import (
    explode_frames,
    make_pats_root,
    read_key,
    replace_key,
    set_missing,
    truncate,
)

CFG = Config()


def _build_id(data) -> str:
    return json.loads((data.cache_dir / "manifest.json").read_text())["build_id"]


@pytest.fixture
def fx(tmp_path):
    return make_pats_root(tmp_path / "root", n_intervals={"train": 2, "dev": 1, "test": 1})


def test_second_load_reuses_the_memory_mapped_cache(fx, tmp_path):
    first = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    pose_file = first.cache_dir / "train" / "pose.npy"
    mtime = pose_file.stat().st_mtime_ns
    second = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    assert first.report.built and not second.report.built
    assert second.cache_dir == first.cache_dir and _build_id(second) == _build_id(first)
    assert pose_file.stat().st_mtime_ns == mtime
    assert isinstance(second.train.arrays["pose"], np.memmap)
    assert not [p for p in first.cache_dir.parent.iterdir() if p.name.startswith(".tmp-")]


def test_touching_a_source_file_rebuilds_and_removes_the_stale_entry(fx, tmp_path):
    first = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    path = fx.path("lec_cosmic", fx.ids()[0])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    assert second.report.built and second.cache_dir != first.cache_dir
    assert not first.cache_dir.exists()


def test_modified_content_is_seen_after_rebuild(fx, tmp_path):
    load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    path = fx.path("lec_cosmic", fx.ids()[0])
    replace_key(path, "text/tokens", read_key(path, "text/tokens")[:154])  # trimmed to 154: 19 windows
    data = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    assert data.report.built and len(data.train) == 20 + 19 and data.report.splits["train"].trimmed == 1


def test_changing_a_data_field_selects_another_entry(fx, tmp_path):
    a = load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")
    b = load_speaker(CFG.replace(hop=10), fx.root, progress=False, cache_dir=tmp_path / "c")
    assert b.report.built and b.cache_dir != a.cache_dir and a.cache_dir.exists()
    assert len(b.train) == 2 * ((160 - 64) // 10 + 1)
    c = load_speaker(CFG.replace(epochs=3, seed=3), fx.root, progress=False, cache_dir=tmp_path / "c")
    assert not c.report.built and c.cache_dir == a.cache_dir  # not a data field


def test_cache_dir_comes_from_the_environment(fx, tmp_path, monkeypatch):
    monkeypatch.setenv("CCNCE_CACHE_DIR", str(tmp_path / "env-cache"))
    data = load_speaker(CFG, fx.root, progress=False)
    assert cache_root() == tmp_path / "env-cache"
    assert data.cache_dir.is_relative_to(tmp_path / "env-cache")


def test_max_train_windows_is_a_fixed_subsample(fx, tmp_path):
    cfg = CFG.replace(max_train_windows=7)
    a = load_speaker(cfg, fx.root, progress=False, cache_dir=tmp_path / "c")
    b = load_speaker(cfg.replace(seed=5), fx.root, progress=False, cache_dir=tmp_path / "c")
    assert len(a.train) == 7 and np.array_equal(a.train.window_ids, b.train.window_ids)
    assert a.report.splits["train"].windows == 40  # statistics and clusters use all of them


# ------------------------------------------------------------------------------------------ messy data
@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """Train intervals: ok, listed missing, absent, truncated, NaN audio, short, exploded, trimmed."""
    root = tmp_path_factory.mktemp("messy")
    fx = make_pats_root(root, n_intervals={"train": 8, "dev": 1, "test": 1},
                        frames=[160, 160, 160, 160, 160, 50, 160, 160, 160, 160])
    ok, listed, absent, truncated, nan_audio, short, exploded, trimmed = fx.ids()
    set_missing(fx.root, [listed])
    fx.path("lec_cosmic", absent).unlink()
    truncate(fx.path("lec_cosmic", truncated))
    audio = read_key(fx.path("lec_cosmic", nan_audio), "audio/log_mel_400")
    audio[10] = np.inf
    replace_key(fx.path("lec_cosmic", nan_audio), "audio/log_mel_400", audio)
    explode_frames(fx.path("lec_cosmic", exploded), [100])
    path = fx.path("lec_cosmic", trimmed)
    replace_key(path, "pose/normalize", read_key(path, "pose/normalize")[:156])
    return fx


def test_messy_intervals_are_skipped_with_reasons(messy, tmp_path):
    data = load_speaker(CFG, messy.root, progress=False, cache_dir=tmp_path)
    report = data.report
    assert report.counts == {LISTED_MISSING: 1, "absent": 1, "unreadable": 1, "non-finite": 1}
    train = report.splits["train"]
    assert (train.intervals, train.used, train.short, train.trimmed) == (8, 4, 1, 1)
    # ok: 20, short: 0, exploded at frame 100: 20 - 12, trimmed to 156 frames: 19
    assert train.windows == len(data.train) == 20 + 8 + 19
    assert train.dropped_windows == {"bad pose frames": 12}
    reasons = {s["interval_id"]: s["reason"] for s in report.skipped}
    assert str(messy.path("lec_cosmic", messy.ids()[2])) in reasons[messy.ids()[2]]
    assert any("trimmed to 156" in n["note"] for n in report.notes)
    assert "skipped" in report.summary() and "1 absent" in report.summary()
    assert np.isfinite(data.train[list(range(len(data.train)))]["pose"].numpy()).all()


def test_strict_mode_fails_on_the_first_bad_interval(messy, tmp_path):
    with pytest.raises(DataError, match="no such file.*strict mode") as e:
        load_speaker(CFG.replace(strict=True), messy.root, progress=False, cache_dir=tmp_path)
    assert str(messy.path("lec_cosmic", messy.ids()[2])) in str(e.value)  # the absent one, not the listed one
    leftovers = list((tmp_path / "windows" / "lec_cosmic").iterdir())
    assert leftovers == []  # the failed build left nothing behind


def test_no_training_window_is_an_error(tmp_path):
    fx = make_pats_root(tmp_path, n_intervals={"train": 2, "test": 1}, frames=40)
    with pytest.raises(DataError, match="no training windows.*2 shorter than 64"):
        load_speaker(CFG, fx.root, progress=False, cache_dir=tmp_path / "c")


def test_unknown_speaker_names_the_csv(pats_root, tmp_path):
    with pytest.raises(DataError, match=r"cmu_intervals_df.csv: unknown speaker 'bee'.*lec_cosmic"):
        load_speaker(CFG.replace(speaker="bee"), pats_root.root, progress=False, cache_dir=tmp_path)

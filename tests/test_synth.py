"""``ccnce synth``: the synthetic PATS-layout dataset (SYNTHETIC.md, PATS.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from ccnce.data.synth import GENERATOR_VERSION, MARKER_NAME, generate
from ccnce.data.synth import lexicon
from ccnce.errors import CcnceError

SPEAKERS = ["maher", "colbert"]
PATS_SHAPES = {  # key -> (trailing shape, dtype)
    "pose/data": ((104,), np.float64),
    "pose/normalize": ((104,), np.float64),
    "pose/confidence": ((104,), np.float64),
    "audio/log_mel_400": ((64,), np.float64),
    "audio/log_mel_512": ((128,), np.float64),
    "audio/silence": ((), np.int64),
    "text/tokens": ((), np.int64),
    "text/bert": ((768,), np.float32),
    "text/w2v": ((300,), np.float64),
    "synth/gesture": ((), np.int64),
    "synth/phrase": ((), np.int64),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "root"
    summary = generate(out, speakers=SPEAKERS, size="small", seed=0, progress=False)
    assert summary["root"] == str(out.resolve()) and summary["intervals"] == 16
    return out


def _files(root: Path, speaker: str | None = None) -> list[Path]:
    return sorted((root / "processed").glob(f"{speaker or '*'}/*.h5"))


def _table(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "cmu_intervals_df.csv", dtype=str)


# ------------------------------------------------------------------------------------------ layout
def test_interval_table_and_missing_list(root):
    df = _table(root)
    assert list(df.columns) == ["dataset", "delta_time", "end_time", "interval_id", "speaker", "start_time",
                                "video_fn", "video_link"]
    assert set(df["speaker"]) == set(SPEAKERS)
    assert all(re.fullmatch(r"\d+|cmu\d{10}", i) for i in df["interval_id"])
    assert df["interval_id"].str.fullmatch(r"\d+").any() and df["interval_id"].str.startswith("cmu").any()
    assert df["interval_id"].is_unique
    stamp = r"2019-09-26 \d\d:\d\d:\d\d\.\d{9}"
    assert df["start_time"].str.fullmatch(stamp).all() and df["end_time"].str.fullmatch(stamp).all()
    for spk, rows in df.groupby("speaker"):
        assert {"train", "dev", "test"} <= set(rows["dataset"]), spk
    start = pd.to_datetime(df["start_time"])
    end = pd.to_datetime(df["end_time"])
    np.testing.assert_allclose((end - start).dt.total_seconds(), df["delta_time"].astype(float), atol=1e-6)
    with h5py.File(root / "missing_intervals.h5", "r") as f:
        assert h5py.check_string_dtype(f["intervals"].dtype) is not None
    marker = json.loads((root / MARKER_NAME).read_text())
    assert marker["complete"] and marker["generator_version"] == GENERATOR_VERSION
    assert sorted(p.stem for p in _files(root)) == sorted(df["interval_id"])


def test_every_pats_key_at_its_shape_dtype_and_rate(root):
    df = _table(root).set_index("interval_id")
    for path in _files(root):
        seconds = float(df.loc[path.stem, "delta_time"])
        with h5py.File(path, "r") as f:
            t = f["pose/data"].shape[0]
            assert abs(t - 15 * seconds) <= 1, path
            for key, (tail, dtype) in PATS_SHAPES.items():
                d = f[key]
                assert d.dtype == dtype, (path, key, d.dtype)
                assert d.shape[1:] == tail, (path, key, d.shape)
                assert d.chunks is None and d.compression is None, (path, key)
            for key in ("pose/normalize", "pose/confidence", "text/tokens", "text/bert", "text/w2v",
                        "synth/gesture", "synth/phrase"):
                assert f[key].shape[0] == t, (path, key)
            assert abs(f["audio/log_mel_400"].shape[0] - 100 * seconds) <= 3
            assert abs(f["audio/log_mel_512"].shape[0] - 22050 / 512 * seconds) <= 2
            assert abs(f["audio/silence"].shape[0] - 2 * t) <= 2
            assert set(np.unique(f["audio/silence"][()])) <= {0, 1}
        meta = pd.read_hdf(path, "text/meta")
        assert list(meta.columns) == ["Word", "start_frame", "end_frame"]
        assert meta["start_frame"].dtype == np.float64 and meta["end_frame"].dtype == np.float64


def test_word_timings_tile_the_frames_and_carry_the_tokens(root):
    from ccnce.models.pretrained import load_tokenizer

    tok = load_tokenizer()
    for path in _files(root):
        meta = pd.read_hdf(path, "text/meta")
        with h5py.File(path, "r") as f:
            t, tokens = f["pose/data"].shape[0], f["text/tokens"][()]
        start, end = meta["start_frame"].to_numpy(), meta["end_frame"].to_numpy()
        assert start[0] == 0 and end[-1] == t
        np.testing.assert_array_equal(start[1:], end[:-1])
        assert (end >= start).all()
        for word, a, b in zip(meta["Word"], start.astype(int), end.astype(int)):
            if b > a:
                assert set(tokens[a:b]) <= set(tok.convert_tokens_to_ids(tok.tokenize(word))), (path, word)


def test_words_start_where_speech_is_heard(root):
    """Word onsets come from eSpeak's word events: the audio right after an onset is voiced."""
    voiced, total = 0, 0
    for path in _files(root):
        meta = pd.read_hdf(path, "text/meta")
        with h5py.File(path, "r") as f:
            silence = f["audio/silence"][()]
        for a, b in zip(meta["start_frame"].astype(int)[1:], meta["end_frame"].astype(int)[1:]):
            if b - a >= 2:
                total += 1
                voiced += int((silence[2 * a: 2 * a + 4] == 0).any())
    assert total > 100 and voiced / total > 0.9


def test_pose_normalize_confidence_and_detector_noise(root):
    collapsed = {s: 0 for s in SPEAKERS}
    dropped = 0
    for path in _files(root):
        with h5py.File(path, "r") as f:
            data, norm, conf = f["pose/data"][()], f["pose/normalize"][()], f["pose/confidence"][()]
        rs = np.hypot(norm[:, 1], norm[:, 53])
        np.testing.assert_allclose(rs, 167.0, rtol=1e-9)
        np.testing.assert_array_equal(norm[:, [0, 52]], data[:, [0, 52]])
        np.testing.assert_array_equal(conf[:, :52], conf[:, 52:])
        assert conf.min() >= 0 and conf.max() <= 1.04
        gone = conf[:, :52] == 0
        dropped += int(gone.sum())
        np.testing.assert_allclose(data[:, :52][gone], -np.broadcast_to(data[:, [0]], gone.shape)[gone])
        collapsed[path.parent.name] += int((np.hypot(data[:, 1], data[:, 53]) < 5).sum())
    assert dropped > 0
    assert collapsed["colbert"] > 0, "colbert's shoulder collapses now and then (real normalize std ~1e4)"


def test_some_intervals_are_shorter_than_a_window_and_the_reader_reads_everything(root):
    from ccnce.config import Config
    from ccnce.data.inspect import inspect_path

    frames = {p.stem: h5py.File(p, "r")["pose/data"].shape[0] for p in _files(root)}
    assert any(t < 64 for t in frames.values()) and any(t >= 64 for t in frames.values())
    summary = inspect_path(root, cfg=Config())
    assert summary["skipped"] == [] and summary["skipped_counts"] == {}
    used = sum(s["used"] for spk in summary["splits"].values() for s in spk.values())
    assert used == len(frames)
    assert not any("trimmed" in p for p in summary["problems"]), "audio and pose lengths agree exactly"


def test_cli_inspect_json_reports_the_generated_root(root, capsys):
    from ccnce.cli import main

    assert main(["inspect", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skipped"] == [] and out["windows"] > 0 and sorted(out["speakers"]) == sorted(SPEAKERS)


# ------------------------------------------------------------------------------------------ truth
def test_gestures_follow_their_phrase_families(root):
    """Where a key phrase is said, the gesture performed is one its family links to (or none fits)."""
    hits, phrases, families_seen = 0, 0, set()
    for path in _files(root):
        with h5py.File(path, "r") as f:
            gesture, phrase = f["synth/gesture"][()], f["synth/phrase"][()]
        assert gesture.min() >= 0 and gesture.max() < lexicon.N_GESTURES
        assert phrase.min() >= -1 and phrase.max() < lexicon.N_FAMILIES
        edges = np.flatnonzero(np.diff(np.r_[-2, phrase, -2])) if len(phrase) else []
        for a, b in zip(edges[:-1], edges[1:]):
            fam = phrase[a]
            if fam < 0:
                continue
            phrases += 1
            families_seen.add(int(fam))
            linked = {c for c, _ in lexicon.FAMILIES[fam].classes}
            performed = set(np.unique(gesture[a:b]))
            hits += bool(linked & performed)
    assert phrases > 20 and hits / phrases > 0.85 and len(families_seen) > 10


def test_lexicon_is_many_to_one_with_some_ambiguity():
    for g in lexicon.GESTURES:
        fams = lexicon.families_of(g.id, include_ambiguous=False)
        assert len(fams) >= 3, g.name
        assert all(len(f.phrasings) >= 3 for f in fams)
    phrasings = [p for f in lexicon.FAMILIES for p in f.phrasings]
    assert len(phrasings) == len(set(phrasings))
    assert lexicon.ambiguous_fraction() == pytest.approx(lexicon.AMBIGUOUS_FRACTION)
    for f in lexicon.FAMILIES:
        assert sum(p for _, p in f.classes) == pytest.approx(1.0)
        assert len(f.classes) == (2 if f.ambiguous else 1)
    padded = [f" {p} " for p in phrasings]
    assert not [x for x in lexicon.FILLERS if any(f" {x} " == p for p in padded)]


def test_ambiguous_families_draw_their_classes_at_the_set_probabilities():
    rng = np.random.default_rng(0)
    for fam in (f for f in lexicon.FAMILIES if f.ambiguous):
        draws = np.array([lexicon.sample_class(fam, rng) for _ in range(4000)])
        for cls, p in fam.classes:
            assert (draws == cls).mean() == pytest.approx(p, abs=0.03), fam.name


def test_share_of_ambiguous_key_phrases_is_what_the_lexicon_says():
    from ccnce.data.synth.script import build_script

    rng = np.random.default_rng(1)
    keys = [s.family for _ in range(1500) for s in build_script(rng, 10.0, 170) if s.family >= 0]
    share = np.mean([lexicon.FAMILIES[f].ambiguous for f in keys])
    assert len(keys) > 5000 and share == pytest.approx(lexicon.AMBIGUOUS_FRACTION, abs=0.02)


# ------------------------------------------------------------------------------------------ audio
def test_log_mels_are_librosa_of_the_waveform_with_pats_parameters():
    import librosa

    from ccnce.data.synth import _vocabulary_ids, plan_speaker
    from ccnce.data.synth.interval import make_interval
    from ccnce.data.synth.speakers import speaker_style
    from ccnce.data.synth.speech import Synthesizer

    plan = plan_speaker("bee", "small", 0).intervals[0]
    it = make_interval(plan, speaker_style("bee"), Synthesizer(), _vocabulary_ids())
    assert it.sr == 22050
    y16 = librosa.resample(it.wave, orig_sr=22050, target_sr=16000)
    m400 = librosa.feature.melspectrogram(y=y16, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64,
                                          fmin=125, fmax=7500, power=1.0, center=False).astype(np.float64)
    m512 = librosa.feature.melspectrogram(y=it.wave, sr=22050, n_fft=2048, hop_length=512,
                                          n_mels=128).astype(np.float64)
    np.testing.assert_array_equal(it.arrays["audio/log_mel_400"], np.log(np.where(m400 == 0, 1e-6, m400)).T)
    np.testing.assert_array_equal(it.arrays["audio/log_mel_512"], np.log(np.where(m512 == 0, 1e-10, m512)).T)
    assert it.arrays["audio/log_mel_400"].std() > 1.0  # speech, not silence


def test_espeak_word_events_give_one_increasing_onset_per_word():
    from ccnce.data.synth.speakers import VOICES
    from ccnce.data.synth.speech import Synthesizer

    words = "someone gave me a gift and my heart is beating so fast".split()
    utt = Synthesizer().speak(words, VOICES["oliver"], breaks={4})
    assert len(utt.onsets) == len(words) and (np.diff(utt.onsets) > 0).all()
    assert utt.onsets[0] < 0.2 and utt.onsets[-1] < len(utt.wave) / utt.sr
    assert utt.onsets[5] - utt.onsets[4] > 0.25  # the comma pause after "gift"


# ------------------------------------------------------------------------------------------ determinism
def _arrays(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in PATS_SHAPES}


def test_same_seed_gives_identical_arrays_whatever_the_workers(root, tmp_path):
    again = tmp_path / "again"
    generate(again, speakers=["colbert"], size="small", seed=0, progress=False, workers=1)
    for path in _files(root, "colbert"):
        a, b = _arrays(path), _arrays(again / "processed" / "colbert" / path.name)
        for key in PATS_SHAPES:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{path.name} {key}")
        pd.testing.assert_frame_equal(pd.read_hdf(path, "text/meta"),
                                      pd.read_hdf(again / "processed" / "colbert" / path.name, "text/meta"))


def test_another_seed_gives_other_data(root, tmp_path):
    other = tmp_path / "other"
    generate(other, speakers=["colbert"], size="small", seed=1, progress=False)
    first = _files(root, "colbert")[0]
    a, b = _arrays(first), _arrays(other / "processed" / "colbert" / first.name)
    assert a["pose/data"].shape != b["pose/data"].shape or not np.array_equal(a["pose/data"], b["pose/data"])


# ------------------------------------------------------------------------------------------ errors
def test_bad_requests_raise_one_clear_error(tmp_path, capsys):
    from ccnce.cli import main

    with pytest.raises(CcnceError, match="unknown synthetic speaker"):
        generate(tmp_path / "a", speakers=["nobody"], size="small")
    with pytest.raises(CcnceError, match="unknown size"):
        generate(tmp_path / "a", speakers=["bee"], size="huge")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert main(["synth", "--out", str(foreign), "--speakers", "bee", "--size", "small", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ccnce: error:") and "not empty" in err and len(err.splitlines()) == 1
    assert (foreign / "thesis.tex").read_text() == "precious"

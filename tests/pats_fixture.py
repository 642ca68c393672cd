"""A small PATS-layout root with known content, and helpers to damage it (for tests of every module).

``make_pats_root(tmp_path)`` writes ``cmu_intervals_df.csv`` (the 8 columns), ``missing_intervals.h5``
and ``processed/<speaker>/<id>.h5`` with every PATS key at its shape and dtype (PATS.md), plus
``synth/gesture`` and ``synth/phrase``. The content is known, so tests can check exact values:

- ``audio/log_mel_400[k, m] = k / 100 + m`` and ``audio/log_mel_512[k, m] = k / rate + m``
  (rate = sr / 512): column 0 is the start time in seconds of audio frame k;
  the lengths follow librosa's ``center=False`` framing of ``T / 15`` seconds of audio;
- ``text/tokens`` repeats sub-word ids over frames; ``PatsFixture.segments[id]`` lists the true
  sub-words as (token id, first frame, end frame); ``text/meta`` lists words (some of zero length,
  some repeated back to back so only the word boundary separates them);
- ``synth/gesture[t] = (t // 16) % 5``, ``synth/phrase[t] = (t // 32) % 3``;
- ``pose/data``: a rest pose with smooth per-joint motion; ``pose/normalize`` rescales it per frame so
  that |Neck→RShoulder| = 167 (neck columns 0 and 52 untouched).

Ids are strings: even ones numeric with leading zeros (``"0001009"``), odd ones ``cmu`` + 10 digits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ccnce.data.pats import write_index, write_interval

FPS = 15
SPLITS = ("train", "dev", "test")


@dataclass
class PatsFixture:
    root: Path
    intervals: dict[str, dict[str, list[str]]]  # speaker -> split -> interval ids
    frames: dict[str, int]  # interval id -> pose frames
    segments: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)  # id -> (token, lo, hi)
    sr_512: int = 44100

    def path(self, speaker: str, interval_id: str) -> Path:
        return self.root / "processed" / speaker / f"{interval_id}.h5"

    def ids(self, speaker: str = "lec_cosmic", split: str = "train") -> list[str]:
        return self.intervals[speaker][split]


def n_audio_frames(n_frames: int, sr: int, n_fft: int, hop: int) -> int:
    """Frames of a log-mel with center=False over n_frames / 15 s of audio at sr."""
    n_samples = round(n_frames / FPS * sr)
    return 1 + (n_samples - n_fft) // hop


def _text(n_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame, list[tuple[int, int, int]]]:
    tokens = np.zeros(n_frames, dtype=np.int64)
    words, segments = [], []
    t, previous = 0, None
    while t < n_frames:
        if rng.random() < 0.1:  # a zero-length word
            words.append((f"z{t}", t, t))
        word = previous if previous is not None and rng.random() < 0.2 else int(rng.integers(1000, 1020))
        duration = min(int(rng.integers(1, 7)), n_frames - t)
        pieces = [(word, duration)]
        if duration >= 2 and rng.random() < 0.3:
            first = duration // 2
            pieces = [(word, first), (word + 5000, duration - first)]
        lo = t
        for token, d in pieces:
            tokens[lo:lo + d] = token
            segments.append((token, lo, lo + d))
            lo += d
        words.append((f"w{word}", t, t + duration))
        previous, t = word, t + duration
    meta = pd.DataFrame({"Word": [w for w, _, _ in words],
                         "start_frame": np.array([s for _, s, _ in words], dtype=np.float64),
                         "end_frame": np.array([e for _, _, e in words], dtype=np.float64)})
    return tokens, meta, segments


def _pose(n_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rest = rng.normal(0.0, 60.0, size=(2, 52))
    rest[:, 0] = (640.0, 200.0)  # neck: absolute pixels
    rest[:, 1] = (-80.0, 10.0)  # RShoulder: right side has negative x
    rest[:, 4] = (80.0, 10.0)
    t = np.arange(n_frames)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, size=(1, 2, 52))
    amplitude = rng.uniform(2.0, 15.0, size=(1, 2, 52))
    data = rest[None] + amplitude * np.sin(2 * np.pi * t / 30.0 + phase)
    data[:, :, 0] = rest[:, 0]
    data = data.reshape(n_frames, 104)
    shoulder = np.hypot(data[:, 1], data[:, 53])
    normalize = data * (167.0 / shoulder)[:, None]
    normalize[:, [0, 52]] = data[:, [0, 52]]
    return data, normalize


def interval_content(n_frames: int, seed: int, sr_512: int = 44100, with_synth: bool = True
                     ) -> tuple[dict[str, np.ndarray], pd.DataFrame, list[tuple[int, int, int]]]:
    """(datasets, text/meta, sub-word segments) of one interval with known content."""
    rng = np.random.default_rng(seed)
    data, normalize = _pose(n_frames, rng)
    tokens, meta, segments = _text(n_frames, rng)
    n400 = n_audio_frames(n_frames, 16000, 512, 160)
    n512 = n_audio_frames(n_frames, sr_512, 2048, 512)
    mel400 = np.arange(n400)[:, None] / 100.0 + np.arange(64)[None, :]
    mel512 = np.arange(n512)[:, None] / (sr_512 / 512) + np.arange(128)[None, :]
    bert = np.zeros((n_frames, 768), dtype=np.float32)
    bert[:, 0] = tokens
    w2v = np.zeros((n_frames, 300), dtype=np.float64)
    w2v[:, 0] = tokens
    datasets = {
        "pose/data": data, "pose/normalize": normalize, "pose/confidence": np.full((n_frames, 104), 0.9),
        "audio/log_mel_400": mel400.astype(np.float64), "audio/log_mel_512": mel512.astype(np.float64),
        "audio/silence": (np.arange(2 * n_frames) % 7 == 0).astype(np.int64),
        "text/tokens": tokens, "text/bert": bert, "text/w2v": w2v,
    }
    if with_synth:
        t = np.arange(n_frames)
        datasets["synth/gesture"] = ((t // 16) % 5).astype(np.int64)
        datasets["synth/phrase"] = ((t // 32) % 3).astype(np.int64)
    return datasets, meta, segments


def _interval_id(k: int) -> str:
    return f"{1009 + k:07d}" if k % 2 == 0 else f"cmu{2_000_000_000 + k:010d}"


def make_pats_root(tmp_path: str | Path, speakers: Sequence[str] = ("lec_cosmic",),
                   n_intervals: Mapping[str, int] | None = None, frames: int | Sequence[int] = 160,
                   seed: int = 0, sr_512: int = 44100, with_synth: bool = True,
                   missing: Sequence[str] = ()) -> PatsFixture:
    """Write a PATS-layout root under ``tmp_path`` (see the module docstring).

    ``frames`` is one length for all intervals or a sequence cycled over them (in CSV order);
    ``missing`` lists interval ids for ``missing_intervals.h5``.
    """
    root = Path(tmp_path)
    n_intervals = dict(n_intervals or {"train": 4, "dev": 1, "test": 1})
    lengths = [frames] if isinstance(frames, int) else list(frames)
    rows, intervals, frame_of, segments_of = [], {}, {}, {}
    k = 0
    for s_index, speaker in enumerate(speakers):
        intervals[speaker] = {split: [] for split in SPLITS}
        offset = 30.0
        for split in SPLITS:
            for _ in range(n_intervals.get(split, 0)):
                interval_id = _interval_id(k)
                n_frames = lengths[k % len(lengths)]
                datasets, meta, segments = interval_content(n_frames, seed * 100_003 + k, sr_512, with_synth)
                write_interval(root / "processed" / speaker / f"{interval_id}.h5", datasets, meta)
                duration = n_frames / FPS
                rows.append({
                    "dataset": split, "delta_time": f"{duration:.6f}",
                    "end_time": f"2019-09-26 00:{int(offset + duration) // 60:02d}:{(offset + duration) % 60:012.9f}",
                    "interval_id": interval_id, "speaker": speaker,
                    "start_time": f"2019-09-26 00:{int(offset) // 60:02d}:{offset % 60:012.9f}",
                    "video_fn": f"{speaker}_video_{s_index}.mp4",
                    "video_link": f"https://www.youtube.com/watch?v=fixture{s_index}",
                })
                offset += duration + 1.0
                intervals[speaker][split].append(interval_id)
                frame_of[interval_id] = n_frames
                segments_of[interval_id] = segments
                k += 1
    write_index(root, rows, missing=missing)
    return PatsFixture(root, intervals, frame_of, segments_of, sr_512)


# ------------------------------------------------------------------------------------------ damage
def truncate(path: Path, fraction: float = 0.5) -> None:
    """Cut the file to ``fraction`` of its size (a partial download)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * fraction))


def write_garbage(path: Path) -> None:
    path.write_text("this is not an HDF5 file\n")


def delete_key(path: Path, key: str) -> None:
    with h5py.File(path, "a") as f:
        del f[key]


def replace_key(path: Path, key: str, value: np.ndarray) -> None:
    with h5py.File(path, "a") as f:
        if key in f:
            del f[key]
        f.create_dataset(key, data=value)


def read_key(path: Path, key: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[key][()]


def explode_frames(path: Path, frames: Sequence[int], factor: float = 500.0) -> None:
    """Make ``pose/normalize`` blow up on ``frames`` as when the shoulder detection collapses."""
    pose = read_key(path, "pose/normalize")
    keep = pose[:, [0, 52]].copy()
    pose[list(frames)] *= factor
    pose[:, [0, 52]] = keep
    replace_key(path, "pose/normalize", pose)


def set_missing(root: Path, ids: Sequence[str], as_bytes: bool = False) -> None:
    """Rewrite ``missing_intervals.h5`` with ``ids`` (as variable-length str, or as fixed bytes)."""
    with h5py.File(root / "missing_intervals.h5", "w") as f:
        if as_bytes:
            f.create_dataset("intervals", data=np.array([i.encode() for i in ids], dtype="S"))
        else:
            f.create_dataset("intervals", data=list(ids), dtype=h5py.string_dtype())

"""Interval → fixed-length windows: pose, time-aligned audio, collapsed sub-words, ground truth.

A window is ``window`` consecutive pose frames starting every ``hop`` frames; an interval of ``T``
frames yields ``floor((T - window) / hop) + 1`` windows (none when ``T < window``), minus those dropped:

- windows that contain a bad pose frame (non-finite or exploded, see
  :func:`ccnce.data.pats.exploded_frames`): their pose is not a pose, so no model should learn it;
- with ``audio_alignment="reference"`` only, windows whose audio indices run past the audio (the nominal
  103/89 Hz rates reach the end of the audio before the pose does; see :mod:`ccnce.data.align`).

Text: the frame-repeated ``text/tokens`` of a window collapse to runs; a new sub-word starts where the
id changes **or** where ``text/meta`` starts a word (so "very very" stays two tokens). Each sub-word keeps
its duration in frames; durations sum to ``window``. A sub-word cut by the window's edge keeps only its
frames inside the window. Zero-length words have no frames and emit nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ccnce.data import align
from ccnce.data.pats import Interval

UNKNOWN_LABEL = -1


def n_windows(n_frames: int, window: int, hop: int) -> int:
    """Number of windows of ``window`` frames every ``hop`` frames in ``n_frames`` frames."""
    return 0 if n_frames < window else (n_frames - window) // hop + 1


def window_starts(n_frames: int, window: int, hop: int) -> np.ndarray:
    return np.arange(n_windows(n_frames, window, hop), dtype=np.int64) * hop


@dataclass
class Windows:
    """The windows of one interval, as arrays ready to append to a cache."""

    starts: np.ndarray  # (N,) int64
    pose: np.ndarray  # (N, W, 96) float64
    audio: np.ndarray  # (N, W, n_mels) float64
    tokens: np.ndarray  # (sum of n_tokens,) int64, window after window
    durations: np.ndarray  # same length, int64
    n_tokens: np.ndarray  # (N,) int64
    ground_truth: dict[str, np.ndarray]  # "gesture"/"phrase" -> (N, W) int64, -1 when unknown
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> windows dropped

    def __len__(self) -> int:
        return len(self.starts)


def valid_starts(interval: Interval, window: int, hop: int, audio_key: str,
                 alignment: str) -> tuple[np.ndarray, dict[str, int]]:
    """Start frames of the windows an interval yields, and how many were dropped for which reason."""
    starts = window_starts(interval.n_frames, window, hop)
    dropped: dict[str, int] = {}
    if len(starts) == 0:
        return starts, dropped
    bad_before = np.concatenate([[0], np.cumsum(interval.bad_frames, dtype=np.int64)])
    has_bad = bad_before[starts + window] - bad_before[starts] > 0
    if has_bad.any():
        dropped["bad pose frames"] = int(has_bad.sum())
    keep = ~has_bad
    rate = align.alignment_rate(audio_key, alignment, len(interval.audio), interval.n_frames)
    past_end = align.audio_index(starts + window - 1, rate) >= len(interval.audio)
    if (past_end & keep).any():
        dropped["audio past end (reference alignment)"] = int((past_end & keep).sum())
    keep &= ~past_end
    return starts[keep], dropped


def collapse_tokens(tokens: np.ndarray, new_word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame-repeated ids of one window → (distinct consecutive sub-word ids, their frame durations).

    ``new_word[t]`` is True where a word starts at frame ``t``; it splits a run of equal ids.
    """
    change = np.ones(len(tokens), dtype=bool)
    change[1:] = (tokens[1:] != tokens[:-1]) | new_word[1:]
    first = np.flatnonzero(change)
    durations = np.diff(np.append(first, len(tokens)))
    return tokens[first].astype(np.int64), durations.astype(np.int64)


def interval_windows(interval: Interval, window: int, hop: int, audio_key: str, alignment: str) -> Windows:
    """All usable windows of ``interval`` (see the module docstring for what is dropped and why)."""
    starts, dropped = valid_starts(interval, window, hop, audio_key, alignment)
    frames = starts[:, None] + np.arange(window)[None, :]  # (N, W)
    rate = align.alignment_rate(audio_key, alignment, len(interval.audio), interval.n_frames)
    audio = interval.audio[align.audio_index(frames, rate)]

    new_word = np.zeros(interval.n_frames, dtype=bool)
    new_word[interval.word_starts] = True
    ids, durations, counts = [], [], np.zeros(len(starts), dtype=np.int64)
    for i, s in enumerate(starts):
        w_ids, w_dur = collapse_tokens(interval.tokens[s:s + window], new_word[s:s + window])
        ids.append(w_ids)
        durations.append(w_dur)
        counts[i] = len(w_ids)
    empty = np.zeros(0, dtype=np.int64)

    ground_truth = {}
    for name in ("gesture", "phrase"):
        if name in interval.ground_truth:
            ground_truth[name] = interval.ground_truth[name][frames]
        else:
            ground_truth[name] = np.full(frames.shape, UNKNOWN_LABEL, dtype=np.int64)
    return Windows(starts=starts, pose=interval.pose[frames], audio=audio,
                   tokens=np.concatenate(ids) if ids else empty,
                   durations=np.concatenate(durations) if durations else empty,
                   n_tokens=counts, ground_truth=ground_truth, dropped=dropped)

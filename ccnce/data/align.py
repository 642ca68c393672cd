"""Audio-to-pose time alignment: which log-mel frame belongs to which 15 fps pose frame (PATS.md).

Pose is sampled at :data:`POSE_FPS` = 15 frames per second; pose frame ``t`` starts at time ``t / 15`` s.
The log-mel features have their own frame rate ``r``: audio frame ``k`` starts at ``k / r`` s (PATS
computed them with ``center=False``, so frame ``k`` covers the samples from ``k * hop`` on). A window of
64 pose frames gets 64 audio steps, one per pose frame: **the audio frame that contains the pose frame's
start time**, ``k(t) = floor(t * r / 15)``. This subsamples audio (100 Hz → 15 Hz) by picking frames, not
by averaging, so every audio step is a real log-mel frame taken at the right moment.

True rates (``alignment="time"``, the default):

- ``audio/log_mel_400``: PATS resampled all audio to 16 kHz and used hop 160, so ``r = 100`` Hz exactly.
- ``audio/log_mel_512``: computed at the video's *native* sample rate with hop 512, so the rate depends on
  the file (44.1 kHz ⇒ 86.13 Hz, 48 kHz ⇒ 93.75 Hz). We derive it from the interval itself: the audio
  covers the same duration as the pose, so ``r ≈ (Ta + frames lost to center=False) / (T / 15)``; the
  estimate is snapped to the nearest standard sample rate / 512 (within :data:`RATE_SNAP_TOLERANCE`).
  When no standard rate is that close the durations disagree anyway; we then assume 44.1 kHz, and the
  length check of :mod:`ccnce.data.pats` decides whether the interval is usable.

Reference rates (``alignment="reference"``): the original loader assumed 103 Hz for ``log_mel_400`` and
89 Hz for ``log_mel_512``. Using those nominal rates reproduces its behaviour, including its drift: at
pose time ``s`` the reference picks audio from time ``s * 103 / 100`` (3 % late, i.e. 0.3 s after 10 s of
an interval) for ``log_mel_400``, and ``s * 89 / 86.13`` (3.3 % late) for ``log_mel_512`` at 44.1 kHz.
Windows whose reference audio indices run past the end of the audio are dropped, never padded.
"""

from __future__ import annotations

import math

import numpy as np

from ccnce.errors import ConfigError

POSE_FPS = 15.0

AUDIO_HOP: dict[str, int] = {"audio/log_mel_400": 160, "audio/log_mel_512": 512}
AUDIO_N_FFT: dict[str, int] = {"audio/log_mel_400": 512, "audio/log_mel_512": 2048}
N_MELS: dict[str, int] = {"audio/log_mel_400": 64, "audio/log_mel_512": 128}

#: Rates the original loader assumed (PATS.md, "How the papers train on it").
REFERENCE_RATES: dict[str, float] = {"audio/log_mel_400": 103.0, "audio/log_mel_512": 89.0}

#: Sample rates a video's audio track plausibly has; log_mel_512 runs at one of these / 512.
STANDARD_SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
DEFAULT_NATIVE_SAMPLE_RATE = 44100
RATE_SNAP_TOLERANCE = 0.02  # relative; neighbouring standard rates differ by >= 8.8 %


def _check_key(audio_key: str) -> None:
    if audio_key not in AUDIO_HOP:
        raise ConfigError(f"unknown audio key {audio_key!r}; expected one of {', '.join(AUDIO_HOP)}")


def true_audio_rate(audio_key: str, n_audio: int, n_pose: int) -> float:
    """The real frame rate (Hz) of ``audio_key`` in an interval with ``n_audio`` audio and ``n_pose`` pose frames."""
    _check_key(audio_key)
    if audio_key == "audio/log_mel_400":
        return 16000 / 160
    hop = AUDIO_HOP[audio_key]
    if n_pose <= 0 or n_audio <= 0:
        return DEFAULT_NATIVE_SAMPLE_RATE / hop
    # center=False drops the last (n_fft - hop) / hop frames' worth of samples.
    lost = AUDIO_N_FFT[audio_key] / hop - 1
    estimate = (n_audio + lost) / (n_pose / POSE_FPS)
    best = min(STANDARD_SAMPLE_RATES, key=lambda sr: abs(sr / hop - estimate))
    if abs(best / hop - estimate) <= RATE_SNAP_TOLERANCE * best / hop:
        return best / hop
    return DEFAULT_NATIVE_SAMPLE_RATE / hop


def alignment_rate(audio_key: str, alignment: str, n_audio: int, n_pose: int) -> float:
    """The rate used to index audio: the true rate (``"time"``) or the original loader's (``"reference"``)."""
    _check_key(audio_key)
    if alignment == "time":
        return true_audio_rate(audio_key, n_audio, n_pose)
    if alignment == "reference":
        return REFERENCE_RATES[audio_key]
    raise ConfigError(f"audio_alignment={alignment!r} is not valid; expected 'time' or 'reference'")


def audio_index(pose_frames: np.ndarray, rate: float) -> np.ndarray:
    """Index of the audio frame containing the start time of each pose frame: ``floor(t * rate / 15)``."""
    t = np.asarray(pose_frames, dtype=np.float64)
    # The epsilon keeps exact products (e.g. t=3, 100 Hz -> 20.0) from rounding down to 19.
    return np.floor(t * rate / POSE_FPS + 1e-9).astype(np.int64)


def audio_covered_frames(n_audio: int, rate: float) -> int:
    """How many pose frames (from frame 0) have their start time inside ``n_audio`` audio frames."""
    return max(0, math.ceil(n_audio * POSE_FPS / rate - 1e-9))

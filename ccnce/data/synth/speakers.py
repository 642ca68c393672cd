"""Per-speaker style of the synthetic speakers, derived from the real PATS statistics shipped in
``ccnce/assets/pats_stats`` (attribution in its ATTRIBUTION.md).

From ``pose/data`` mean (pixels, joints relative to the neck; the neck absolute) we take the rest pose,
the shoulder half-width ``unit`` (every motion is expressed in this unit), the upper-arm length and the
camera framing; from its variance the motion spread (wrist std / unit) and handedness (the wrist with
the larger variance is the dominant one). ``pose/normalize`` variance tells which speakers suffer
exploded normalisation (colbert: std ~1e4 px), which we reproduce with collapsed-shoulder frames.
What the statistics say, measured: colbert does not move less than the others relative to his body (his
wrist spread is among the largest); his tiny L1 scale in the paper comes from that exploded std.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np

from ccnce.config import SPEAKERS
from ccnce.data.synth.speech import Voice
from ccnce.errors import DataError

STATS_DIR = Path(__file__).resolve().parents[2] / "assets" / "pats_stats"

# Voices: language/accent variant, words per minute, pitch (0-99). John Oliver speaks British English.
VOICES: dict[str, Voice] = {
    "maher": Voice("en-us+m3", rate=172, pitch=42, pitch_range=60),
    "bee": Voice("en-us+f3", rate=182, pitch=62, pitch_range=70),
    "lec_cosmic": Voice("en-us+m1", rate=150, pitch=50, pitch_range=45),
    "oliver": Voice("en-gb-x-rp+m7", rate=190, pitch=48, pitch_range=75),
    "colbert": Voice("en-us-nyc+m5", rate=178, pitch=45, pitch_range=65),
}

# Collapsed-shoulder detections per pose frame, and how far the right shoulder collapses toward the neck
# (its remaining length in pixels). Only colbert's real normalize statistics explode.
_COLLAPSE: dict[str, tuple[float, tuple[float, float]]] = {
    "colbert": (1 / 300, (0.05, 3.0)),
}
_MILD_COLLAPSE = (1 / 3000, (25.0, 70.0))


@dataclass(frozen=True)
class SpeakerStyle:
    """Everything that makes one synthetic speaker look and sound like itself."""

    name: str
    rest: np.ndarray  # (52, 2) rest pose relative to the neck, pixels (neck row = 0)
    neck: np.ndarray  # (2,) mean absolute neck position, pixels
    neck_std: np.ndarray  # (2,) spread of the neck position between intervals (camera framing)
    unit: float  # shoulder half-width, pixels
    upper_arm: float  # pixels
    forearm: float  # pixels
    hand: float  # wrist to middle fingertip, pixels
    spread: float  # motion amplitude factor (1 = an average PATS speaker)
    dominant: int  # -1: right arm (negative x), +1: left arm
    other_amp: float  # amplitude of the non-dominant arm relative to the dominant one
    voice: Voice
    collapse_rate: float  # collapsed-shoulder frames per pose frame
    collapse_px: tuple[float, float]  # remaining |Neck→RShoulder| on those frames, pixels


@lru_cache(maxsize=None)
def _stats(speaker: str) -> dict[str, np.ndarray]:
    path = STATS_DIR / f"{speaker}.h5"
    if not path.is_file():
        raise DataError(f"no PATS statistics for speaker {speaker!r} (expected {path}); "
                        f"synthetic speakers: {', '.join(SPEAKERS)}")
    with h5py.File(path, "r") as f:
        return {f"{m}/{s}": f[f"{m}/{s}"][0, 0].astype(np.float64)
                for m in ("pose/data", "pose/normalize", "text/bert") for s in ("mean", "var")}


def stats(speaker: str) -> dict[str, np.ndarray]:
    """Real per-speaker ``<modality>/mean`` and ``/var`` vectors (pose/data, pose/normalize, text/bert)."""
    return _stats(speaker)


def _spread_ratio(speaker: str) -> float:
    s = stats(speaker)
    mean, std = s["pose/data/mean"], np.sqrt(s["pose/data/var"])
    unit = 0.5 * (abs(mean[1]) + abs(mean[4]))
    return float(np.mean(std[[3, 6, 55, 58]]) / unit)


def speaker_style(speaker: str) -> SpeakerStyle:
    """The style of ``speaker`` (one of the five paper speakers) from its real statistics."""
    if speaker not in VOICES:
        raise DataError(f"no synthetic style for speaker {speaker!r}; synthetic speakers: {', '.join(SPEAKERS)}")
    s = stats(speaker)
    mean, var = s["pose/data/mean"], s["pose/data/var"]
    rest = np.stack([mean[:52], mean[52:]], axis=1)
    rest[0] = 0.0
    std = np.sqrt(var)
    unit = 0.5 * (np.linalg.norm(rest[1]) + np.linalg.norm(rest[4]))
    upper = 0.5 * (np.linalg.norm(rest[2] - rest[1]) + np.linalg.norm(rest[5] - rest[4]))
    reference = float(np.mean([_spread_ratio(name) for name in VOICES]))
    wrist_var = {-1: var[3] + var[55], 1: var[6] + var[58]}
    dominant = -1 if wrist_var[-1] >= wrist_var[1] else 1
    collapse_rate, collapse_px = _COLLAPSE.get(speaker, _MILD_COLLAPSE)
    return SpeakerStyle(
        name=speaker,
        rest=rest,
        neck=np.array([mean[0], mean[52]]),
        neck_std=np.array([std[0], std[52]]),
        unit=float(unit),
        upper_arm=float(upper),
        forearm=0.8 * float(upper),  # anthropometric ratio: a mean pose shortens the forearm
        hand=0.6 * float(upper),
        spread=_spread_ratio(speaker) / reference,
        dominant=dominant,
        other_amp=float(np.sqrt(wrist_var[-dominant] / wrist_var[dominant])),
        voice=VOICES[speaker],
        collapse_rate=collapse_rate,
        collapse_px=collapse_px,
    )

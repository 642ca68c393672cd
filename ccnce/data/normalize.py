"""Per-dimension z-normalisation with statistics of a speaker's training windows (PATS.md).

Mean and variance are taken over every frame of every training window (overlapping windows count a frame
once per window, as the reference loader did), per pose dimension (96) and per mel band. A dimension with
zero spread gets std 1e-8, so it normalises to 0 instead of dividing by zero. The same statistics apply
to the dev and test splits and undo the normalisation (e.g. for metrics in pixel space).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ZERO_STD = 1e-8


class RunningMoments:
    """Mean and variance per last-axis dimension, accumulated chunk by chunk (Chan et al.'s merge)."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self.m2 = np.zeros(dim, dtype=np.float64)

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.mean.shape[0])
        n_b = x.shape[0]
        if n_b == 0:
            return
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.n * n_b / n)
        self.n = n

    @property
    def var(self) -> np.ndarray:
        return self.m2 / self.n if self.n else np.zeros_like(self.m2)

    @property
    def std(self) -> np.ndarray:
        std = np.sqrt(self.var)
        return np.where(std == 0, ZERO_STD, std)


@dataclass
class ZStats:
    """Training-window statistics of one speaker: ``(x - mean) / std`` per dimension."""

    pose_mean: np.ndarray  # (96,)
    pose_std: np.ndarray
    audio_mean: np.ndarray  # (n_mels,)
    audio_std: np.ndarray

    # float32 arithmetic: batches and cached cluster labels then see bit-identical normalised poses.
    def normalize_pose(self, pose: np.ndarray) -> np.ndarray:
        return (np.asarray(pose, np.float32) - self.pose_mean.astype(np.float32)) / self.pose_std.astype(np.float32)

    def denormalize_pose(self, pose: np.ndarray) -> np.ndarray:
        return pose * self.pose_std + self.pose_mean

    def normalize_audio(self, audio: np.ndarray) -> np.ndarray:
        return (np.asarray(audio, np.float32) - self.audio_mean.astype(np.float32)) / self.audio_std.astype(np.float32)

    def denormalize_audio(self, audio: np.ndarray) -> np.ndarray:
        return audio * self.audio_std + self.audio_mean

    def save(self, path: str | Path) -> None:
        np.savez(path, pose_mean=self.pose_mean, pose_std=self.pose_std,
                 audio_mean=self.audio_mean, audio_std=self.audio_std)

    @classmethod
    def load(cls, path: str | Path) -> "ZStats":
        with np.load(path) as z:
            return cls(**{k: z[k] for k in ("pose_mean", "pose_std", "audio_mean", "audio_std")})

    @classmethod
    def from_moments(cls, pose: RunningMoments, audio: RunningMoments) -> "ZStats":
        return cls(pose_mean=pose.mean, pose_std=pose.std, audio_mean=audio.mean, audio_std=audio.std)

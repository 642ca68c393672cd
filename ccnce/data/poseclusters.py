"""Frame-wise pose clusters: k-means labels for the mixture decoder and the F1 metric (METHOD.md).

Features of frame ``t`` of a window ``p`` (z-normalised pose, shape (W, 96), x block then y block):

- ``p_t``: the pose (96);
- ``v_t = np.gradient(p, axis=0)[t]``: velocity in z-units per frame, central differences inside the
  window and one-sided at its two ends, so a frame's label depends on its own window only (96);
- ``s_t[j] = sqrt(v_t[j]**2 + v_t[48 + j]**2)``: speed of each of the 48 joints (48).

The 240 features stay in z-units (no further scaling): velocity and speed then weigh as much as the pose
actually moves, so fast strokes separate from rest while a frame's pose still dominates. (Standardising
the velocity dimensions was tried: with 144 of 240 dimensions, rare fast frames then took clusters away
from clearly different poses.) :class:`PoseClusterer` fits sklearn ``KMeans`` (k = ``cfg.n_pose_clusters``, ``random_state`` fixed) on
at most :data:`MAX_FIT_FRAMES` frames from whole training windows drawn with a fixed seed, and labels
any pose window — ground truth of every split, or *generated* poses — by the nearest centre.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccnce.errors import DataError

MAX_FIT_FRAMES = 20_000
FIT_SEED = 0
N_INIT = 4
_LABEL_CHUNK = 1024  # windows per chunk when labelling (bounds memory on memory-mapped sets)


def frame_features(pose_windows: np.ndarray) -> np.ndarray:
    """(..., W, 96) z-normalised pose → (..., W, 240) float32 pose + velocity + speed (module docstring)."""
    p = np.asarray(pose_windows, dtype=np.float32)
    v = np.zeros_like(p)
    if p.shape[-2] >= 2:  # np.gradient's rule, written out (it is 3x slower on these shapes)
        v[..., 1:-1, :] = (p[..., 2:, :] - p[..., :-2, :]) * 0.5
        v[..., 0, :] = p[..., 1, :] - p[..., 0, :]
        v[..., -1, :] = p[..., -1, :] - p[..., -2, :]
    half = p.shape[-1] // 2
    speed = np.sqrt(v[..., :half] ** 2 + v[..., half:] ** 2)
    return np.concatenate([p, v, speed], axis=-1)


@dataclass
class PoseClusterer:
    """k-means centres over frame features; ``label`` assigns each frame its nearest centre."""

    centres: np.ndarray  # (k, 240)

    @property
    def k(self) -> int:
        return len(self.centres)

    @property
    def pose_dim(self) -> int:
        return 2 * self.centres.shape[1] // 5  # features = pose + velocity + half as many speeds

    @classmethod
    def fit(cls, pose_windows: np.ndarray, k: int, max_frames: int = MAX_FIT_FRAMES, seed: int = FIT_SEED,
            transform: Callable[[np.ndarray], np.ndarray] | None = None) -> "PoseClusterer":
        """Fit on training windows (N, W, 96), z-normalised or made so by ``transform``.

        ``pose_windows`` may be a memory map: only the sampled windows are read (then transformed).
        """
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        n, w = pose_windows.shape[0], pose_windows.shape[1]
        if n * w < k:
            raise DataError(f"only {n * w} training frames to fit {k} pose clusters; "
                            f"lower n_pose_clusters or add training intervals")
        rng = np.random.default_rng(seed)
        n_pick = min(n, max(1, -(-max_frames // w)))
        picked = np.sort(rng.choice(n, size=n_pick, replace=False))
        sample = np.asarray(pose_windows[picked])
        features = frame_features(transform(sample) if transform is not None else sample)
        features = features.reshape(-1, features.shape[-1])
        if len(features) > max_frames:
            features = features[np.sort(rng.choice(len(features), size=max_frames, replace=False))]
        # One thread: the fit is small (<= MAX_FIT_FRAMES frames, well under a second), and OpenMP's
        # spinning threads made it ten times slower on a machine whose cores were busy.
        with threadpool_limits(limits=1):
            km = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(features)
        return cls(centres=km.cluster_centers_.astype(np.float32))

    def label(self, pose_windows: np.ndarray) -> np.ndarray:
        """(..., W, 96) z-normalised poses (numpy or torch) → (..., W) int64 cluster labels."""
        if hasattr(pose_windows, "detach"):
            pose_windows = pose_windows.detach().cpu().numpy()
        shape = pose_windows.shape
        if len(shape) < 2 or shape[-1] != self.pose_dim:
            raise ValueError(f"pose windows must have shape (..., W, {self.pose_dim}); got {tuple(shape)}")
        flat = pose_windows.reshape(-1, *shape[-2:])
        out = np.empty(flat.shape[:2], dtype=np.int64)
        c2 = (self.centres**2).sum(axis=1)
        for lo in range(0, len(flat), _LABEL_CHUNK):
            f = frame_features(np.asarray(flat[lo:lo + _LABEL_CHUNK]))
            # ||f - c||^2 up to the per-frame constant ||f||^2
            out[lo:lo + _LABEL_CHUNK] = np.argmin(c2 - 2.0 * f @ self.centres.T, axis=-1)
        return out.reshape(shape[:-1])

    def save(self, path: str | Path) -> None:
        np.savez(path, centres=self.centres)

    @classmethod
    def load(cls, path: str | Path) -> "PoseClusterer":
        with np.load(path) as z:
            return cls(centres=z["centres"])

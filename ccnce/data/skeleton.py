"""The PATS upper-body skeleton: 52 OpenPose joints, x block then y block (PATS.md, "Skeleton").

Every joint is stored relative to the neck except the neck itself (absolute pixels, columns 0 and 52).
Image coordinates: x right, y down; right-side joints have negative x (the speaker faces the camera).
Models drop the neck, nose and eyes and predict 48 joints x 2 = 96 values per frame.
"""

from __future__ import annotations

import numpy as np

N_JOINTS = 52

JOINT_NAMES: tuple[str, ...] = (
    "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "Nose", "REye", "LEye",
    "LHandRoot", *[f"L{f}{i}" for f in ("Thumb", "Index", "Middle", "Ring", "Little") for i in range(1, 5)],
    "RHandRoot", *[f"R{f}{i}" for f in ("Thumb", "Index", "Middle", "Ring", "Little") for i in range(1, 5)],
)

PARENTS: tuple[int, ...] = (
    -1, 0, 1, 2, 0, 4, 5, 0, 7, 7, 6, 10, 11, 12, 13, 10, 15, 16, 17, 10, 19, 20, 21, 10, 23, 24, 25,
    10, 27, 28, 29, 3, 31, 32, 33, 34, 31, 36, 37, 38, 31, 40, 41, 42, 31, 44, 45, 46, 31, 48, 49, 50,
)

DROPPED_JOINTS: tuple[int, ...] = (0, 7, 8, 9)
KEPT_JOINTS: tuple[int, ...] = tuple(j for j in range(N_JOINTS) if j not in DROPPED_JOINTS)
N_KEPT = len(KEPT_JOINTS)  # 48
POSE_DIM = 2 * N_KEPT  # 96

# Joint groups (indices into the 52-joint skeleton), used for figures (right arm red, left arm blue).
RIGHT_ARM: tuple[int, ...] = (1, 2, 3, *range(31, 52))
LEFT_ARM: tuple[int, ...] = (4, 5, 6, *range(10, 31))

assert len(JOINT_NAMES) == N_JOINTS and len(PARENTS) == N_JOINTS


def kept_columns() -> np.ndarray:
    """Column indices of the 104-wide PATS pose array that the models keep (x block, then y block)."""
    kept = np.asarray(KEPT_JOINTS)
    return np.concatenate([kept, kept + N_JOINTS])


def to_kept(pose104: np.ndarray) -> np.ndarray:
    """(..., 104) PATS pose → (..., 96) model pose: drop neck, nose and eyes."""
    return pose104[..., kept_columns()]


def from_kept(pose96: np.ndarray) -> np.ndarray:
    """(..., 96) model pose → (..., 52, 2) joints relative to the neck (dropped joints at the neck, 0)."""
    out = np.zeros(pose96.shape[:-1] + (N_JOINTS, 2), dtype=pose96.dtype)
    kept = np.asarray(KEPT_JOINTS)
    out[..., kept, 0] = pose96[..., :N_KEPT]
    out[..., kept, 1] = pose96[..., N_KEPT:]
    return out

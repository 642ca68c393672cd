"""What OpenPose does to a clean pose: jitter, confidences, dropped keypoints, collapsed shoulders.

Conventions reproduced (PATS.md and OpenPose):
- jitter grows from the torso to the fingertips and with hand speed (motion blur), and is partly
  temporally correlated (detections shimmer rather than being white noise);
- confidence per joint in [0, ~1.04], the same value in the x and y halves of ``pose/confidence``;
  lower for fingers and for fast hands, very low and often zero for the eyes;
- an undetected keypoint has confidence 0 and OpenPose's absolute position (0, 0), i.e. minus the neck
  once stored relative to the neck; fingers drop more often than arms, and whole hands drop in bursts;
- on a few frames the right shoulder is detected on top of the neck, so ``pose/normalize``
  (|Neck→RShoulder| rescaled to 167 px) explodes on those frames, as it does in real PATS.
"""

from __future__ import annotations

import numpy as np

from ccnce.data.skeleton import N_JOINTS
from ccnce.data.synth.speakers import SpeakerStyle

NORMALIZE_LENGTH = 167.0

_BODY = {0: 0.9, 1: 0.75, 2: 0.65, 3: 0.6, 4: 0.75, 5: 0.65, 6: 0.6, 7: 0.9, 8: 0.3, 9: 0.3}
_HANDS = {-1: 31, 1: 10}
_ARM_WRIST = {-1: 3, 1: 6}


def _joint_table(unit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per joint: jitter std (pixels), mean confidence, drop probability per frame."""
    px = unit / 140.0
    sigma = np.zeros(N_JOINTS)
    conf = np.zeros(N_JOINTS)
    drop = np.zeros(N_JOINTS)
    for j, c in _BODY.items():
        conf[j] = c
    sigma[[0, 1, 4, 7]] = 2.5 * px
    sigma[[8, 9]] = 1.5 * px
    sigma[[2, 5]] = 2.5 * px
    sigma[[3, 6]] = 3.0 * px
    drop[[1, 4]] = 0.001
    drop[[2, 5]] = 0.002
    drop[[3, 6]] = 0.004
    drop[7] = 0.005
    drop[[8, 9]] = 0.35
    for root in _HANDS.values():
        sigma[root] = 3.0 * px
        conf[root] = 0.35
        drop[root] = 0.004
        for f in range(5):
            for k in range(4):
                j = root + 1 + 4 * f + k
                sigma[j] = (3.5 + 1.2 * k) * px
                conf[j] = 0.62 - 0.03 * k
                drop[j] = 0.008 + 0.003 * k
    return sigma, conf, drop


def _correlated_noise(rng: np.random.Generator, shape: tuple[int, ...], rho: float = 0.6) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 0 (time)."""
    white = rng.normal(size=shape)
    out = np.empty(shape)
    out[0] = white[0]
    scale = np.sqrt(1 - rho ** 2)
    for i in range(1, shape[0]):
        out[i] = rho * out[i - 1] + scale * white[i]
    return out


def detect(clean: np.ndarray, neck_abs: np.ndarray, style: SpeakerStyle,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy ``pose/data`` (T, 104) and ``pose/confidence`` (T, 104) from clean joints (T, 52, 2).

    ``clean`` is relative to the neck; ``neck_abs`` (T, 2) is the neck's absolute pixel position, stored
    in columns 0 and 52 as PATS does.
    """
    n = len(clean)
    sigma, conf_mean, drop_p = _joint_table(style.unit)
    speed = np.zeros((n, N_JOINTS))
    speed[1:] = np.linalg.norm(np.diff(clean, axis=0), axis=2)
    speed[0] = speed[1] if n > 1 else 0.0
    blur = 0.08 * speed  # pixels of extra jitter per pixel/frame of motion
    noise_sigma = sigma[None, :] + blur
    noise = 0.5 * _correlated_noise(rng, (n, N_JOINTS, 2)) + 0.5 * rng.normal(size=(n, N_JOINTS, 2))
    joints = clean + noise * noise_sigma[:, :, None]
    joints[:, 0] = 0.0

    conf = conf_mean[None, :] + rng.normal(0.0, 0.08, (n, N_JOINTS)) - 0.004 * speed
    conf[:, [8, 9]] += rng.normal(0.0, 0.2, (n, 2))
    conf = np.clip(conf, 0.02, 1.04)

    dropped = rng.random((n, N_JOINTS)) < drop_p[None, :] * (1 + 0.02 * speed)
    for side, root in _HANDS.items():  # whole-hand drop-outs of 1-6 frames, likelier when the hand moves
        hand = list(range(root, root + 21))
        p_start = 0.004 * (1 + 0.03 * speed[:, _ARM_WRIST[side]])
        for start in np.flatnonzero(rng.random(n) < p_start):
            dropped[start:start + int(rng.integers(1, 7)), hand] = True
    dropped[:, 0] = False
    conf[dropped] = 0.0
    joints[dropped] = -neck_abs[np.nonzero(dropped)[0]]

    collapsed = np.flatnonzero(rng.random(n) < style.collapse_rate)
    if len(collapsed):
        remaining = rng.uniform(*style.collapse_px, len(collapsed))
        angle = rng.uniform(0, 2 * np.pi, len(collapsed))
        joints[collapsed, 1] = remaining[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        conf[collapsed, 1] = rng.uniform(0.05, 0.3, len(collapsed))
        dropped[collapsed, 1] = False

    data = np.concatenate([joints[:, :, 0], joints[:, :, 1]], axis=1)
    data[:, 0] = neck_abs[:, 0]
    data[:, N_JOINTS] = neck_abs[:, 1]
    confidence = np.concatenate([conf, conf], axis=1)
    return data, confidence


def normalize(data: np.ndarray) -> np.ndarray:
    """PATS ``pose/normalize``: every joint but the neck rescaled per frame so |Neck→RShoulder| = 167 px.

    Columns 0 and 52 (the neck's absolute position) are left untouched. A collapsed shoulder (length
    near 0) makes the factor explode, exactly as in the real data.
    """
    rs = np.stack([data[:, 1], data[:, N_JOINTS + 1]], axis=1)
    length = np.linalg.norm(rs, axis=1)
    factor = NORMALIZE_LENGTH / np.maximum(length, 1e-6)
    out = data * factor[:, None]
    out[:, 0] = data[:, 0]
    out[:, N_JOINTS] = data[:, N_JOINTS]
    return out

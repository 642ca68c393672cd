"""From arm controls to the 52 PATS joints: two-link arm inverse kinematics and a 21-point hand model.

Joints are in pixels relative to the neck (x right, y down), in the skeleton order of
:mod:`ccnce.data.skeleton`. Shoulders, head and bone lengths come from the speaker's style; the elbow is
placed by inverse kinematics (bent outward and down, as arms are); each hand is an OpenPose hand
(root, then thumb, index, middle, ring, little with four points each) whose fingers curl and spread.
"""

from __future__ import annotations

import numpy as np

from ccnce.data.synth.motion import FPS, ArmControls
from ccnce.data.synth.speakers import SpeakerStyle

# arm sign → (shoulder, elbow, wrist, hand root) joint indices; -1 is the right arm (negative x)
ARM_JOINTS: dict[int, tuple[int, int, int, int]] = {-1: (1, 2, 3, 31), 1: (4, 5, 6, 10)}
HEAD_JOINTS = (7, 8, 9)
CAMERA_ZOOM_STD = 0.05  # log-scale spread of the body's size in the image between intervals

# Hand geometry in units of the hand length, in the hand frame (a: wrist→fingers, b: toward the thumb).
# Per finger (thumb, index, middle, ring, little): base offset (a, b), base angle (deg, toward b),
# segment lengths (three segments after the base point).
_FINGER_BASE = np.array([[0.12, 0.10], [0.42, 0.12], [0.44, 0.03], [0.42, -0.06], [0.38, -0.14]])
_FINGER_ANGLE = np.radians([45.0, 8.0, 0.0, -8.0, -16.0])
_FINGER_SEGMENTS = np.array([[0.16, 0.13, 0.11], [0.21, 0.13, 0.10], [0.23, 0.15, 0.11],
                             [0.21, 0.14, 0.10], [0.17, 0.11, 0.09]])
_CURL_ANGLE = np.radians([30.0, 50.0, 60.0])  # bend per segment at full curl, toward the palm
_CURL_SHORTEN = np.array([0.35, 0.6, 0.75])  # foreshortening at full curl (fingers fold toward camera)


def _rot(v: np.ndarray, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def solve_arm(shoulder: np.ndarray, wrist: np.ndarray, upper: float, fore: float,
              side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse kinematics of a two-link arm seen by a camera: (elbow, wrist, forearm direction), 2-D.

    The 2-D wrist target is reached in 3-D: its depth toward the camera keeps the arm comfortably bent
    (shoulder-wrist distance at least 75 % of full reach, the hand in front of the body), and the elbow
    takes the lowest point (a little outward, ``side``·x) of its circle of solutions, as a relaxed arm
    does. Projected back, forearms that point at the camera look short, as they do in PATS.
    The forearm direction is 3-D (n, 3), so a hand continuing it can be foreshortened too.
    """
    reach = upper + fore
    d_vec = wrist - shoulder
    d2 = np.linalg.norm(d_vec, axis=-1)
    scale = np.minimum(1.0, (reach - 1e-3) / np.maximum(d2, 1e-9))
    wrist = shoulder + d_vec * scale[:, None]
    d2 = d2 * scale
    dist = np.clip(np.maximum(d2, 0.75 * reach), abs(upper - fore) + 1e-3, reach - 1e-3)
    depth = np.sqrt(np.maximum(dist ** 2 - d2 ** 2, 0.0))
    w3 = np.concatenate([wrist - shoulder, depth[:, None]], axis=1)  # shoulder at the origin
    axis = w3 / np.maximum(np.linalg.norm(w3, axis=1, keepdims=True), 1e-9)
    along = (upper ** 2 - fore ** 2 + dist ** 2) / (2 * dist)
    radius = np.sqrt(np.maximum(upper ** 2 - along ** 2, 0.0))
    down = np.array([side * 0.2, 1.0, 0.0])
    perp = down - (axis @ down)[:, None] * axis
    norm = np.linalg.norm(perp, axis=1, keepdims=True)
    fallback = np.array([side * 1.0, 0.0, 0.0]) - (axis @ np.array([side * 1.0, 0.0, 0.0]))[:, None] * axis
    perp = np.where(norm > 1e-6, perp / np.maximum(norm, 1e-9), fallback)
    elbow3 = axis * along[:, None] + perp * radius[:, None]
    forearm = w3 - elbow3
    forearm /= np.maximum(np.linalg.norm(forearm, axis=1, keepdims=True), 1e-9)
    return shoulder + elbow3[:, :2], wrist, forearm


def hand_points(wrist: np.ndarray, direction: np.ndarray, side: int, length: np.ndarray | float,
                curl: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """(n, 21, 2) OpenPose hand points: root at the wrist, fingers along ``direction`` (unit, (n, 2)).

    ``length`` (scalar or (n,)) is the projected hand length: shorter when the hand points at the camera.
    """
    n = len(wrist)
    length = np.broadcast_to(np.asarray(length, dtype=float), (n,))
    a = direction
    b = _rot(a, np.full(n, side * np.pi / 2))  # thumb toward the body midline when the hand hangs down
    pts = np.empty((n, 21, 2))
    pts[:, 0] = wrist
    for f in range(5):
        base = wrist + length[:, None] * (_FINGER_BASE[f, 0] * a + _FINGER_BASE[f, 1] * b)
        angle = side * _FINGER_ANGLE[f] * spread
        seg_dir = _rot(a, angle)
        p = base
        pts[:, 1 + 4 * f] = p
        for k in range(3):
            seg_dir = _rot(seg_dir, side * _CURL_ANGLE[k] * curl[:, f])
            seg_len = length * _FINGER_SEGMENTS[f, k] * (1 - _CURL_SHORTEN[k] * curl[:, f])
            p = p + seg_dir * seg_len[:, None]
            pts[:, 2 + 4 * f + k] = p
    return pts


def assemble(arms: dict[int, ArmControls], style: SpeakerStyle, labels: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """(n, 52, 2) clean joints relative to the neck (pixels) for an interval's controls."""
    n = len(labels)
    u = style.unit
    joints = np.zeros((n, 52, 2))
    t = np.arange(n) / FPS
    # slow torso lean about the neck, and head sway with nods on beats
    lean = rng.normal(0.0, 0.03) + 0.04 * np.sin(2 * np.pi * rng.uniform(0.03, 0.12) * t + rng.uniform(0, 2 * np.pi))
    nod = 0.04 * u * np.abs(np.sin(2 * np.pi * 1.2 * t)) * (labels == 3)
    sway = 0.03 * u * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
    for j in HEAD_JOINTS:
        joints[:, j] = style.rest[j] + np.stack([sway, nod], axis=1)
    for side, (js, je, jw, jh) in ARM_JOINTS.items():
        arm = arms[side]
        shoulder = style.rest[js] + np.outer(arm.lift * u, [0.0, -1.0])
        elbow, wrist, forearm = solve_arm(shoulder, arm.wrist * u, style.upper_arm, style.forearm, side)
        # the hand continues the forearm (foreshortened with it) unless the gesture orients it
        w = arm.dir_w[:, None]
        along = (1 - w) * forearm[:, :2] + w * arm.hand_dir
        length = np.maximum(np.linalg.norm(along, axis=1), 0.3)
        joints[:, js], joints[:, je], joints[:, jw] = shoulder, elbow, wrist
        hand = hand_points(wrist, _unit(along), side, style.hand * length, arm.curl, arm.spread)
        hand_idx = [jh] + list(range(jh + 1, jh + 21))
        joints[:, hand_idx] = hand
    joints[:, 1:] = _rot(joints[:, 1:], lean[:, None])
    # the camera's framing differs between intervals (zoom), so the whole body scales a little
    return joints * np.exp(rng.normal(0.0, CAMERA_ZOOM_STD))

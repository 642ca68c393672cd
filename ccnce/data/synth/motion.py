"""Parametric gesture trajectories: what each gesture class does with the arms and hands over time.

A gesture instance is a 1.5–3.5 s trajectory (longer when same-class gestures merge) in body units
(the shoulder half-width, y down, relative to the neck): preparation (hands leave rest), stroke (the
class-defining motion: taps, spread, beats, circles, chops, ...) and retraction, with per-instance
variation of speed, amplitude and target. The output is a set of *controls* per frame (wrist targets,
hand shape, hand direction, shoulder lift) that :mod:`ccnce.data.synth.body` turns into the 52 OpenPose
joints.

"D" is the speaker's dominant arm (sign ``s``: -1 right arm at negative x, +1 left arm), "O" the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccnce.data.synth.lexicon import GESTURE_NAMES
from ccnce.data.synth.speakers import SpeakerStyle

FPS = 15.0
# The real mean wrist (the speaker's style) averages rest and gestures; rest hangs this much lower
# (body units) so that the synthetic mean pose lands near the real one.
REST_DROP = 0.35

# Hand shapes: finger curl (thumb, index, middle, ring, little) in [0, 1] and finger spread factor.
HAND_SHAPES: dict[str, tuple[tuple[float, ...], float]] = {
    "relaxed": ((0.3, 0.45, 0.5, 0.55, 0.6), 1.0),
    "open": ((0.0, 0.05, 0.05, 0.05, 0.08), 1.8),
    "flat": ((0.1, 0.0, 0.0, 0.0, 0.0), 0.3),
    "point": ((0.7, 0.0, 0.9, 0.95, 0.95), 0.8),
}


@dataclass
class ArmControls:
    """Per-frame controls of one arm: everything in body units except angles and curls."""

    wrist: np.ndarray  # (n, 2) wrist target relative to the neck
    curl: np.ndarray  # (n, 5)
    spread: np.ndarray  # (n,)
    hand_dir: np.ndarray  # (n, 2) unit direction wrist→fingers, used with weight dir_w
    dir_w: np.ndarray  # (n,) 0: the hand continues the forearm, 1: it points along hand_dir
    lift: np.ndarray  # (n,) shoulder lift (shrug), body units upward

    @classmethod
    def rest(cls, wrist: np.ndarray) -> "ArmControls":
        n = len(wrist)
        curl, spread = HAND_SHAPES["relaxed"]
        return cls(wrist=wrist.copy(), curl=np.tile(curl, (n, 1)), spread=np.full(n, spread),
                   hand_dir=np.tile([0.0, 1.0], (n, 1)), dir_w=np.zeros(n), lift=np.zeros(n))

    def blend(self, start: int, env: np.ndarray, target: "ArmControls") -> None:
        """Move frames ``start:start+len(env)`` toward ``target`` by ``env`` (0: unchanged, 1: target)."""
        sl = slice(start, start + len(env))
        e = env[:, None]
        self.wrist[sl] += e * (target.wrist - self.wrist[sl])
        self.curl[sl] += e * (target.curl - self.curl[sl])
        self.spread[sl] += env * (target.spread - self.spread[sl])
        self.hand_dir[sl] = target.hand_dir
        self.dir_w[sl] = env * target.dir_w
        self.lift[sl] += env * (target.lift - self.lift[sl])


@dataclass
class Instance:
    """One gesture occurrence on the interval's timeline (seconds)."""

    cls: int
    onset: float
    offset: float
    family: int = -1  # the phrase family that triggered it, -1: none (filler motion)


def envelope(n: int, rng: np.random.Generator) -> np.ndarray:
    """Preparation / stroke / retraction weights over ``n`` frames (smooth rise and fall)."""
    u = (np.arange(n) + 0.5) / n
    rise, fall = rng.uniform(0.18, 0.3), rng.uniform(0.18, 0.3)
    up = np.clip(u / rise, 0, 1)
    down = np.clip((1 - u) / fall, 0, 1)
    smooth = lambda x: x * x * (3 - 2 * x)  # noqa: E731 - smoothstep
    return smooth(up) * smooth(down)


def _shape(n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    curl, spread = HAND_SHAPES[name]
    return np.tile(curl, (n, 1)), np.full(n, spread)


def _arm(wrist: np.ndarray, shape: str, hand_dir=None, lift=None) -> ArmControls:
    n = len(wrist)
    curl, spread = _shape(n, shape)
    if hand_dir is None:
        d, w = np.tile([0.0, 1.0], (n, 1)), np.zeros(n)
    else:
        d = np.broadcast_to(np.asarray(hand_dir, float), (n, 2)).copy()
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        w = np.ones(n)
    return ArmControls(wrist=wrist, curl=curl, spread=spread, hand_dir=d, dir_w=w,
                       lift=np.zeros(n) if lift is None else np.broadcast_to(lift, (n,)).astype(float))


def gesture_controls(cls: int, n: int, style: SpeakerStyle, rest_wrists: dict[int, np.ndarray],
                     rng: np.random.Generator) -> dict[int, ArmControls]:
    """Target controls of one instance of class ``cls`` over ``n`` frames, for the arms it uses.

    ``rest_wrists`` maps arm sign (-1 right, +1 left) → (n, 2) rest wrist positions (body units); the
    amplitude of the instance scales the excursion from rest.
    """
    s = style.dominant
    o = -s
    t = np.arange(n) / FPS
    u = (np.arange(n) + 0.5) / n
    amp = float(np.clip(style.spread * rng.uniform(0.8, 1.2), 0.5, 1.6))
    jit = lambda: rng.normal(0.0, 0.1, 2)  # noqa: E731 - per-instance target variation
    arm_amp = {s: 1.0, o: style.other_amp}

    def scaled(sign: int, target: np.ndarray) -> np.ndarray:
        a = amp * arm_amp[sign]
        return rest_wrists[sign] + a * (target - rest_wrists[sign])

    name = GESTURE_NAMES[cls]
    out: dict[int, ArmControls] = {}
    if name == "rest":
        for sign in (-1, 1):
            phase = rng.uniform(0, 2 * np.pi, 2)
            drift = 0.1 * amp * np.stack([np.sin(2 * np.pi * 0.4 * t + phase[0]),
                                          0.5 * np.sin(2 * np.pi * 0.3 * t + phase[1])], axis=1)
            out[sign] = _arm(rest_wrists[sign] + drift, "relaxed")
    elif name == "self_point":
        taps = np.maximum(0.0, np.sin(2 * np.pi * rng.uniform(1.6, 2.4) * t)) ** 2
        target = np.array([s * 0.15, 0.75]) + jit() + np.outer(taps, [-s * 0.12, 0.0])
        out[s] = _arm(scaled(s, target), "point", hand_dir=[-s * 0.9, -0.4])
    elif name == "span":
        p = np.clip((u - 0.15) / 0.5, 0, 1)
        p = p * p * (3 - 2 * p)
        width, j = rng.uniform(1.9, 2.3), jit()
        for sign in (-1, 1):
            target = np.stack([sign * (0.35 + (width - 0.35) * p) + j[0] * sign, 0.95 - 0.1 * p + j[1]], axis=1)
            out[sign] = _arm(scaled(sign, target), "open", hand_dir=[sign * 0.2, -1.0])
    elif name == "beats":
        f = rng.uniform(2.0, 3.0)
        beat = np.abs(np.sin(np.pi * f * t + rng.uniform(0, np.pi))) ** 0.7
        target = np.array([s * 0.7, 0.85]) + jit() + np.outer(beat, [0.0, 0.4])
        out[s] = _arm(scaled(s, target), "open", hand_dir=[-s * 0.7, 0.5])
    elif name == "raise":
        wave = 0.12 * np.sin(2 * np.pi * rng.uniform(1.2, 1.8) * t)
        target = np.array([o * 1.35, -0.55]) + jit() + np.outer(wave, [1.0, 0.0])
        out[o] = _arm(scaled(o, target), "open", hand_dir=[o * 0.1, -1.0], lift=0.1)
    elif name == "open_palms":
        j = jit()
        shrug = 0.12 * np.sin(np.pi * u) ** 2
        for sign in (-1, 1):
            target = np.tile([sign * (1.7 + j[0]), 0.5 + j[1]], (n, 1))
            out[sign] = _arm(scaled(sign, target), "open", hand_dir=[sign * 0.5, -0.85], lift=shrug)
    elif name == "circle":
        revs = rng.uniform(1.0, 2.0) * rng.choice([-1, 1])
        theta = rng.uniform(0, 2 * np.pi) + 2 * np.pi * revs * u
        centre = np.array([s * 0.75, 0.35]) + jit()
        target = centre + 0.4 * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        out[s] = _arm(scaled(s, target), "point")
    elif name == "point_away":
        target = np.tile(np.array([s * 2.6, 0.15]) + jit(), (n, 1))
        out[s] = _arm(scaled(s, target), "point", hand_dir=[s * 1.0, -0.05])
    elif name == "chop":
        chops = 2 + int(rng.integers(0, 2))
        phase = (u * chops) % 1.0
        down = np.where(phase < 0.35, phase / 0.35, 1 - (phase - 0.35) / 0.65)
        j = jit()
        for sign in (-1, 1):
            target = np.stack([np.full(n, sign * 0.35 + j[0] * sign), 0.7 + j[1] + 0.5 * down], axis=1)
            out[sign] = _arm(scaled(sign, target), "flat", hand_dir=[sign * 0.1, -1.0])
    else:  # pragma: no cover - the lexicon and this function must list the same classes
        raise ValueError(f"no trajectory for gesture class {cls}")
    return out


def rest_controls(n: int, style: SpeakerStyle, rng: np.random.Generator) -> dict[int, ArmControls]:
    """The baseline of an interval: both arms at the speaker's rest with slow, small drift."""
    t = np.arange(n) / FPS
    arms = {}
    for sign, joint in ((-1, 3), (1, 6)):
        rest = style.rest[joint] / style.unit + np.array([0.0, REST_DROP])
        phase = rng.uniform(0, 2 * np.pi, 4)
        freq = rng.uniform(0.05, 0.25, 2)
        drift = 0.05 * style.spread * np.stack([np.sin(2 * np.pi * freq[0] * t + phase[0]),
                                                np.sin(2 * np.pi * freq[1] * t + phase[1])], axis=1)
        arms[sign] = ArmControls.rest(rest + drift)
    return arms


def timeline_controls(instances: list[Instance], n: int, style: SpeakerStyle,
                      rng: np.random.Generator) -> tuple[dict[int, ArmControls], np.ndarray]:
    """Controls for a whole interval of ``n`` frames and the per-frame true gesture class."""
    arms = rest_controls(n, style, rng)
    labels = np.zeros(n, dtype=np.int64)
    for inst in instances:
        a, b = int(round(inst.onset * FPS)), min(n, int(round(inst.offset * FPS)))
        if b - a < 3:
            continue
        labels[a:b] = inst.cls
        rest_wrists = {sign: arms[sign].wrist[a:b].copy() for sign in arms}
        targets = gesture_controls(inst.cls, b - a, style, rest_wrists, rng)
        env = envelope(b - a, rng)
        for sign, target in targets.items():
            arms[sign].blend(a, env, target)
    return arms, labels

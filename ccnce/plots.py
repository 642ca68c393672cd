"""Figures: skeleton drawing and, on synthetic data, one strip of skeleton frames per gesture class.

Library code: functions return matplotlib objects and never show or save; notebooks and the book do.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ccnce.data.skeleton import LEFT_ARM, N_JOINTS, PARENTS, RIGHT_ARM
from ccnce.errors import DataError

RIGHT_COLOR = "#c0392b"
LEFT_COLOR = "#2e6fba"
BODY_COLOR = "#555555"


def _bone_color(j: int, color: str | None) -> str:
    if color is not None:
        return color
    if j in RIGHT_ARM:
        return RIGHT_COLOR
    if j in LEFT_ARM:
        return LEFT_COLOR
    return BODY_COLOR


def plausible(joints: np.ndarray, factor: float = 1.2) -> np.ndarray:
    """(…, 52, 2) joints relative to the neck → (…, 52) 1/0: 0 for a joint whose bone to its parent is
    longer than ``factor`` times the shoulder width (no arm or finger bone is).

    OpenPose writes a keypoint it lost at image (0, 0), i.e. far from the body once made relative to the
    neck; without confidences (the generated-vs-true samples carry none) this is how figures skip them.
    """
    joints = np.asarray(joints, dtype=float)
    parents = np.asarray(PARENTS)
    bone = np.linalg.norm(joints - joints[..., np.maximum(parents, 0), :], axis=-1)
    shoulders = np.linalg.norm(joints[..., 1, :] - joints[..., 4, :], axis=-1)[..., None]
    return (np.isfinite(bone) & (bone <= factor * np.maximum(shoulders, 1e-9))).astype(float)


def draw_skeleton(ax, joints: np.ndarray, color: str | None = None, confidence: np.ndarray | None = None,
                  offset: tuple[float, float] = (0.0, 0.0), linewidth: float = 1.5, alpha: float = 1.0,
                  finger_linewidth: float | None = None) -> None:
    """Draw one pose: ``joints`` (52, 2) in image pixels relative to the neck (y down).

    Bones follow :data:`ccnce.data.skeleton.PARENTS`; a bone is skipped when either end is dropped
    (confidence 0 when ``confidence`` (52,) is given, or a non-finite coordinate). ``color=None`` colours
    the right arm red and the left arm blue. The axis is inverted once so that y points down.
    """
    joints = np.asarray(joints, dtype=float)
    if joints.shape != (N_JOINTS, 2):
        raise DataError(f"draw_skeleton needs joints of shape (52, 2), got {joints.shape}")
    ok = np.isfinite(joints).all(axis=1)
    if confidence is not None:
        ok &= np.asarray(confidence) > 0
    pts = joints + np.asarray(offset, dtype=float)
    thin = linewidth * 0.5 if finger_linewidth is None else finger_linewidth
    for j, p in enumerate(PARENTS):
        if p < 0 or not (ok[j] and ok[p]):
            continue
        finger = j >= 10 and j not in (31,)
        ax.plot(pts[[p, j], 0], pts[[p, j], 1], color=_bone_color(j, color), alpha=alpha,
                linewidth=thin if finger else linewidth, solid_capstyle="round")
    if ok[7]:
        ax.plot(pts[7, 0], pts[7, 1], "o", color=color or BODY_COLOR, markersize=3 * linewidth, alpha=alpha)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_aspect("equal")


def _joints(pose: np.ndarray) -> np.ndarray:
    """(T, 104) PATS pose → (T, 52, 2) relative to the neck (neck at 0)."""
    j = np.stack([pose[:, :N_JOINTS], pose[:, N_JOINTS:]], axis=2).copy()
    j[:, 0] = 0.0
    return j


def _runs(labels: np.ndarray, cls: int) -> list[tuple[int, int]]:
    is_c = np.concatenate([[False], labels == cls, [False]])
    edges = np.flatnonzero(np.diff(is_c.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def _example(root: Path, speaker: str, cls: int) -> tuple[np.ndarray, np.ndarray, str, str] | None:
    """The longest instance of ``cls`` triggered by a key phrase (else any): (pose, conf, phrase, file)."""
    from ccnce.data.synth.lexicon import FAMILIES

    best = None
    for path in sorted((root / "processed" / speaker).glob("*.h5")):
        with h5py.File(path, "r") as f:
            if "synth/gesture" not in f:
                raise DataError(f"{path} has no synth/gesture: gesture strips need a synthetic dataset")
            labels, phrase = f["synth/gesture"][()], f["synth/phrase"][()]
            for a, b in _runs(labels, cls):
                fam = phrase[a:b][phrase[a:b] >= 0]
                keyed = len(fam) > 0
                score = (keyed, b - a)
                if best is None or score > best[0]:
                    best = (score, path, a, b, int(fam[0]) if keyed else -1)
    if best is None:
        return None
    _, path, a, b, fam = best
    with h5py.File(path, "r") as f:
        pose, conf = f["pose/data"][a:b], f["pose/confidence"][a:b, :N_JOINTS]
    words = FAMILIES[fam].name.replace("_", " ") if fam >= 0 else "(no key phrase)"
    return pose, conf, words, path.name


def gesture_strips(root: str | Path, speaker: str, frames: int = 7):
    """A figure with one row per gesture class: ``frames`` skeletons across a real instance of it.

    Reads a synthetic PATS-layout root (``synth/gesture`` ground truth); each row is labelled with the
    class name, its description and the phrase family that triggered the instance shown.
    """
    import matplotlib.pyplot as plt

    from ccnce.data.synth.lexicon import GESTURES

    root = Path(root)
    if not (root / "processed" / speaker).is_dir():
        raise DataError(f"no processed/{speaker} under {root}")
    fig, axes = plt.subplots(len(GESTURES), 1, figsize=(10, 1.55 * len(GESTURES)))
    for ax, gesture in zip(axes, GESTURES):
        ax.set_axis_off()
        example = _example(root, speaker, gesture.id)
        if example is None:
            ax.set_title(f"{gesture.name}: no instance for {speaker}", fontsize=8, loc="left")
            continue
        pose, conf, family, _ = example
        joints = _joints(pose)
        seen = joints[conf > 0]
        step = 1.15 * (np.percentile(seen[:, 0], 99.5) - np.percentile(seen[:, 0], 0.5))
        for k, t in enumerate(np.linspace(0, len(joints) - 1, frames).round().astype(int)):
            draw_skeleton(ax, joints[t], confidence=conf[t], offset=(k * step, 0.0), linewidth=1.2)
        ax.set_title(f"{gesture.id} {gesture.name} — {gesture.description}  [family: {family}]",
                     fontsize=8, loc="left")
    fig.suptitle(f"Synthetic gesture classes, speaker {speaker} (frames left to right across one instance)",
                 fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------ one run
HISTORY_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reconstruction (L1, z-units)", ("rec", "dev_l1")),
    ("adversarial (LSGAN)", ("adv_g", "loss_d")),
    ("contrastive term", ("contrastive",)),
    ("online clusters", ("n_global_clusters", "n_batch_clusters")),
)


def run_history(history, title: str = ""):
    """Per-epoch curves of one run's ``history.csv`` (a DataFrame); panels without data are left out."""
    import matplotlib.pyplot as plt

    panels = [(name, [c for c in cols if c in history and history[c].notna().any()]) for name, cols in HISTORY_PANELS]
    panels = [(name, cols) for name, cols in panels if cols]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6), squeeze=False)
    for ax, (name, cols) in zip(axes[0], panels):
        for c in cols:
            ax.plot(history["epoch"], history[c], marker="o", ms=3, label=c)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def generated_vs_true(pred: np.ndarray, true: np.ndarray, n_frames: int = 6, title: str = ""):
    """Generated skeletons (colour) over the true ones (grey) at ``n_frames`` frames of one window.

    ``pred``, ``true``: (T, 96) poses in pixels relative to the neck (a run's ``generated.npz``).
    """
    import matplotlib.pyplot as plt

    from ccnce.data.skeleton import from_kept

    P, Y = from_kept(np.asarray(pred, float)), from_kept(np.asarray(true, float))
    frames = np.linspace(0, len(Y) - 1, n_frames).round().astype(int)
    step = 1.2 * max(np.ptp(Y[..., 0]), np.ptp(P[..., 0]), 1.0)
    no_face = np.ones(len(P[0]))
    no_face[[7, 8, 9]] = 0
    fig, ax = plt.subplots(figsize=(1.4 * n_frames + 0.6, 2.4))
    for k, t in enumerate(frames):
        draw_skeleton(ax, Y[t], color="#aaaaaa", confidence=no_face * plausible(Y[t]), offset=(k * step, 0),
                      linewidth=2.4)
        draw_skeleton(ax, P[t], confidence=no_face * plausible(P[t]), offset=(k * step, 0), linewidth=1.2)
    ax.set_xticks([k * step for k in range(n_frames)], [f"frame {t}" for t in frames], fontsize=7)
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig

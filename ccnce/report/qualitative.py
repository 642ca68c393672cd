"""Figure 4, re-made: generated over true skeletons in one test window, per variant, as frames
(:func:`qualitative_figure`) and as an animated GIF (:func:`animation_gif`)."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.data.skeleton import LEFT_ARM, N_JOINTS, PARENTS, RIGHT_ARM, from_kept
from ccnce.plots import plausible
from ccnce.report.figures import BODY_COLOR, LEFT_COLOR, RIGHT_COLOR, TRUE_COLOR, _footer, _new_figure
from ccnce.report.notebook import show
from ccnce.report.runs import (VARIANT_LABEL, VARIANT_ORDER, MissingResults, _load_npz, find_run, pick_speaker_seed,
                               run_label)

_NO_FACE = np.ones(N_JOINTS)
_NO_FACE[[7, 8, 9]] = 0  # nose and eyes are not predicted


def _qualitative_inputs(runs: pd.DataFrame, data_source: str, speaker: str | None, seed: int | None,
                        window: int) -> tuple[dict[str, Path], dict[str, dict[str, np.ndarray]], str, int]:
    pick = pick_speaker_seed(runs, data_source, VARIANT_ORDER, "generated.npz")
    if pick is None:
        raise MissingResults(f"no run with generated.npz under results/{data_source}/")
    speaker = speaker or pick[0]
    seed = pick[1] if seed is None else seed
    paths = {v: p for v in VARIANT_ORDER
             if (p := find_run(runs, data_source, v, speaker, seed, needs="generated.npz")) is not None}
    if not paths:
        raise MissingResults(f"no run with generated.npz for {speaker} seed {seed} under results/{data_source}/")
    data = {v: _load_npz(p, "generated", ("pred", "true")) for v, p in paths.items()}
    for v, d in data.items():
        if not 0 <= window < len(d["pred"]):
            raise MissingResults(f"{run_label(paths[v])}: generated.npz has {len(d['pred'])} windows, no window {window}")
    return paths, data, speaker, seed


def qualitative_figure(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                       seed: int | None = None, window: int = 0, n_frames: int = 6) -> Figure:
    """Figure 4: one row per variant; ``n_frames`` frames across one test window, the generated skeleton
    (right arm red, left arm blue) drawn over the true one (grey) at the same frames."""
    from ccnce.plots import draw_skeleton

    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, window)
    fig = _new_figure(1.35 * n_frames + 1.0, 1.25 * len(paths) + 0.6)
    axes = fig.subplots(len(paths), 1, squeeze=False)[:, 0]
    for ax, (v, d) in zip(axes, data.items()):
        pred, true = from_kept(np.asarray(d["pred"][window], float)), from_kept(np.asarray(d["true"][window], float))
        frames = np.linspace(0, len(true) - 1, n_frames).round().astype(int)
        width = np.ptp(np.concatenate([true[:, :, 0], pred[:, :, 0]]))
        step = 1.15 * width
        for k, t in enumerate(frames):
            draw_skeleton(ax, true[t], color=TRUE_COLOR, confidence=_NO_FACE * plausible(true[t]),
                          offset=(k * step, 0), linewidth=2.2)
            draw_skeleton(ax, pred[t], confidence=_NO_FACE * plausible(pred[t]), offset=(k * step, 0), linewidth=1.2)
        ax.set_xticks([k * step for k in range(n_frames)], [f"frame {t}" for t in frames], fontsize=6.5)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel(VARIANT_LABEL[v], fontsize=8)
    fig.suptitle(f"Figure 4, re-made: generated (colour) over true (grey), test window {window} "
                 f"({data_source}, {speaker}, seed {seed})", fontsize=9)
    _footer(fig, paths.values())
    return fig


def _segments(joints: np.ndarray) -> np.ndarray:
    """(52, 2) joints → (n_bones, 2, 2) line segments child–parent; face bones and bones to a dropped
    keypoint (:func:`ccnce.plots.plausible`) collapse to a point at the parent."""
    ok = plausible(joints)
    return np.array([[joints[p], joints[j] if ok[j] and ok[p] else joints[p]]
                     for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]])


def _segment_colors() -> list[str]:
    return [RIGHT_COLOR if j in RIGHT_ARM else LEFT_COLOR if j in LEFT_ARM else BODY_COLOR
            for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]]


def animation_gif(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                  seed: int | None = None, window: int = 0, fps: int = 15, dpi: int = 80,
                  frames: int | None = None) -> bytes:
    """An animated GIF (bytes) of one test window: one panel per variant, generated over true (grey), at
    the data's 15 fps (matplotlib.animation + PillowWriter); ``frames`` limits it to the first frames."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, window)
    fig = Figure(figsize=(2.3 * len(paths), 2.9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(paths), squeeze=False)[0]
    seqs = {v: (from_kept(np.asarray(d["pred"][window], float)), from_kept(np.asarray(d["true"][window], float)))
            for v, d in data.items()}
    allxy = np.concatenate([np.concatenate([p, t])[plausible(np.concatenate([p, t])) > 0] for p, t in seqs.values()])
    lo, hi = allxy.min(axis=0), allxy.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    colors = _segment_colors()
    lines = []
    for ax, (v, (pred, true)) in zip(axes, seqs.items()):
        true_lc = LineCollection(_segments(true[0]), colors=TRUE_COLOR, linewidths=3.0)
        pred_lc = LineCollection(_segments(pred[0]), colors=colors, linewidths=1.5)
        ax.add_collection(true_lc), ax.add_collection(pred_lc)
        ax.set_xlim(lo[0] - pad, hi[0] + pad), ax.set_ylim(hi[1] + pad, lo[1] - pad)
        ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(VARIANT_LABEL[v], fontsize=9)
        lines.append((true_lc, pred_lc, pred, true))
    label = fig.text(0.5, 0.02, "", ha="center", fontsize=7, color="#555555")
    fig.suptitle(f"{data_source} · {speaker} · seed {seed} · test window {window}: generated (colour), true (grey)",
                 fontsize=7.5)
    n_frames = min(len(t) for _, _, _, t in lines)
    n_frames = min(n_frames, frames) if frames else n_frames

    def update(t: int):
        for true_lc, pred_lc, pred, true in lines:
            true_lc.set_segments(_segments(true[t]))
            pred_lc.set_segments(_segments(pred[t]))
        label.set_text(f"frame {t + 1}/{n_frames} (15 fps)")
        return []

    anim = FuncAnimation(fig, update, frames=n_frames, blit=False)
    with tempfile.TemporaryDirectory(prefix="ccnce-gif-") as tmp:
        out = Path(tmp) / "window.gif"
        anim.save(out, writer=PillowWriter(fps=fps), dpi=dpi)
        return out.read_bytes()


def animation_html(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs: Any) -> str:
    """:func:`animation_gif` embedded as an ``<img>`` with a data URI (self-contained, works offline)."""
    gif = animation_gif(runs, data_source, **kwargs)
    return (f'<img class="ccnce-animation" alt="animated test window: generated over true skeletons" '
            f'src="data:image/gif;base64,{base64.b64encode(gif).decode()}"/>')


def show_animation(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs: Any) -> None:
    """Display :func:`animation_html` in a notebook, or say what is missing."""
    from IPython.display import HTML, display

    try:
        display(HTML(animation_html(runs, data_source, **kwargs)))
    except MissingResults as e:
        show(f"*Animation not available: {e}.*")

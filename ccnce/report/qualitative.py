"""Figure 4, re-made (:func:`qualitative_figure`): generated over true skeletons in stored test windows,
one row of frames per variant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.data.skeleton import N_JOINTS, from_kept
from ccnce.plots import plausible
from ccnce.report.figures import TRUE_COLOR, _footer, _new_figure
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


def pick_windows(gesture: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` stored windows of different true gesture classes (labelled ones first, in stored order);
    without labels the first ``n``."""
    gesture = np.asarray(gesture)
    picked, seen = [], set()
    for i, g in enumerate(gesture):
        if g >= 0 and int(g) not in seen:
            picked.append(i)
            seen.add(int(g))
    picked += [i for i in range(len(gesture)) if i not in picked]
    return picked[:n]


def qualitative_figure(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                       seed: int | None = None, n_windows: int = 3, n_frames: int = 6) -> Figure:
    """Figure 4: ``n_windows`` stored test windows of different true gesture classes; per window its class,
    the words spoken in it (synthetic data in the build) and one row per variant with its L1 on that
    window (pixels, mean over frames and coordinates): ``n_frames`` frames, each in its own panel fitted
    to the window's poses, the generated skeleton (right arm red, left arm blue) over the true one (grey)."""
    from ccnce.plots import draw_skeleton
    from ccnce.report.figure2 import _gesture_names
    from ccnce.report.runs import synthetic_root

    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, 0)
    first = next(iter(data.values()))
    n_stored = min(len(d["pred"]) for d in data.values())
    gesture = np.asarray(first.get("gesture", np.full(n_stored, -1)))[:n_stored]
    windows = pick_windows(gesture, n_windows)
    names = _gesture_names()
    root = synthetic_root()
    with_words = data_source == "synthetic" and (root / "cmu_intervals_df.csv").exists() and "window" in first
    fig = _new_figure(1.45 * n_frames + 1.2, (1.35 * len(paths) + 0.45) * len(windows) + 0.5)
    subfigs = fig.subfigures(len(windows), 1, squeeze=False)[:, 0]
    for sub, w in zip(subfigs, windows):
        cls = int(gesture[w])
        label = (names.get(cls, f"class {cls}") if cls >= 0 else "no single true class") if "gesture" in first \
            else "true class not stored"
        words = ""
        if with_words:
            from ccnce.report.video import locate_window

            words = f" — “{locate_window(paths[next(iter(paths))], int(first['window'][w]), root).words}”"
        position = int(first["window"][w]) if "window" in first else w
        sub.suptitle(f"test window {position}: {label}{words}", fontsize=8.5, x=0.02, ha="left")
        axes = sub.subplots(len(data), n_frames, squeeze=False)
        seqs = {v: (from_kept(np.asarray(d["pred"][w], float)), from_kept(np.asarray(d["true"][w], float)))
                for v, d in data.items()}
        both = np.concatenate([np.concatenate([p, t]) for p, t in seqs.values()])
        both = both[plausible(both) * _NO_FACE > 0]
        lo, hi = both.min(axis=0), both.max(axis=0)
        pad = 0.06 * (hi - lo).max()
        for row, (v, (pred, true)) in zip(axes, seqs.items()):
            l1 = float(np.abs(np.asarray(data[v]["pred"][w], float) - np.asarray(data[v]["true"][w], float)).mean())
            frames = np.linspace(0, len(true) - 1, n_frames).round().astype(int)
            for ax, t in zip(row, frames):
                draw_skeleton(ax, true[t], color=TRUE_COLOR, confidence=_NO_FACE * plausible(true[t]), linewidth=2.4)
                draw_skeleton(ax, pred[t], confidence=_NO_FACE * plausible(pred[t]), linewidth=1.3)
                ax.set_xlim(lo[0] - pad, hi[0] + pad), ax.set_ylim(hi[1] + pad, lo[1] - pad)
                ax.set_xticks([]), ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
            row[0].set_ylabel(f"{VARIANT_LABEL[v]}\nL1 {l1:.1f} px", fontsize=7.5)
            if v == next(iter(seqs)):
                for ax, t in zip(row, frames):
                    ax.set_title(f"frame {t}", fontsize=6.5)
    fig.suptitle(f"Figure 4, re-made: generated (colour) over true (grey), {len(windows)} test windows "
                 f"({data_source}, {speaker}, seed {seed}); L1 on the window in pixels", fontsize=9)
    _footer(fig, paths.values())
    return fig

"""Figure 2, re-made: CC-NCE's global clusters as joint-motion heatmaps (left) and a t-SNE of the
language embeddings z coloured by online cluster and by true gesture (right)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.data.skeleton import KEPT_JOINTS, LEFT_ARM, N_JOINTS, RIGHT_ARM, from_kept
from ccnce.metrics import UNLABELLED
from ccnce.report.figures import _footer, _new_figure, _palette
from ccnce.report.runs import VARIANT_LABEL, MissingResults, _load_npz, find_run, pick_speaker_seed, run_label
from ccnce.results import read_json


# ------------------------------------------------------------------------ Figure 2 left: heatmaps
def _arm_rows() -> tuple[np.ndarray, np.ndarray]:
    """Indices into the 48 kept joints of the right-arm and left-arm joints (each in skeleton order)."""
    kept = list(KEPT_JOINTS)
    return (np.array([kept.index(j) for j in RIGHT_ARM if j in kept]),
            np.array([kept.index(j) for j in LEFT_ARM if j in kept]))


def joint_displacement(window: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(T, 96) pixel window → (T, 48): distance of each kept joint from its position in the first frame
    where it was detected. ``valid`` (T, 48) marks detected keypoints; dropped ones are NaN."""
    w = np.asarray(window, dtype=float)
    n = w.shape[-1] // 2
    xy = np.stack([w[:, :n], w[:, n:]], axis=-1)
    ok = np.ones(xy.shape[:2], bool) if valid is None else np.asarray(valid, bool)
    first = np.where(ok.any(axis=0), ok.argmax(axis=0), 0)
    disp = np.linalg.norm(xy - xy[first, np.arange(n)][None], axis=-1)
    return np.where(ok, disp, np.nan)


def detected(window: np.ndarray) -> np.ndarray:
    """(T, 96) pixel window → (T, 48) bool: keypoints the detector kept (not thrown far off the body, the
    mark of a dropped OpenPose keypoint; :func:`ccnce.plots.plausible`)."""
    from ccnce.plots import plausible

    return plausible(from_kept(np.asarray(window, dtype=float)))[:, list(KEPT_JOINTS)] > 0


DROPPED_GREY = 0.82


def _two_tone(values: np.ndarray, right: np.ndarray, left: np.ndarray, vmax: float) -> np.ndarray:
    """(48, T) magnitudes → RGB image: right-arm rows in reds, then left-arm rows in blues; NaN (a dropped
    keypoint) in grey."""
    import matplotlib

    v = np.clip(np.nan_to_num(values / max(vmax, 1e-9)), 0, 1)
    reds, blues = matplotlib.colormaps["Reds"], matplotlib.colormaps["Blues"]
    img = np.concatenate([reds(v[right])[..., :3], np.ones((1, v.shape[1], 3)), blues(v[left])[..., :3]], axis=0)
    dropped = np.concatenate([np.isnan(values[right]), np.zeros((1, v.shape[1]), bool), np.isnan(values[left])])
    img[dropped] = DROPPED_GREY
    return img


def _valid_members(poses: np.ndarray) -> list[np.ndarray]:
    return [m for m in poses if np.isfinite(m).all() and np.abs(m).sum() > 0]


def _member_classes(path: Path, members: list[list[np.ndarray]], data_source: str) -> list[list[int]] | None:
    """True gesture class of every stored member (synthetic data present in this build), else None."""
    from ccnce.errors import CcnceError
    from ccnce.report.runs import synthetic_root
    from ccnce.report.video import test_window_classes

    root = synthetic_root()
    if data_source != "synthetic" or not (root / "cmu_intervals_df.csv").exists():
        return None
    flat = [m for ms in members for m in ms]
    if not flat:
        return None
    try:
        classes = test_window_classes(path, np.stack(flat), root).tolist()
    except CcnceError:  # a run whose config or data this build cannot read: no classes, not no figure
        return None
    out, k = [], 0
    for ms in members:
        out.append(classes[k:k + len(ms)])
        k += len(ms)
    return out


def cluster_heatmaps(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                     seed: int | None = None, n_clusters: int = 4, n_members: int = 3) -> Figure:
    """Figure 2 (left): for a few of CC-NCE's global clusters, ~3 member sequences each.

    Per cluster, one row: first the members overlaid in the image plane (where the right-arm joints
    (red) and left-arm joints (blue) went during the 64 frames: a density, darker = more time spent),
    then one heatmap per member of joint motion over time: each joint's distance from where it was first
    detected (pixels, one colour scale for the figure, colourbars on the right), right-arm joints in reds
    above the white line, left-arm joints in blues below; keypoints the detector dropped are grey, not
    motion. With the synthetic dataset in the build, each member is titled with its true gesture class
    and clusters are ordered by their members' majority class; otherwise by cluster id.
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    path = find_run(runs, data_source, "ccnce", speaker, seed, needs="clusters.npz")
    if path is None:
        raise MissingResults(f"no CC-NCE run with clusters.npz under results/{data_source}/")
    data = _load_npz(path, "clusters", ("poses", "cluster_ids"))
    poses, ids = np.asarray(data["poses"], dtype=float), np.asarray(data["cluster_ids"])
    members = [_valid_members(p)[:n_members] for p in poses]
    by_size = sorted(range(len(members)), key=lambda c: (-len(members[c]), c))
    chosen = [c for c in by_size if members[c]][:n_clusters]
    if not chosen:
        raise MissingResults(f"{run_label(path)}: clusters.npz has no stored member sequences")
    classes = _member_classes(path, [members[c] for c in chosen], data_source)
    names = _gesture_names()
    if classes is not None:
        majority = [max(set(cs), key=cs.count) if cs else -1 for cs in classes]
        order = sorted(range(len(chosen)), key=lambda i: (majority[i] < 0, majority[i], int(ids[chosen[i]])))
        chosen, classes = [chosen[i] for i in order], [classes[i] for i in order]
    else:
        chosen = sorted(chosen, key=lambda c: int(ids[c]))
    right, left = _arm_rows()
    disp = {c: [joint_displacement(s, detected(s)).T for s in members[c]] for c in chosen}
    valid = np.concatenate([d[np.isfinite(d)] for ds in disp.values() for d in ds])
    vmax = float(np.percentile(valid, 99)) if valid.size else 1.0
    fig = _new_figure(2.6 + 2.5 * n_members + 0.9, 2.3 * len(chosen) + 0.6)
    axes = fig.subplots(len(chosen), 1 + n_members, squeeze=False,
                        gridspec_kw={"width_ratios": [1.1] + [1.0] * n_members})
    for r, (row, c) in enumerate(zip(axes, chosen)):
        seqs = members[c]
        _overlay(row[0], seqs)
        row[0].set_title(f"cluster {int(ids[c])}: {len(seqs)} members overlaid", fontsize=8)
        for k, ax in enumerate(row[1:]):
            ax.set_xticks([]), ax.set_yticks([])
            if k >= len(seqs):
                ax.set_axis_off()
                continue
            img = _two_tone(disp[c][k], right, left, vmax)
            ax.imshow(img, aspect="auto", interpolation="nearest", extent=(0, img.shape[1], img.shape[0], 0))
            cls = classes[r][k] if classes is not None else None
            label = ("" if cls is None else f": {names.get(cls, f'class {cls}')}" if cls >= 0 else ": no single class")
            ax.set_title(f"member {k + 1}{label}", fontsize=8)
            ax.set_xlabel("frame (15 fps)", fontsize=7)
            ax.set_xticks([0, 32, 64])
            ax.set_yticks([len(right) / 2, len(right) + 1 + len(left) / 2], ["right arm", "left arm"], fontsize=7)
            ax.tick_params(labelsize=7)
    norm = Normalize(0, vmax)
    for cmap, arm in (("Blues", "left"), ("Reds", "right")):
        bar = fig.colorbar(ScalarMappable(norm, matplotlib.colormaps[cmap]), ax=axes[:, -1], fraction=0.05, pad=0.01)
        bar.set_label(f"{arm} arm: displacement (px)", fontsize=7)
        bar.ax.tick_params(labelsize=6.5)
    fig.suptitle(f"Figure 2 (left), re-made: CC-NCE global clusters ({data_source}); grey = keypoint dropped by "
                 f"the detector; " + ("true gesture class per member" if classes is not None else
                                      "true classes need the synthetic dataset in the build"), fontsize=9)
    _footer(fig, [path])
    return fig


def _overlay(ax, seqs: Sequence[np.ndarray], bins: int = 64) -> None:
    from ccnce.plots import draw_skeleton

    joints = [from_kept(s) for s in seqs]  # (T, 52, 2) each
    allxy = np.concatenate([j.reshape(-1, 2) for j in joints])
    lo, hi = np.percentile(allxy, 0.5, axis=0), np.percentile(allxy, 99.5, axis=0)
    pad = 0.08 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    side = (hi - lo).max()
    lo, hi = (lo + hi) / 2 - side / 2, (lo + hi) / 2 + side / 2

    def density(group: Sequence[int]) -> np.ndarray:
        pts = np.concatenate([j[:, list(group)].reshape(-1, 2) for j in joints])
        h, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=bins, range=[[lo[1], hi[1]], [lo[0], hi[0]]])
        h = np.log1p(h)
        return h / h.max() if h.max() > 0 else h

    r, b = density(RIGHT_ARM), density(LEFT_ARM)
    img = np.stack([(1 - b * 0.85), (1 - r * 0.85) * (1 - b * 0.6), (1 - r * 0.85)], axis=-1).clip(0, 1)
    ax.imshow(img, extent=(lo[0], hi[0], hi[1], lo[1]), interpolation="bilinear")
    conf = np.ones(N_JOINTS)
    conf[[7, 8, 9]] = 0  # nose and eyes are not predicted (they would sit on the neck)
    draw_skeleton(ax, joints[0][0], color="#777777", confidence=conf, linewidth=0.8, alpha=0.6)
    ax.set_xlim(lo[0], hi[0]), ax.set_ylim(hi[1], lo[1])
    ax.set_xticks([]), ax.set_yticks([])


# --------------------------------------------------------------------------- Figure 2 right: t-SNE
def tsne_embedding(z: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of row-normalised embeddings (scikit-learn, PCA initialisation, fixed seed)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    z = np.asarray(z, dtype=float)
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    perplexity = float(min(30.0, max(2.0, (len(z) - 1) / 3)))
    # one thread: a few hundred points take seconds, and OpenMP threads that wait for busy cores (a shared
    # 2-core machine) once made the same call take a minute
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z)


def _gesture_names() -> dict[int, str]:
    try:
        from ccnce.data.synth.lexicon import GESTURES
    except ImportError:
        return {}
    return {g.id: g.name for g in GESTURES}


def tsne_figure(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                seed: int | None = None, variants: Sequence[str] = ("ccnce", "none"), max_points: int = 600,
                top_clusters: int = 10) -> Figure:
    """Figure 2 (right): t-SNE of the pooled language embeddings ``z`` of test windows, one row per variant,
    coloured by CC-NCE's online cluster (the ``top_clusters`` largest, tab10 circles; others grey) and by
    true gesture class (synthetic data; a separate palette, triangles), with the k-NN accuracy beside its
    chance level (the test majority class's share). Same speaker and seed for every row; at most ``max_points`` windows (fixed
    subsample)."""
    pick = pick_speaker_seed(runs, data_source, variants, "embeddings.npz")
    if pick is None:
        raise MissingResults(f"no {' or '.join(variants)} run with embeddings.npz under results/{data_source}/")
    speaker = speaker or pick[0]
    seed = pick[1] if seed is None else seed
    paths = {v: find_run(runs, data_source, v, speaker, seed, needs="embeddings.npz") for v in variants}
    names = _gesture_names()
    fig = _new_figure(8.2, 3.5 * len(variants) + 0.4)
    axes = fig.subplots(len(variants), 2, squeeze=False)
    for row, v in zip(axes, variants):
        path = paths[v]
        if path is None:
            for ax in row:
                ax.set_axis_off()
                ax.text(0.5, 0.5, f"no {v} run for {speaker} seed {seed}", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8)
            continue
        emb = _load_npz(path, "embeddings", ("z",))
        z = emb["z"]
        n = len(z)
        cluster = np.asarray(emb.get("cluster", np.full(n, -1)))
        gesture = np.asarray(emb.get("gesture", np.full(n, UNLABELLED)))
        keep = np.sort(np.random.default_rng(0).permutation(n)[:max_points])
        xy = tsne_embedding(z[keep])
        metrics = _metrics(path)
        knn, chance = metrics.get("knn_acc"), metrics.get("knn_chance")
        knn_text = f"; k-NN {knn:.2f}" if isinstance(knn, (int, float)) else ""
        knn_text += f", chance {chance:.2f}" if knn_text and isinstance(chance, (int, float)) else ""
        _scatter_clusters(row[0], xy, cluster[keep], top_clusters)
        row[0].set_title(f"{VARIANT_LABEL[v]}: coloured by online cluster", fontsize=8.5)
        _scatter_gestures(row[1], xy, gesture[keep], names)
        row[1].set_title(f"{VARIANT_LABEL[v]}: true gesture{knn_text}", fontsize=8.5)
    fig.suptitle(f"Figure 2 (right), re-made: t-SNE of language embeddings z, test windows ({data_source}, "
                 f"{speaker}, seed {seed})", fontsize=9)
    _footer(fig, [p for p in paths.values() if p is not None])
    return fig


def _metrics(path: Path) -> dict[str, Any]:
    try:
        return read_json(path / "metrics.json")
    except (OSError, json.JSONDecodeError):
        return {}


def _scatter_clusters(ax, xy: np.ndarray, cluster: np.ndarray, top: int) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    valid = cluster >= 0
    if not valid.any():
        ax.scatter(xy[:, 0], xy[:, 1], s=5, color="#999999", linewidths=0)
        ax.text(0.02, 0.02, "no online clusters recorded for this variant", transform=ax.transAxes, fontsize=7)
        return
    ids, counts = np.unique(cluster[valid], return_counts=True)
    largest = ids[np.argsort(-counts, kind="stable")[:top]]
    other = ~np.isin(cluster, largest)
    ax.scatter(xy[other, 0], xy[other, 1], s=4, color="#cccccc", linewidths=0, label="other / none")
    for color, c in zip(_palette(len(largest)), largest):
        m = cluster == c
        ax.scatter(xy[m, 0], xy[m, 1], s=8, color=color, marker="o", linewidths=0, label=f"cluster {int(c)}")
    ax.legend(fontsize=5.5, markerscale=1.5, frameon=False, loc="best", ncol=2)


def _gesture_palette(n: int) -> list:
    """Gesture classes get their own palette (and triangles), never the clusters' tab10 circles: a colour
    on the left panel of :func:`tsne_figure` means nothing on the right one."""
    import seaborn as sns

    return sns.color_palette("husl", n)


def _scatter_gestures(ax, xy: np.ndarray, gesture: np.ndarray, names: Mapping[int, str]) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    unknown = gesture == UNLABELLED
    ax.scatter(xy[unknown, 0], xy[unknown, 1], s=4, color="#cccccc", linewidths=0, label="unknown")
    classes = np.unique(gesture[~unknown])
    for color, g in zip(_gesture_palette(len(classes)), classes):
        m = gesture == g
        ax.scatter(xy[m, 0], xy[m, 1], s=11, color=color, marker="^", linewidths=0,
                   label=names.get(int(g), f"class {int(g)}"))
    if not len(classes):
        ax.text(0.02, 0.02, "no true gesture labels (real data)", transform=ax.transAxes, fontsize=7)
    ax.legend(fontsize=5.5, markerscale=1.5, frameon=False, loc="best", ncol=2)

"""How well the paper's similarity threshold separates the true gestures of a synthetic dataset.

CC-NCE (METHOD.md) calls two ground-truth pose windows "similar" when ``Sim(a, b) ≥ μ̂ + σ̂``, with
``Sim`` the dot product of the flattened z-normalised windows (64 × 96) and μ̂, σ̂ the mean and standard
deviation of the similarities of arbitrary pairs. On synthetic data the truth is known, so this module
measures that instrument: windows (the training windows of a speaker, exactly as the model sees them,
via :func:`ccnce.data.dataset.load_speaker`) are labelled by their dominant true gesture class (the class
of at least ``min_share`` of their frames; windows without one are left unlabelled), and the threshold is
scored as a classifier of "same class" over all pairs of labelled windows: precision, recall, the base
rate of same-class pairs, and the ROC AUC of the raw similarity. Cosine similarity is reported beside it.
μ̂ and σ̂ are taken over all pairs of windows (labelled or not), as the model would estimate them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ccnce.errors import DataError

MIN_SHARE = 0.5
MAX_WINDOWS = 2500  # a random subset beyond this (pairs grow quadratically)


def dominant_class(gesture: np.ndarray, min_share: float = MIN_SHARE) -> np.ndarray:
    """(N,) the class covering at least ``min_share`` of each window's frames, else -1.

    ``gesture`` is (N, W) int64 with -1 for unknown frames (which never dominate).
    """
    gesture = np.asarray(gesture)
    n_classes = int(gesture.max(initial=-1)) + 1
    if n_classes == 0:
        return np.full(len(gesture), -1, dtype=np.int64)
    counts = np.stack([(gesture == c).sum(axis=1) for c in range(n_classes)], axis=1)
    best = counts.argmax(axis=1)
    share = counts[np.arange(len(gesture)), best] / gesture.shape[1]
    return np.where(share >= min_share, best, -1).astype(np.int64)


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) statistic; ties get their average rank."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_scores(sim: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Score the μ+σ threshold of a symmetric similarity matrix against window labels (-1: unlabelled)."""
    iu, ju = np.triu_indices(len(sim), k=1)
    all_pairs = sim[iu, ju]
    mu, sigma = float(all_pairs.mean()), float(all_pairs.std())
    threshold = mu + sigma
    keep = (labels[iu] >= 0) & (labels[ju] >= 0)
    s = all_pairs[keep]
    same = labels[iu][keep] == labels[ju][keep]
    predicted = s >= threshold
    tp = int((predicted & same).sum())
    per_class = {}
    for c in np.unique(labels[labels >= 0]):
        mask = same & (labels[iu][keep] == c)
        per_class[int(c)] = {
            "windows": int((labels == c).sum()),
            "within_mean": float(s[mask].mean()) if mask.any() else float("nan"),
            "recall": float(predicted[mask].mean()) if mask.any() else float("nan"),
        }
    return {
        "mu": mu,
        "sigma": sigma,
        "threshold": threshold,
        "within_mean": float(s[same].mean()) if same.any() else float("nan"),
        "across_mean": float(s[~same].mean()) if (~same).any() else float("nan"),
        "same_pairs": int(same.sum()),
        "pairs": int(len(s)),
        "base_rate": float(same.mean()) if len(s) else float("nan"),
        "predicted_same": int(predicted.sum()),
        "precision": tp / int(predicted.sum()) if predicted.any() else float("nan"),
        "recall": tp / int(same.sum()) if same.any() else float("nan"),
        "auc": _auc(s, same),
        "per_class": per_class,
        "histogram": similarity_histogram(s, same),
    }


def similarity_histogram(s: np.ndarray, same: np.ndarray, bins: int = 60) -> dict[str, list]:
    """Counts of the similarities ``s`` of same-class and different-class pairs over shared bin edges
    (between the 0.1 and 99.9 percentiles of all pairs; pairs outside are counted in the end bins)."""
    if len(s) == 0:
        return {"edges": [], "same": [], "different": []}
    low, high = np.percentile(s, [0.1, 99.9])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    clipped = np.clip(s, low, high)
    return {"edges": edges.tolist(), "same": np.histogram(clipped[same], edges)[0].tolist(),
            "different": np.histogram(clipped[~same], edges)[0].tolist()}


def window_separability(pose: np.ndarray, gesture: np.ndarray, min_share: float = MIN_SHARE) -> dict[str, Any]:
    """Separability of z-normalised windows ``pose`` (N, W, D) with per-frame true classes ``gesture`` (N, W)."""
    labels = dominant_class(gesture, min_share)
    x = np.asarray(pose, dtype=np.float64).reshape(len(pose), -1)
    dot = x @ x.T
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    cosine = unit @ unit.T
    return {
        "windows": int(len(pose)),
        "labelled": int((labels >= 0).sum()),
        "dot": threshold_scores(dot, labels),
        "cosine": threshold_scores(cosine, labels),
    }


def measure_separability(root: str | Path, speakers: list[str] | None = None, min_share: float = MIN_SHARE,
                         max_windows: int = MAX_WINDOWS, seed: int = 0) -> dict[str, Any]:
    """Separability per speaker of a synthetic PATS-layout root (training windows, default data config)."""
    from ccnce.config import Config
    from ccnce.data.dataset import load_speaker
    from ccnce.data.pats import PatsRoot
    from ccnce.data.synth.lexicon import GESTURE_NAMES

    root = Path(root)
    available = PatsRoot(root).speakers
    speakers = speakers or available
    unknown = [s for s in speakers if s not in available]
    if unknown:
        raise DataError(f"{root} has no speaker(s) {', '.join(unknown)}; it has {', '.join(available)}")
    out: dict[str, Any] = {"root": str(root), "min_share": min_share, "split": "train", "speakers": {},
                           "classes": list(GESTURE_NAMES)}
    for speaker in speakers:
        cfg = Config.from_profile("cpu", speaker=speaker, data_root=str(root))
        out["window"], out["hop"], out["pose_key"] = cfg.window, cfg.hop, cfg.pose_key
        train = load_speaker(cfg, root, progress=False).train
        positions = np.arange(len(train))
        if len(train) > max_windows:
            positions = np.sort(np.random.default_rng(seed).choice(len(train), max_windows, replace=False))
        batch = train.batch(positions)
        gesture = batch["gesture"].numpy()
        if (gesture < 0).all():
            raise DataError(f"{root}: speaker {speaker} has no synth/gesture ground truth; "
                            "separability needs a dataset written by `ccnce synth`")
        out["speakers"][speaker] = window_separability(batch["pose"].numpy(), gesture, min_share)
        out["speakers"][speaker]["train_windows"] = int(len(train))
    return out


def format_separability(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`measure_separability`."""
    lines = [f"separability of true gestures by the μ+σ threshold ({result['root']}, {result['split']} windows, "
             f"label = class of ≥ {result['min_share']:.0%} of a window's frames)"]
    header = (f"{'speaker':<11} {'sim':<6} {'windows':>7} {'labelled':>8} {'within':>9} {'across':>9} "
              f"{'μ+σ':>9} {'base':>6} {'prec':>6} {'recall':>6} {'auc':>6}")
    lines.append(header)
    for speaker, r in result["speakers"].items():
        for kind in ("dot", "cosine"):
            m = r[kind]
            lines.append(f"{speaker:<11} {kind:<6} {r['windows']:>7} {r['labelled']:>8} {m['within_mean']:>9.3g} "
                         f"{m['across_mean']:>9.3g} {m['threshold']:>9.3g} {m['base_rate']:>6.3f} "
                         f"{m['precision']:>6.3f} {m['recall']:>6.3f} {m['auc']:>6.3f}")
    names = result.get("classes", [])
    lines.append("per-class recall of the dot threshold (windows):")
    for speaker, r in result["speakers"].items():
        parts = [f"{names[c] if c < len(names) else c}={v['recall']:.2f}({v['windows']})"
                 for c, v in sorted(r["dot"]["per_class"].items(), key=lambda kv: int(kv[0]))]
        lines.append(f"  {speaker}: " + ", ".join(parts))
    return "\n".join(lines)

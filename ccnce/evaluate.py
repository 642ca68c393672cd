"""Evaluate a trained generator: metrics on full test intervals and small samples for the book.

EVALUATION.md: the test split on full intervals (non-overlapping 64-frame windows, concatenated per
interval); the paper's metrics (``ccnce.metrics``) plus, where the data carries true gesture ids, the
gesture accuracy and FGD of the generated motion (:mod:`ccnce.gesture_accuracy`) and the grounding of the
language embeddings ``z`` (k-NN accuracy and silhouette against the true classes, see :func:`grounding`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccnce import gesture_accuracy
from ccnce import metrics as M
from ccnce.clustering import batch_clustering, flatten_windows, off_diagonal, similarity
from ccnce.config import Config
from ccnce.data.dataset import SpeakerData, WindowSet
from ccnce.results import write_npz

N_GENERATED = 6  # test windows kept for the qualitative figure
N_CLUSTERS, N_MEMBERS = 4, 3  # clusters x members kept for the heatmap figure
UNKNOWN = -1
PROBE_PERMUTATIONS = 20  # reference-label permutations behind the probe's chance level


@dataclass
class Evaluation:
    metrics: dict[str, float]
    samples: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class Generated:
    pred: np.ndarray  # (N, T, 96) z-normalised generated poses
    true: np.ndarray  # (N, T, 96) z-normalised ground truth
    z: np.ndarray  # (N, E) time-pooled, L2-normalised language embeddings
    gesture: np.ndarray  # (N, T) true gesture ids (-1 unknown)


@torch.no_grad()
def generate(G: torch.nn.Module, ws: WindowSet, device: torch.device, batch_size: int = 64) -> Generated:
    """Run ``G`` in eval mode over every window of ``ws`` (in order)."""
    was_training = G.training
    G.eval()
    preds, trues, zs, gestures = [], [], [], []
    for start in range(0, len(ws), batch_size):
        batch = ws.batch(np.arange(start, min(start + batch_size, len(ws))))
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        out = G(batch)
        preds.append(out.pose.float().cpu().numpy())
        trues.append(batch["pose"].cpu().numpy())
        zs.append(torch.nn.functional.normalize(out.z.float().mean(dim=2), dim=1).cpu().numpy())
        gestures.append(batch["gesture"].cpu().numpy())
    G.train(was_training)
    return Generated(np.concatenate(preds), np.concatenate(trues), np.concatenate(zs), np.concatenate(gestures))


def dev_scores(G: torch.nn.Module, ws: WindowSet, cfg: Config, device: torch.device,
               judge: gesture_accuracy.GestureJudge | None = None) -> dict[str, float]:
    """What the history records of the dev windows ``ws`` every epoch: ``dev_l1`` (the early-stopping
    criterion) and, given the speaker's gesture judge of these windows, ``dev_gesture_acc`` and ``dev_fgd``."""
    g = generate(G, ws, device, batch_size=max(cfg.batch_size, 64))
    scores = {"dev_l1": M.l1(g.pred, g.true)}
    if judge is not None:
        verdict = judge.score(g.pred)
        scores.update(dev_gesture_acc=verdict["gesture_acc"], dev_fgd=verdict["fgd"])
    return scores


def dominant_class(gesture: np.ndarray, min_share: float = 0.5) -> np.ndarray:
    """Per window (rows of ``gesture`` (N, T)): the class covering at least ``min_share`` of the frames.

    -1 where no class does, or where the data has no ground truth.
    """
    gesture = np.asarray(gesture)
    out = np.full(len(gesture), UNKNOWN, dtype=np.int64)
    for i, row in enumerate(gesture):
        values, counts = np.unique(row[row >= 0], return_counts=True)
        if len(values) and counts.max() >= min_share * len(row):
            out[i] = values[counts.argmax()]
    return out


def online_cluster_quality(cluster_ids: list[np.ndarray], truth: list[np.ndarray]) -> dict[str, float]:
    """NMI / ARI / purity of the online global clusters of one epoch against the true gesture classes.

    NaN where the variant does not cluster or the data has no ground truth.
    """
    nan = {"nmi": float("nan"), "ari": float("nan"), "purity": float("nan")}
    if not cluster_ids:
        return nan
    pred, true = np.concatenate(cluster_ids), np.concatenate(truth)
    keep = (true >= 0) & (pred >= 0)
    if keep.sum() < 2 or len(np.unique(true[keep])) < 2:
        return nan
    return M.cluster_quality(pred[keep], true[keep])


def grounding(z: np.ndarray, window_class: np.ndarray, intervals: np.ndarray,
              z_ref: np.ndarray | None = None, class_ref: np.ndarray | None = None) -> dict[str, float]:
    """How well the embeddings ``z`` of test windows predict the windows' true gesture classes.

    - ``knn_acc``: 5-NN accuracy with neighbours from other test intervals only (leave one interval out);
    - ``knn_probe``: 5-NN accuracy with the training windows ``z_ref`` / ``class_ref`` as neighbours (a
      probe with a reference set ten times larger, so much less noisy), and ``knn_probe_chance``, the
      same probe's mean accuracy with the reference classes permuted (:data:`PROBE_PERMUTATIONS` times);
    - ``silhouette`` of ``z`` by class; ``knn_chance``: the test majority class's share.

    Nothing when the data has no true classes (e.g. real PATS).
    """
    known = window_class >= 0
    if known.sum() < 10 or np.unique(window_class[known]).size < 2 or np.unique(intervals[known]).size < 2:
        return {}
    counts = np.unique(window_class[known], return_counts=True)[1]
    out = {"knn_acc": M.knn_accuracy_across_groups(z, window_class, intervals),
           "knn_chance": float(counts.max() / counts.sum()),  # always guessing the majority class
           "silhouette": M.silhouette(z, window_class),
           "grounding_windows": float(known.sum())}
    if z_ref is not None and class_ref is not None and np.unique(class_ref[class_ref >= 0]).size >= 2:
        out["knn_probe"], out["knn_probe_chance"] = M.knn_accuracy(z, window_class, z_ref, class_ref,
                                                                   permutations=PROBE_PERMUTATIONS)
    return out


def cluster_test_windows(y: np.ndarray, kind: str = "dot") -> tuple[np.ndarray, float]:
    """Algorithm 1 over a set of test windows, threshold μ+σ of their pairwise similarities.

    Variant-independent, so that embeddings of every variant are coloured by the same gesture clusters.
    """
    Y = flatten_windows(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)))
    S = similarity(Y, Y, kind)
    s = off_diagonal(S)
    threshold = float(s.mean() + s.std()) if s.numel() > 1 else float("inf")  # < 3 windows: singletons
    clusters = batch_clustering(S, threshold, first_anchor=0)
    return clusters.assignment.numpy(), threshold


def motion_metrics(pred: np.ndarray, true: np.ndarray, data: SpeakerData, test_full: WindowSet) -> dict[str, float]:
    """Every metric of generated windows ``pred`` against the full test windows ``true`` (same order): the
    paper's pose metrics and, where the data has true gesture classes, gesture accuracy and FGD. Runs and
    baselines (:mod:`ccnce.baselines`) are scored by this one function."""
    metrics: dict[str, float] = M.evaluate_poses(pred, true, data.stats, data.clusterer.label)
    judge = gesture_accuracy.judge(data, test_full)
    if judge is not None:
        metrics.update(judge.score(pred))
    return metrics


def evaluate_run(G: torch.nn.Module, data: SpeakerData, test_full: WindowSet, cfg: Config,
                 device: torch.device) -> Evaluation:
    """All metrics of one run on the full test intervals, and the samples the book draws from."""
    g = generate(G, test_full, device)
    metrics = motion_metrics(g.pred, g.true, data, test_full)

    window_class = dominant_class(g.gesture)
    # Grounding on every test window (hop as in training): many more windows than the full-interval set;
    # the k-NN never lets a window's own interval vote, so overlap cannot leak.
    windows = generate(G, data.test, device)
    windows_class = dominant_class(windows.gesture)
    reference = generate(G, data.train, device)
    metrics.update(grounding(windows.z, windows_class, data.test.interval_ids,
                             reference.z, dominant_class(reference.gesture)))

    cluster, threshold = cluster_test_windows(windows.true, cfg.similarity)
    full_cluster, _ = cluster_test_windows(g.true, cfg.similarity)
    samples = {
        "embeddings": {"z": windows.z.astype(np.float32), "cluster": cluster, "gesture": windows_class,
                       "interval": data.test.interval_ids.astype(str), "threshold": np.float64(threshold)},
        "clusters": _cluster_members(g.true, full_cluster, data),
        "generated": _generated_examples(g, window_class, data),
    }
    return Evaluation({k: float(v) for k, v in metrics.items()}, samples)


def _cluster_members(y: np.ndarray, cluster: np.ndarray, data: SpeakerData) -> dict[str, np.ndarray]:
    ids, sizes = np.unique(cluster, return_counts=True)
    largest = [c for c in ids[np.argsort(-sizes, kind="stable")] if (cluster == c).sum() >= N_MEMBERS][:N_CLUSTERS]
    poses = np.stack([y[np.flatnonzero(cluster == c)[:N_MEMBERS]] for c in largest]) if largest else \
        np.zeros((0, N_MEMBERS) + y.shape[1:], np.float32)
    return {"poses": data.stats.denormalize_pose(poses).astype(np.float32), "cluster_ids": np.asarray(largest, np.int64)}


def _generated_examples(g: Generated, window_class: np.ndarray, data: SpeakerData) -> dict[str, np.ndarray]:
    pick = np.unique(np.linspace(0, len(g.pred) - 1, min(N_GENERATED, len(g.pred))).astype(np.int64))
    return {
        "pred": data.stats.denormalize_pose(g.pred[pick]).astype(np.float32),
        "true": data.stats.denormalize_pose(g.true[pick]).astype(np.float32),
        "window": pick.astype(np.int64),
        "gesture": window_class[pick],
    }


def write_samples(path: Path, arrays: dict[str, Any]) -> None:
    write_npz(path, **{k: np.asarray(v) for k, v in arrays.items()})

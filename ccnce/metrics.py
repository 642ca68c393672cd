"""Evaluation metrics (EVALUATION.md): small pure functions, numpy in, float or dict out.

Poses are the models' z-normalised poses: the last axis has 96 values, the x coordinates of the 48 kept
joints then their y coordinates, each relative to the neck (PATS.md, "Skeleton"). Frame metrics accept
``(N, 96)`` frames or ``(N, T, 96)`` windows (flattened to frames); motion metrics need windows, because
speeds are only defined between consecutive frames of one window. Metrics in pixels take ``stats``: the
speaker's pose z-normalisation, a pair ``(mean, std)`` of arrays of shape ``(96,)`` or an object with
``pose_mean`` and ``pose_std`` (:class:`ccnce.data.normalize.ZStats`); ``pixels = z * std + mean``, and
since every kept joint is stored relative to the neck, the neck is the origin of pixel space.

Groups:
- the paper and its CMU code family: :func:`l1`, :func:`fid`, :func:`pck`, :func:`w1_velocity`,
  :func:`w1_acceleration`, :func:`f1_clusters`, :func:`diversity`, :func:`expressiveness`;
- beyond the paper: :func:`cluster_quality` (online clusters vs. true gesture classes),
  :func:`knn_accuracy` and :func:`silhouette` (grounding of the language embeddings ``z``);
- statistics across seeds: :func:`paired_comparison`, :func:`mean_std`;
- :func:`evaluate_poses`: the pose metrics of one run in one call.

Every failure raises :class:`MetricError` with a message that names the metric and the problem; no
metric returns a sentinel value.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.stats
from sklearn.metrics import (
    adjusted_rand_score,
    f1_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from ccnce.data.skeleton import N_KEPT, POSE_DIM
from ccnce.errors import CcnceError

logger = logging.getLogger(__name__)

UNLABELLED = -1
"""Class id of an entry with no ground-truth gesture class; ignored by the metrics that use classes."""

PCK_ALPHAS: tuple[float, ...] = (0.1, 0.2)

FID_SQRTM_EPS = 1e-6
"""Offset ``eps * I`` added to both covariances when the first matrix square root is not usable."""

FID_MAX_IMAG = 1e-3
"""Largest imaginary part of sqrtm(S1 S2), relative to max(1, its largest real entry), that is discarded."""

CI_LEVEL = 0.95


class MetricError(CcnceError, ValueError):
    """A metric cannot be computed from its inputs (wrong shape, too few samples, numerical failure)."""


# ---------------------------------------------------------------------------------------------- inputs


def _finite(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise MetricError(f"{name} contains NaN or inf ({np.count_nonzero(~np.isfinite(arr))} values)")
    return arr


def _frames(x: Any, name: str, dim: int | None = POSE_DIM) -> np.ndarray:
    """(..., D) → (N_frames, D), finite; D must equal ``dim`` unless ``dim`` is None."""
    arr = _finite(x, name)
    if arr.ndim < 2 or (dim is not None and arr.shape[-1] != dim):
        want = f"(N, {dim}) or (N, T, {dim})" if dim is not None else "(N, D) or (N, T, D)"
        raise MetricError(f"{name} must have shape {want}, got {arr.shape}")
    return arr.reshape(-1, arr.shape[-1])


def _windows(x: Any, name: str, min_frames: int) -> np.ndarray:
    arr = _finite(x, name)
    if arr.ndim != 3 or arr.shape[-1] != POSE_DIM:
        raise MetricError(
            f"{name} must be windows of shape (N, T, {POSE_DIM}), got {arr.shape} "
            f"(pass one sequence as x[None])"
        )
    if arr.shape[1] < min_frames:
        raise MetricError(f"{name} needs at least {min_frames} frames per window, got T={arr.shape[1]}")
    return arr


def _same_shape(pred: np.ndarray, true: np.ndarray, metric: str) -> None:
    if pred.shape != true.shape:
        raise MetricError(f"{metric}: pred has shape {pred.shape} but true has shape {true.shape}")


def _labels(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise MetricError(f"{name} must be a 1-D array of labels, got shape {arr.shape}")
    return arr


def _unpack_stats(stats: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(stats, "pose_mean") and hasattr(stats, "pose_std"):
        mean, std = stats.pose_mean, stats.pose_std
    elif isinstance(stats, (tuple, list, np.ndarray)) and len(stats) == 2:
        mean, std = stats
    else:
        raise MetricError(
            f"stats must be a (mean, std) pair or have pose_mean and pose_std, got {type(stats).__name__}"
        )
    mean = _finite(mean, "stats mean").reshape(-1)
    std = _finite(std, "stats std").reshape(-1)
    if mean.shape != (POSE_DIM,) or std.shape != (POSE_DIM,):
        raise MetricError(
            f"stats must be (mean, std) of shape ({POSE_DIM},) each, got {mean.shape} and {std.shape}"
        )
    return mean, std


def _joints(pose96: np.ndarray) -> np.ndarray:
    """(..., 96) x block then y block → (..., 48, 2)."""
    return np.stack([pose96[..., :N_KEPT], pose96[..., N_KEPT:]], axis=-1)


def _pixel_joints(poses: np.ndarray, stats: Any) -> np.ndarray:
    """z-normalised (..., 96) → pixel (..., 48, 2) joint positions relative to the neck."""
    mean, std = _unpack_stats(stats)
    return _joints(poses * std + mean)


# ---------------------------------------------------------------------- the paper and its code family


def l1(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error between generated and true poses in z-normalised space.

    ``mean |pred - true|`` over every frame and all 96 values (neck, nose and eyes are already dropped);
    the paper's Table 1 metric (EVALUATION.md, "L1").
    """
    pred, true = _finite(pred, "pred"), _finite(true, "true")
    _same_shape(pred, true, "l1")
    if pred.size == 0:
        raise MetricError("l1: no values to compare")
    return float(np.mean(np.abs(pred - true)))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^½)`` (Dowson & Landau 1982), with ``(S1 S2)^½`` from
    ``scipy.linalg.sqrtm`` as in the FID of Heusel et al. 2017 and the CMU code family. When that square
    root is not finite or has an imaginary part above :data:`FID_MAX_IMAG` (relative to its largest real
    entry; rank-deficient covariances cause both), it is recomputed once with ``eps * I`` added to both
    covariances (``eps`` = :data:`FID_SQRTM_EPS`) and a warning is logged; if it is still unusable,
    :class:`MetricError`. The retry is the standard remedy (pytorch-fid does the same) and is not free:
    each zero eigenvalue of S1 S2 becomes about ``eps * (Tr S1 + Tr S2)``, so the distance can drop by
    up to ``2 D sqrt(eps (Tr S1 + Tr S2))`` (3e-3 for D = 2 and unit variances; the warning says so).
    The remaining small imaginary part is discarded. The distance is ≥ 0 in exact arithmetic; a negative
    result within rounding (1e-6 of the covariance traces) is returned as 0 and a more negative one
    raises.
    """
    mu1, mu2 = _finite(mu1, "mu1").reshape(-1), _finite(mu2, "mu2").reshape(-1)
    sigma1, sigma2 = np.atleast_2d(_finite(sigma1, "sigma1")), np.atleast_2d(_finite(sigma2, "sigma2"))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise MetricError(
            f"frechet_distance: shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
            f"mu2 {mu2.shape}, sigma2 {sigma2.shape}"
        )
    covmean = _sqrtm_product(sigma1, sigma2)
    diff = mu1 - mu2
    traces = float(np.trace(sigma1) + np.trace(sigma2))
    distance = float(diff @ diff + traces - 2.0 * np.trace(covmean))
    if distance < 0.0:
        if distance < -1e-6 * traces - 1e-12:
            raise MetricError(
                f"frechet_distance: got {distance:.3g} < 0 beyond rounding (covariance traces {traces:.3g}); "
                f"the matrix square root is inaccurate"
            )
        distance = 0.0
    return distance


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """Real (S1 S2)^½, retried once with an eps·I offset; see :func:`frechet_distance`."""

    def sqrtm(a: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            # scipy warns on singular input; the result is checked below instead.
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            return scipy.linalg.sqrtm(a)

    def excess_imag(root: np.ndarray) -> float:
        """Largest |imag| relative to max(1, largest |real|); inf if the root is not finite."""
        if not np.all(np.isfinite(root)):
            return math.inf
        if not np.iscomplexobj(root):
            return 0.0
        return float(np.max(np.abs(root.imag)) / max(1.0, float(np.max(np.abs(root.real)))))

    root = sqrtm(sigma1 @ sigma2)
    imag = excess_imag(root)
    if imag > FID_MAX_IMAG:
        logger.warning(
            "FID: sqrtm(S1 S2) unusable (relative imaginary part %.3g; singular covariances?); retrying with "
            "%g*I added to both covariances, which can lower the distance by O(sqrt(eps))",
            imag,
            FID_SQRTM_EPS,
        )
        offset = FID_SQRTM_EPS * np.eye(sigma1.shape[0])
        root = sqrtm((sigma1 + offset) @ (sigma2 + offset))
        imag = excess_imag(root)
        if imag > FID_MAX_IMAG:
            raise MetricError(
                f"FID: the matrix square root of S1 S2 is not real even with {FID_SQRTM_EPS}*I added "
                f"(relative imaginary part {imag:.3g} > {FID_MAX_IMAG}); check the poses for degenerate "
                f"or exploding values"
            )
    return np.real(root)


def fid(pred: np.ndarray, true: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to per-frame z-normalised pose vectors (the paper's FID).

    As in the CMU code family (EVALUATION.md, "FID"): no learned encoder and no time window: every frame
    of ``pred`` and of ``true`` is one 96-d sample; ``mu`` is the sample mean, ``S`` the sample covariance
    with N-1 (``np.cov(rowvar=False)``), and the distance is :func:`frechet_distance`. Frames ``(N, D)``
    or windows ``(N, T, D)``, D = 96 for poses; the two sets may have different numbers of frames (at
    least 2 each).
    """
    pred_f, true_f = _frames(pred, "pred", dim=None), _frames(true, "true", dim=None)
    if pred_f.shape[1] != true_f.shape[1]:
        raise MetricError(f"fid: pred has {pred_f.shape[1]} values per frame but true has {true_f.shape[1]}")
    for name, frames in (("pred", pred_f), ("true", true_f)):
        if frames.shape[0] < 2:
            raise MetricError(f"fid: {name} needs at least 2 frames for a covariance, got {frames.shape[0]}")
    return frechet_distance(
        pred_f.mean(axis=0), np.cov(pred_f, rowvar=False), true_f.mean(axis=0), np.cov(true_f, rowvar=False)
    )


def pck(pred: np.ndarray, true: np.ndarray, stats: Any, alphas: Sequence[float] = PCK_ALPHAS) -> float:
    """Percentage of correct keypoints in pixel space, averaged over ``alphas``.

    EVALUATION.md, "PCK" (the bounding-box PCK of pose estimation, as the code family uses it): after
    undoing the z-normalisation, a joint of a generated frame is correct when its Euclidean distance to
    the true joint is at most ``alpha * max(w, h)``, with ``w, h`` the width and height of the bounding
    box of the true frame's 48 joints and the neck (the origin). PCK(alpha) is the fraction of correct
    joints over all frames and joints; the result is the mean over ``alphas`` (0.1 and 0.2 by default).
    """
    pred_f, true_f = _frames(pred, "pred"), _frames(true, "true")
    _same_shape(pred_f, true_f, "pck")
    alphas = [float(a) for a in alphas]
    if not alphas or min(alphas) <= 0:
        raise MetricError(f"pck: alphas must be positive and non-empty, got {alphas}")
    pred_j, true_j = _pixel_joints(pred_f, stats), _pixel_joints(true_f, stats)
    lo = np.minimum(true_j.min(axis=1), 0.0)  # (F, 2); the neck at the origin is part of the box
    hi = np.maximum(true_j.max(axis=1), 0.0)
    size = np.max(hi - lo, axis=1)  # (F,)
    dist = np.linalg.norm(pred_j - true_j, axis=-1)  # (F, 48)
    return float(np.mean([np.mean(dist <= a * size[:, None]) for a in alphas]))


def _motion_samples(windows: np.ndarray, stats: Any, order: int) -> np.ndarray:
    """Per-frame mean over joints of |order-th finite difference| (pixels/frame^order), within windows."""
    joints = _pixel_joints(windows, stats)  # (N, T, 48, 2)
    diff = np.diff(joints, n=order, axis=1)  # (N, T - order, 48, 2)
    return np.linalg.norm(diff, axis=-1).mean(axis=-1).reshape(-1)


def _w1_motion(pred: np.ndarray, true: np.ndarray, stats: Any, order: int) -> float:
    pred_w = _windows(pred, "pred", order + 1)
    true_w = _windows(true, "true", order + 1)
    return float(
        scipy.stats.wasserstein_distance(
            _motion_samples(pred_w, stats, order), _motion_samples(true_w, stats, order)
        )
    )


def w1_velocity(pred: np.ndarray, true: np.ndarray, stats: Any) -> float:
    """Wasserstein-1 between the distributions of per-frame mean joint speed, generated vs. true.

    EVALUATION.md, "W1_vel". In pixels, per window, the speed of frame t >= 1 is the mean over the 48
    joints of ``|p[t, j] - p[t-1, j]|`` (pixels per frame); no difference crosses a window boundary.
    The W1 distance is ``scipy.stats.wasserstein_distance`` between the two sets of samples, i.e. the
    integral of the absolute difference of their empirical CDFs: the limit of the histogram-based W1 of
    the code family as the bin width goes to 0 (no binning choice to make). Windows: ``(N, T, 96)``
    with T >= 2; the two sets may have different N and T.
    """
    return _w1_motion(pred, true, stats, order=1)


def w1_acceleration(pred: np.ndarray, true: np.ndarray, stats: Any) -> float:
    """Wasserstein-1 between the distributions of per-frame mean joint acceleration magnitude.

    EVALUATION.md, "W1_acc". As :func:`w1_velocity` with the second difference: the mean over joints of
    ``|p[t+1, j] - 2 p[t, j] + p[t-1, j]|`` (pixels per frame²), within windows of T >= 3 frames.
    """
    return _w1_motion(pred, true, stats, order=2)


def f1_clusters(pred_labels: np.ndarray, true_labels: np.ndarray) -> float:
    """Support-weighted F1 between the pose-cluster labels of generated and true frames.

    EVALUATION.md, "F1": the same pose clusterer (k-means(8) fitted on the training poses)
    labels both the generated and the true frame; the true frame's cluster is the class, the generated
    frame's the prediction; per-class F1 is averaged with weights equal to the true support
    (``sklearn.metrics.f1_score(average="weighted")``). A class never predicted has F1 0
    (``zero_division=0``), not a warning.
    """
    pred_labels, true_labels = _labels(pred_labels, "pred_labels"), _labels(true_labels, "true_labels")
    _same_shape(pred_labels, true_labels, "f1_clusters")
    if pred_labels.size == 0:
        raise MetricError("f1_clusters: no labels")
    return float(f1_score(true_labels, pred_labels, average="weighted", zero_division=0.0))


def f1_constant(true_labels: np.ndarray) -> float:
    """:func:`f1_clusters` of a generator whose frames all fall in the true labels' most frequent cluster.

    With that cluster's share ``s`` of the true frames, its precision is ``s`` and its recall 1, every other
    class scores 0, so the support-weighted F1 is ``s · 2s / (1 + s)``. A generator that barely moves
    puts all its frames in one (rest-like) cluster, and then its F1 is this constant of the test set,
    whatever else it does: the floor against which F1 is read (0.522 in every lec_cosmic run of the first
    regime was this constant, with s ≈ 0.66).
    """
    true_labels = _labels(true_labels, "true_labels")
    if true_labels.size == 0:
        raise MetricError("f1_constant: no labels")
    s = np.bincount(true_labels).max() / true_labels.size
    return float(s * 2 * s / (1 + s))


def diversity(poses: np.ndarray, stats: Any) -> float:
    """Mean distance (pixels) of the joints from the speaker's mean pose.

    EVALUATION.md, "Diversity": the speaker's mean pose is the z-normalisation mean (``stats``), so the
    distance of joint j in a frame is ``|p[j] - mean[j]|`` = the norm of ``z * std`` over its (x, y);
    averaged over all frames and the 48 joints. A model that collapses to the mean pose scores 0. This
    is our reading of EVALUATION.md's one-line definition; the code family's own formula was not
    available to compare against.
    """
    frames = _frames(poses, "poses")
    _, std = _unpack_stats(stats)
    return float(np.linalg.norm(_joints(frames * std), axis=-1).mean())


def expressiveness(pred: np.ndarray, true: np.ndarray, stats: Any) -> dict[str, float]:
    """Diversity of generated vs. true poses: ``{"generated", "true", "ratio"}`` (ratio = generated/true).

    EVALUATION.md, "Expressiveness": :func:`diversity` of each set and their ratio; a ratio below 1 means
    the model moves less far from the rest pose than the speaker (the usual regression-to-the-mean
    failure), above 1 more. True poses at the mean pose everywhere (diversity 0) raise: no ratio exists.
    """
    generated, reference = diversity(pred, stats), diversity(true, stats)
    if reference == 0.0:
        raise MetricError("expressiveness: the true poses never leave the mean pose (diversity 0); no ratio")
    return {"generated": generated, "true": reference, "ratio": generated / reference}


# ---------------------------------------------------------------------------------- beyond the paper


def cluster_quality(pred_clusters: np.ndarray, true_classes: np.ndarray) -> dict[str, float]:
    """Agreement of clusters with ground-truth gesture classes: ``{"nmi", "ari", "purity"}``.

    Entries whose true class is :data:`UNLABELLED` (-1) are ignored. NMI is
    ``sklearn.metrics.normalized_mutual_info_score`` (arithmetic normalisation), ARI
    ``adjusted_rand_score``; purity is the fraction of entries whose class is the majority class of
    their cluster, ``sum_c max_k |c ∩ k| / n`` (Manning et al. 2008, §16.3). NMI and purity lie in
    [0, 1], ARI in [-0.5, 1]; all three are 1 for a relabelled copy of the true partition. Purity alone
    rewards many small clusters (it is 1 with one cluster per entry), hence NMI and ARI beside it.
    """
    pred_clusters = _labels(pred_clusters, "pred_clusters")
    true_classes = _labels(true_classes, "true_classes")
    _same_shape(pred_clusters, true_classes, "cluster_quality")
    keep = true_classes != UNLABELLED
    pred_k, true_k = pred_clusters[keep], true_classes[keep]
    if pred_k.size == 0:
        raise MetricError("cluster_quality: no entry has a true class (all are -1 or the input is empty)")
    _, cluster_idx = np.unique(pred_k, return_inverse=True)
    _, class_idx = np.unique(true_k, return_inverse=True)
    contingency = np.zeros((cluster_idx.max() + 1, class_idx.max() + 1), dtype=np.int64)
    np.add.at(contingency, (cluster_idx, class_idx), 1)
    return {
        "nmi": float(normalized_mutual_info_score(true_k, pred_k)),
        "ari": float(adjusted_rand_score(true_k, pred_k)),
        "purity": float(contingency.max(axis=1).sum() / pred_k.size),
    }


def _labelled_embeddings(z: np.ndarray, labels: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    z_arr = _finite(z, "z")
    labels = _labels(labels, "labels")
    if z_arr.ndim != 2 or z_arr.shape[0] != labels.shape[0]:
        raise MetricError(
            f"{metric}: z must be (N, D) with one label per row (pool over time first), "
            f"got z {z_arr.shape} and labels {labels.shape}"
        )
    keep = labels != UNLABELLED
    z_arr, labels = z_arr[keep], labels[keep]
    if np.unique(labels).size < 2:
        raise MetricError(f"{metric}: needs at least 2 distinct classes, got {np.unique(labels).tolist()}")
    return z_arr, labels


def knn_accuracy(z: np.ndarray, labels: np.ndarray, z_ref: np.ndarray, labels_ref: np.ndarray, k: int = 5,
                 permutations: int = 0, seed: int = 0) -> float | tuple[float, float]:
    """k-NN gesture-class accuracy of ``z`` with neighbours from a separate reference set (a probe).

    Grounding of the language embeddings (EVALUATION.md, "Beyond the paper"): each row of ``z`` (e.g.
    a test window) takes the majority class of its ``k`` nearest rows of ``z_ref`` (e.g. the training
    windows, other intervals by construction) by cosine similarity (ties: the class of the nearest among
    the tied). Entries labelled :data:`UNLABELLED` are neither scored nor used as neighbours.

    ``permutations > 0`` also returns the probe's chance level: its mean accuracy over that many random
    permutations of ``labels_ref`` (seeded), i.e. the same neighbourhoods with the link between ``z`` and
    the class broken. Unlike "the majority class", this holds when the two sets' class frequencies differ.
    """
    z_arr, labels = _labelled_embeddings(z, labels, "knn_accuracy")
    ref, labels_ref = _labelled_embeddings(z_ref, labels_ref, "knn_accuracy (reference)")
    if ref.shape[1] != z_arr.shape[1]:
        raise MetricError(f"knn_accuracy: z has {z_arr.shape[1]} dimensions, the reference {ref.shape[1]}")
    if not 1 <= k <= len(labels_ref):
        raise MetricError(f"knn_accuracy: k={k} must be in [1, {len(labels_ref)}] (the labelled reference)")
    nearest = _nearest(_unit(z_arr) @ _unit(ref).T, k)
    accuracy = _vote_accuracy(nearest, labels_ref, labels)
    if permutations <= 0:
        return accuracy
    rng = np.random.default_rng(seed)
    chance = np.mean([_vote_accuracy(nearest, rng.permutation(labels_ref), labels) for _ in range(permutations)])
    return accuracy, float(chance)


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def _nearest(sim: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` most similar candidates of each row of ``sim`` (queries × candidates)."""
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def _vote_accuracy(nearest: np.ndarray, neighbour_labels: np.ndarray, labels: np.ndarray) -> float:
    """Share of queries whose nearest candidates (rows of ``nearest``) vote for the query's label; ties go
    to the class of the nearest among the tied."""
    correct = 0
    for i, row in enumerate(nearest):
        votes = neighbour_labels[row]
        values, counts = np.unique(votes, return_counts=True)
        tied = set(values[counts == counts.max()])
        predicted = next(v for v in votes if v in tied)
        correct += predicted == labels[i]
    return correct / len(labels)


def knn_accuracy_across_groups(z: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 5) -> float:
    """k-NN gesture-class accuracy where each entry's neighbours come only from *other* groups.

    For overlapping windows (hop 5) of a few intervals: with ``groups`` the interval of each window, a
    window's neighbours are never its own interval's overlapping copies, so the accuracy measures how
    well ``z`` of one interval predicts the gesture of another (leave-one-interval-out). Cosine
    similarity, majority vote over the ``k`` nearest (ties: the class of the nearest among the tied).
    Entries labelled :data:`UNLABELLED` are neither scored nor used as neighbours.
    """
    groups = np.asarray(groups)
    if groups.shape[0] != np.asarray(labels).shape[0]:
        raise MetricError(f"knn_accuracy_across_groups: {groups.shape[0]} groups for {len(labels)} labels")
    groups = groups[_labels(labels, "labels") != UNLABELLED]
    z_arr, labels = _labelled_embeddings(z, labels, "knn_accuracy_across_groups")
    if np.unique(groups).size < 2:
        raise MetricError("knn_accuracy_across_groups: needs at least 2 groups")
    sim = _unit(z_arr) @ _unit(z_arr).T
    sim[groups[:, None] == groups[None, :]] = -np.inf
    k = min(k, int((groups[:, None] != groups[None, :]).sum(axis=1).min()))
    return _vote_accuracy(_nearest(sim, k), labels, labels)


def silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient of the embeddings grouped by gesture class (cosine distance).

    ``sklearn.metrics.silhouette_score(metric="cosine")``: per entry ``(b - a) / max(a, b)`` with ``a``
    the mean distance to its own class and ``b`` to the nearest other class; in [-1, 1], higher means
    classes are compact and apart. Cosine, as in :func:`knn_accuracy`. Entries labelled
    :data:`UNLABELLED` are ignored; needs 2 <= classes <= N - 1.
    """
    z_arr, labels = _labelled_embeddings(z, labels, "silhouette")
    if np.unique(labels).size > labels.shape[0] - 1:
        raise MetricError(f"silhouette: needs fewer classes than entries, got {labels.shape[0]} entries")
    return float(silhouette_score(z_arr, labels, metric="cosine"))


# ------------------------------------------------------------------------------ statistics over seeds


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1, unbiased variance) of per-seed values.

    The "mean ± std over seeds" of the tables (EVALUATION.md); needs at least 2 values.
    """
    arr = _finite(values, "values").reshape(-1)
    if arr.size < 2:
        raise MetricError(f"mean_std: needs at least 2 values for a sample std, got {arr.size}")
    return float(arr.mean()), float(arr.std(ddof=1))


def paired_comparison(
    a: Sequence[float], b: Sequence[float], n_boot: int = 10000, seed: int = 0
) -> dict[str, Any]:
    """Paired comparison of two variants over the same seeds (EVALUATION.md, "Statistics").

    With per-seed differences ``d = a - b`` (``a[i]`` and ``b[i]`` share seed i):
    - ``mean_diff``: mean of ``d``;
    - ``ci_low``, ``ci_high``: the 95 % percentile-bootstrap interval of the mean of ``d`` (``n_boot``
      resamples of the seeds with replacement, generator seeded with ``seed``);
    - ``cohens_dz``: Cohen's d_z = mean(d) / std(d, ddof=1), the paired effect size (0 when every
      difference is 0, ±inf when all differences are equal and non-zero);
    - ``n``: the number of seeds; ``within_noise``: the interval contains 0.
    With few seeds the percentile bootstrap is coarse (3 seeds allow only 10 distinct resample means)
    and tends to be too narrow, so read ``within_noise=False`` with 3 seeds as a hint, not a test.
    """
    a_arr, b_arr = _finite(a, "a").reshape(-1), _finite(b, "b").reshape(-1)
    _same_shape(a_arr, b_arr, "paired_comparison")
    n = a_arr.size
    if n < 2:
        raise MetricError(f"paired_comparison: needs at least 2 paired seeds, got {n}")
    if n_boot < 1:
        raise MetricError(f"paired_comparison: n_boot must be >= 1, got {n_boot}")
    d = a_arr - b_arr
    mean_diff = float(d.mean())
    rng = np.random.default_rng(seed)
    boot_means = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    tail = 100 * (1 - CI_LEVEL) / 2
    ci_low, ci_high = (float(v) for v in np.percentile(boot_means, [tail, 100 - tail]))
    sd = float(d.std(ddof=1))
    if sd > 0:
        cohens_dz = mean_diff / sd
    else:
        cohens_dz = 0.0 if mean_diff == 0 else math.copysign(math.inf, mean_diff)
    return {
        "mean_diff": mean_diff,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "cohens_dz": cohens_dz,
        "n": n,
        "within_noise": bool(ci_low <= 0.0 <= ci_high),
    }


# ------------------------------------------------------------------------------------ all at once


def evaluate_poses(
    pred_windows: np.ndarray,
    true_windows: np.ndarray,
    stats: Any,
    clusterer_label_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """The pose metrics of one run: ``l1, fid, pck, w1_vel, w1_acc, [f1, f1_constant], diversity,
    diversity_true, expressiveness``.

    ``pred_windows`` and ``true_windows``: z-normalised ``(N, T, 96)`` windows (T >= 3), generated and
    true, in the same order. ``clusterer_label_fn`` maps z-normalised windows ``(N, T, 96)`` to pose-cluster
    labels ``(N, T)`` (e.g. ``PoseClusterer.label`` of the k-means fitted on the training poses, whose
    features include velocity within a window, hence windows rather than frames); ``f1`` and its floor
    ``f1_constant`` (:func:`f1_constant`) are present only when it is given.
    ``diversity`` is :func:`diversity` of the generated poses, ``diversity_true`` that of the true ones and
    ``expressiveness`` their ratio (:func:`expressiveness`).
    """
    pred_w = _windows(pred_windows, "pred_windows", 3)
    true_w = _windows(true_windows, "true_windows", 3)
    _same_shape(pred_w, true_w, "evaluate_poses")
    pred_f, true_f = pred_w.reshape(-1, POSE_DIM), true_w.reshape(-1, POSE_DIM)
    expr = expressiveness(pred_f, true_f, stats)
    metrics = {
        "l1": l1(pred_f, true_f),
        "fid": fid(pred_f, true_f),
        "pck": pck(pred_f, true_f, stats),
        "w1_vel": w1_velocity(pred_w, true_w, stats),
        "w1_acc": w1_acceleration(pred_w, true_w, stats),
    }
    if clusterer_label_fn is not None:
        pred_labels, true_labels = (np.asarray(clusterer_label_fn(w)) for w in (pred_w, true_w))
        if pred_labels.shape != pred_w.shape[:2] or true_labels.shape != true_w.shape[:2]:
            raise MetricError(
                f"evaluate_poses: clusterer_label_fn must return one label per frame, shape "
                f"{pred_w.shape[:2]}; got {pred_labels.shape} and {true_labels.shape}"
            )
        metrics["f1"] = f1_clusters(pred_labels.reshape(-1), true_labels.reshape(-1))
        metrics["f1_constant"] = f1_constant(true_labels.reshape(-1))
    metrics.update(diversity=expr["generated"], diversity_true=expr["true"], expressiveness=expr["ratio"])
    return metrics

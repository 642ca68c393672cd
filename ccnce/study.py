"""Offline replay of CC-NCE's online clustering: what Algorithms 1–2 give Eq. 7, setting by setting.

``ccnce study clustering --speaker S`` replays a run's training batches — the same loader order and
seed as :func:`ccnce.train.train`, the same random draws — through the clustering of the term
(:func:`ccnce.clustering.build_clustering`) and the candidate selection of Eq. 7
(:func:`ccnce.losses.ccnce.contrast_sets`) without training: it reads poses only, so it takes seconds.
The ``cfg.warmup_epochs`` warm-up epochs gather the threshold statistics (and fit k-means), then
``clustering_epochs`` epochs cluster; figures are taken over the last one (two clustering epochs, so
that ``bank_reset="never"`` differs from ``"epoch"``).

Figures of a setting (windows labelled by their dominant true gesture, synthetic data; anchors are the
labelled windows that have at least one positive):

- ``nmi``, ``ari``, ``purity``: each window's global cluster vs its true gesture (as training's history);
- ``positive_purity``: the share of an anchor's positives with the anchor's class, mean over anchors;
- ``negative_same_class``: the share of an anchor's negatives with the anchor's class, mean over anchors;
- ``loss_floor``: the lowest Eq. 7 value that an encoder whose embedding depends only on the true
  gesture can reach with these positives and negatives at the configured τ (:func:`loss_floor`);
- ``loss_collapse``: Eq. 7 when every embedding is the same, ``log(1 + |negatives|)`` averaged as the
  loss is — the value the term sits at when it learns nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ccnce import evaluate as ev
from ccnce.clustering import build_clustering, dominant_gesture
from ccnce.config import Config
from ccnce.losses.ccnce import contrast_sets, info_nce

log = logging.getLogger(__name__)

Batches = Callable[[int], Iterable[dict[str, Tensor]]]

#: Points of the grid over the between-class similarity ``a`` of :func:`loss_floor` (endpoints included).
FLOOR_GRID = 201


@dataclass(frozen=True)
class Setting:
    """A named replay setting: config fields (``--set`` overrides of a training run) on top of the run's."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


#: The default grid: the paper, the controls, and one factor of the issue's audit changed at a time.
SETTINGS: tuple[Setting, ...] = (
    Setting("paper"),
    Setting("oracle", {"clusters": "oracle"}),
    Setting("kmeans", {"clusters": "kmeans"}),  # kmeans_k = the number of true classes (set by the replay)
    Setting("cosine", {"similarity": "cosine"}),
    *(Setting(f"dot_k{k:g}", {"threshold_k": k}) for k in (0.5, 2.0, 3.0)),
    *(Setting(f"cosine_k{k:g}", {"similarity": "cosine", "threshold_k": k}) for k in (0.5, 2.0, 3.0)),
    Setting("shift", {"similarity": "shift"}),
    Setting("shift_k2", {"similarity": "shift", "threshold_k": 2.0}),
    Setting("alg2_mean", {"alg2": "mean"}),
    Setting("alg2_max", {"alg2": "max"}),
    Setting("cosine_alg2_mean", {"similarity": "cosine", "alg2": "mean"}),
    Setting("bank_never", {"bank_reset": "never"}),
    Setting("cosine_bank_never", {"similarity": "cosine", "bank_reset": "never"}),
    Setting("threshold_original", {"threshold": "original"}),
)

#: Config fields a setting's JSON entry reports (its options).
OPTION_FIELDS = ("clusters", "similarity", "threshold", "threshold_k", "alg2", "bank_reset", "kmeans_k")


# ---------------------------------------------------------------------------------------- loss floor
def loss_family(same: Tensor, positive: Tensor, negative: Tensor, tau: float, a: Tensor) -> Tensor:
    """Eq. 7 (:func:`~ccnce.losses.ccnce.info_nce`) for each between-class similarity in ``a`` (K,) → (K,).

    ``same`` (B, N): candidate n has anchor b's true class. The embedding is a function of the class:
    ``s = 1`` within a class, ``s = a`` between classes (equiangular class vectors).
    """
    return torch.stack([info_nce(torch.where(same, 1.0, float(v)) / tau, positive, negative) for v in a])


def floor_grid(n_classes: int) -> Tensor:
    """``a`` from ``−1/(G−1)`` (the regular simplex of G unit vectors, the lowest equiangular value) to 1
    (collapse); -1 for two classes."""
    low = -1.0 / max(n_classes - 1, 1)
    return torch.linspace(low, 1.0, FLOOR_GRID, dtype=torch.float64)


def loss_floor(mean_loss_over_a: Tensor) -> float:
    """``loss_floor = min_a L(a)``: the best Eq. 7 an encoder that embeds every window by its true gesture
    can reach, where ``L(a)`` is the loss averaged as in training (over the anchors' positives, then the
    anchors, then the batches) with within-class similarity 1 and between-class similarity ``a``.

    For one anchor with positive p and negatives N, of which ``n₌`` share its class and ``n≠`` do not:
    a positive of its class costs ``log(1 + n₌ + n≠·e^{(a−1)/τ})``, a positive of another class costs
    ``log(1 + n₌·e^{(1−a)/τ} + n≠)``. ``L`` is convex in ``a`` (sums of log-sum-exp of affine
    functions), minimised over a grid of :data:`FLOOR_GRID` points of [−1/(G−1), 1]; ``a = 1`` (all
    embeddings equal) gives ``log(1 + |N|)``, so the floor is never above the collapsed loss.
    """
    return float(mean_loss_over_a.min())


# ---------------------------------------------------------------------------------------- replay
@dataclass
class _Tally:
    """Per-epoch accumulators of the figures."""

    cluster_ids: list[np.ndarray] = field(default_factory=list)
    truth: list[np.ndarray] = field(default_factory=list)
    positive_purity: list[Tensor] = field(default_factory=list)
    negative_same: list[Tensor] = field(default_factory=list)
    losses: list[Tensor] = field(default_factory=list)  # (K,) per batch with anchors
    n_global: list[int] = field(default_factory=list)
    n_candidates: list[int] = field(default_factory=list)


def replay(cfg: Config, batches: Batches, n_classes: int, clustering_epochs: int = 2) -> dict[str, Any]:
    """Replay ``cfg``'s clustering over ``batches(epoch)`` (dicts with ``pose``, ``gesture``, ``index``) and
    return the figures of the module docstring plus ``cluster_ids`` (per batch of the last epoch)."""
    clustering = build_clustering(cfg)
    bank = clustering.global_bank
    per_cluster = cfg.bank_sample_negatives if cfg.bank_encoding != "full" else 0
    last = cfg.warmup_epochs + clustering_epochs - 1
    grid = floor_grid(n_classes)
    window_class = torch.full((0,), -1, dtype=torch.long)
    tally = _Tally()
    for epoch in range(last + 1):
        if cfg.bank_reset == "epoch":
            bank.reset()
        for batch in batches(epoch):
            y, index = batch["pose"], batch["index"].long()
            truth = dominant_gesture(batch["gesture"])
            grow = int(index.max()) + 1 - len(window_class)
            if grow > 0:
                window_class = torch.cat([window_class, window_class.new_full((grow,), -1)])
            window_class[index] = truth
            S = clustering.observe(y, epoch)
            if epoch < cfg.warmup_epochs:
                continue
            # the bank stores each window's index in place of its features: candidates map back to windows
            result = clustering.cluster(y, S, index[:, None].double(), gesture=batch["gesture"])
            candidates, positive, negative = contrast_sets(bank, result, per_cluster, clustering.generator)
            if epoch == last:
                _tally(tally, result, bank, truth, window_class, candidates, positive, negative, cfg.tau, grid)
    return _figures(tally, grid)


def _tally(tally: _Tally, result, bank, truth: Tensor, window_class: Tensor, candidates: Tensor,
           positive: Tensor, negative: Tensor, tau: float, grid: Tensor) -> None:
    ids = torch.where(result.rows >= 0, bank.uid[result.rows.clamp(min=0)], -1)
    tally.cluster_ids.append(ids.cpu().numpy())
    tally.truth.append(truth.cpu().numpy())
    tally.n_global.append(bank.n_clusters)
    tally.n_candidates.append(int(candidates.numel()))
    candidate_class = window_class[bank.features.flatten(0, 1)[candidates, 0].long()]
    same = (truth[:, None] == candidate_class[None, :]) & (truth[:, None] >= 0)
    anchors = (truth >= 0) & positive.any(dim=1)
    if not bool(anchors.any()):
        return
    same, positive, negative = same[anchors], positive[anchors], negative[anchors]
    tally.positive_purity.append((same & positive).sum(1) / positive.sum(1))
    has_negative = negative.any(dim=1)
    tally.negative_same.append(((same & negative).sum(1) / negative.sum(1).clamp(min=1))[has_negative])
    tally.losses.append(loss_family(same, positive, negative, tau, grid))


def _figures(tally: _Tally, grid: Tensor) -> dict[str, Any]:
    nan = float("nan")
    quality = ev.online_cluster_quality(tally.cluster_ids, tally.truth)
    mean = lambda xs: float(torch.cat(xs).float().mean()) if xs and sum(len(x) for x in xs) else nan  # noqa: E731
    if tally.losses:
        by_a = torch.stack(tally.losses).mean(dim=0)
        floor, collapse, a_best = loss_floor(by_a), float(by_a[-1]), float(grid[int(by_a.argmin())])
    else:
        floor = collapse = a_best = nan
    return {
        **quality,
        "positive_purity": mean(tally.positive_purity),
        "negative_same_class": mean(tally.negative_same),
        "loss_floor": floor,
        "loss_collapse": collapse,
        "floor_between_class_similarity": a_best,
        "n_global_clusters": float(np.mean(tally.n_global)) if tally.n_global else nan,
        "n_candidates": float(np.mean(tally.n_candidates)) if tally.n_candidates else nan,
        "cluster_ids": tally.cluster_ids,
    }


# ---------------------------------------------------------------------------------------- a speaker
def epoch_batches(train, cfg: Config) -> Batches:
    """``batches(epoch)``: training epoch ``epoch``'s batches (:func:`ccnce.data.dataset.training_loader`
    order), holding ``pose``, ``gesture`` and ``index`` only, gathered from one read of the split."""
    from ccnce.data.dataset import training_loader

    everything = train[np.arange(len(train))]
    keep = {k: everything[k] for k in ("pose", "gesture", "index")}

    def batches(epoch: int) -> Iterator[dict[str, Tensor]]:
        for positions in training_loader(train, cfg, epoch).sampler:  # a BatchSampler: positions per batch
            positions = torch.as_tensor(positions)
            yield {k: v[positions] for k, v in keep.items()}

    return batches


def study_clustering(speaker: str, data_root: str | None = None, profile: str = "cpu", seed: int = 0,
                     settings: Iterable[Setting] = SETTINGS, clustering_epochs: int = 2, progress: bool = False,
                     **overrides: Any) -> dict[str, Any]:
    """Replay every setting on ``speaker``'s training windows: ``{"speaker", "data_source", "n_classes",
    "settings": [{"name", <figures>, <options>}, ...]}``."""
    from ccnce.data.dataset import load_speaker
    from ccnce.data.source import resolve_data
    from ccnce.errors import DataError

    base = Config.from_profile(profile, speaker=speaker, seed=seed, data_root=data_root, variant="ccnce", **overrides)
    source = resolve_data(base.data_root, progress=progress)
    data = load_speaker(base, source.root, progress=progress)
    classes = ev.dominant_class(np.asarray(data.train.arrays["gesture"]))
    n_classes = int(np.unique(classes[classes >= 0]).size)
    if n_classes < 2:
        raise DataError(f"{speaker}: the training windows carry no true gestures (the study needs synthetic data)")
    batches = epoch_batches(data.train, base)
    rows = []
    for setting in settings:
        options = {**setting.options}
        if options.get("clusters") == "kmeans":
            options.setdefault("kmeans_k", n_classes)
        cfg = base.replace(**options)
        cfg.validate()
        figures = replay(cfg, batches, n_classes, clustering_epochs)
        figures.pop("cluster_ids")
        rows.append({"name": setting.name, **figures, **{k: getattr(cfg, k) for k in OPTION_FIELDS}})
        log.info("%s/%s: NMI %.3f, positive purity %.3f, loss floor %.3f", speaker, setting.name,
                 figures["nmi"], figures["positive_purity"], figures["loss_floor"])
    from ccnce import provenance

    return {"speaker": speaker, "data_source": source.name, "n_classes": n_classes, "seed": seed,
            "profile": profile, "tau": base.tau, "clustering_epochs": clustering_epochs, "settings": rows,
            "provenance": {**provenance.collect("cpu", source.name, source.fingerprint), "written": provenance.now()}}


def format_study(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`study_clustering`'s result."""
    head = (f"{result['speaker']} ({result['data_source']}, {result['n_classes']} true gestures, "
            f"tau {result['tau']:g}, seed {result['seed']})")
    cols = ("nmi", "ari", "purity", "positive_purity", "negative_same_class", "loss_floor", "loss_collapse")
    lines = [head, f"{'setting':<20}" + "".join(f"{c:>21}" for c in cols)]
    for row in result["settings"]:
        cells = "".join(f"{row[c]:>21.3f}" if isinstance(row[c], float) and math.isfinite(row[c]) else f"{'-':>21}"
                        for c in cols)
        lines.append(f"{row['name']:<20}{cells}")
    return "\n".join(lines)

"""Online gesture clustering of CC-NCE: Sim, the μ̂+σ̂ threshold, Algorithm 1 and Algorithm 2.

Notation of the paper (METHOD.md, "CC-NCE"): ``y`` ground-truth pose windows, ``Sim`` the dot product
of flattened windows (option: cosine), ``mu_hat``/``sigma_hat`` the statistics of pairwise similarities,
``batch_clusters`` (Algorithm 1) and ``global_bank`` (``Global_D`` of Algorithm 2).

Everything is vectorised: one similarity matrix per batch, and the bank is a set of tensors with a fixed
number of rows (clusters) and member slots. The only Python loops run over *clusters* (the greedy
structure of both algorithms needs them), never over samples.

Choices the paper leaves open (the book states them):

- **Anchors** (Algorithm 1): the first anchor is drawn from a seeded generator; every next anchor is the
  unassigned sample least similar to the current one (ties: the lowest index).
- **Representatives** (Algorithm 2): one random member per batch cluster and one random stored member per
  global cluster, drawn once per batch. A global cluster created while processing this batch is
  represented by the member drawn from the batch cluster that created it, so later batch clusters of the
  same batch can merge into it, exactly as in the sequential pseudo-code. Ties go to the lowest row.
- **Capacity**: each global cluster keeps its last ``slots`` members (FIFO, as the original's 20); at
  most ``max_clusters`` clusters exist. A new cluster in a full bank replaces the *least recently
  updated* cluster (the one whose members are the stalest), never one that this batch already merged
  into; if every cluster was touched by this batch, the batch cluster joins its most similar cluster.
- **Reset**: the caller clears the bank at every epoch (original code) or never.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ccnce.errors import ConfigError

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- Sim
def flatten_windows(y: Tensor) -> Tensor:
    """``(B, T, D)`` pose windows → ``(B, T·D)`` vectors."""
    return y.reshape(y.shape[0], -1)


def similarity(a: Tensor, b: Tensor, kind: str = "dot", frame_dim: int | None = None) -> Tensor:
    """``Sim`` between the rows of flattened windows ``a`` (n, d) and ``b`` (m, d) → (n, m).

    ``"dot"``: the paper's pairwise dot product. ``"cosine"``: the same on L2-normalised windows.
    ``"shift"``: shift-tolerant cosine (needs ``frame_dim``, the values per frame), see :func:`shift_similarity`.
    """
    if kind not in ("dot", "cosine", "shift"):
        raise ConfigError(f"similarity={kind!r} is not valid; expected 'dot', 'cosine' or 'shift'")
    # float32 even under mixed precision: threshold comparisons of 6,144-term sums need the mantissa
    with torch.autocast(a.device.type, enabled=False):
        a, b = a.float(), b.float()
        if kind == "shift":
            if frame_dim is None:
                raise ValueError("similarity='shift' needs frame_dim (values per frame)")
            return shift_similarity(a, b, frame_dim)
        if kind == "cosine":
            a, b = F_nn.normalize(a, dim=1), F_nn.normalize(b, dim=1)
        return a @ b.T


#: Lags of the shift-tolerant Sim: every ``SHIFT_LAG_STEP`` frames up to a quarter of the window either way.
SHIFT_LAG_STEP = 2


def shift_similarity(a: Tensor, b: Tensor, frame_dim: int) -> Tensor:
    """``max_ℓ cos(a[ℓ:], b[:T−ℓ])``: the cosine of the overlapping frames, maximised over time lags ℓ.

    A gesture sits at a random offset inside a window; the frame-aligned product compares phase as
    much as shape, this one does not (the paper's Limitations: clusters "in both the temporal and the
    spatial dimension"). Lags ``−T/4 … T/4`` in steps of :data:`SHIFT_LAG_STEP`; symmetric, 1 on the diagonal.
    """
    T = a.shape[1] // frame_dim
    A, B = a.reshape(a.shape[0], T, frame_dim), b.reshape(b.shape[0], T, frame_dim)
    max_lag = T // 4
    best = None
    for lag in range(-max_lag, max_lag + 1, SHIFT_LAG_STEP):
        x, w = (A[:, lag:], B[:, :T - lag]) if lag >= 0 else (A[:, :T + lag], B[:, -lag:])
        s = F_nn.normalize(x.flatten(1), dim=1) @ F_nn.normalize(w.flatten(1), dim=1).T
        best = s if best is None else torch.maximum(best, s)
    return best


def off_diagonal(S: Tensor) -> Tensor:
    """The similarities of distinct pairs of a square matrix (the diagonal is a sample with itself)."""
    n = S.shape[0]
    return S[~torch.eye(n, dtype=torch.bool, device=S.device)]


def pairwise_moments(S: Tensor) -> tuple[int, float, float]:
    """``(count, Σ Sim, Σ Sim²)`` over the ordered pairs of distinct samples of a square matrix ``S``
    (the diagonal, a window with itself, is not a pair)."""
    n = S.shape[0]
    S = S.double()
    diagonal = S.diagonal()
    total = S.sum() - diagonal.sum()
    total_sq = S.pow(2).sum() - diagonal.pow(2).sum()
    return n * (n - 1), total.item(), total_sq.item()


# ---------------------------------------------------------------------------------------- threshold
class ThresholdEstimator:
    """``mu_hat + sigma_hat``: two windows are similar iff ``Sim >= mu_hat + sigma_hat`` (METHOD.md).

    ``"paper"``: mean and standard deviation of all pairwise similarities seen during the warm-up epochs,
    then an exponential moving average (``momentum``) of the first two moments, batch by batch.
    ``"original"``: in the last warm-up epoch only, the mean similarity of every batch is recorded;
    ``mu_hat`` is their mean and ``sigma_hat`` their standard deviation (of *batch means*, hence much
    smaller than the pairwise one), then both stay frozen.
    Without warm-up epochs, the first batch provides the initial statistics. ``k`` (study option,
    ``threshold_k``): the threshold is ``mu_hat + k * sigma_hat`` (the paper: k = 1).
    """

    def __init__(self, mode: str = "paper", momentum: float = 0.99, warmup_epochs: int = 2, k: float = 1.0) -> None:
        if mode not in ("paper", "original"):
            raise ConfigError(f"threshold={mode!r} is not valid; expected 'paper' or 'original'")
        self.mode, self.momentum, self.warmup_epochs, self.k = mode, momentum, warmup_epochs, k
        # Accumulated (in float64) during warm-up: count, sum and sum of squares of the observed values.
        self.count, self.total, self.total_sq = 0, 0.0, 0.0
        self.mean1: float | None = None  # running E[Sim] after warm-up
        self.mean2: float | None = None  # running E[Sim²] after warm-up

    def observe(self, S: Tensor, epoch: int) -> None:
        """Update the statistics with a batch's square similarity matrix ``S``."""
        count, total, total_sq = pairwise_moments(S)
        if count == 0:
            return
        if self.mode == "original":
            if epoch == self.warmup_epochs - 1 or (self.warmup_epochs == 0 and self.count == 0):
                mean = total / count
                self._accumulate(1, mean, mean ** 2)
            return
        if epoch < self.warmup_epochs:
            self._accumulate(count, total, total_sq)
            return
        m1, m2 = total / count, total_sq / count
        if self.mean1 is None:
            if self.count:  # start the moving average from the warm-up estimate
                self.mean1, self.mean2 = self.total / self.count, self.total_sq / self.count
            else:
                self.mean1, self.mean2 = m1, m2
                return
        a = self.momentum
        self.mean1 = a * self.mean1 + (1 - a) * m1
        self.mean2 = a * self.mean2 + (1 - a) * m2

    def _accumulate(self, count: int, total: float, total_sq: float) -> None:
        self.count += count
        self.total += total
        self.total_sq += total_sq

    @property
    def ready(self) -> bool:
        return self.mean1 is not None or self.count > 0

    @property
    def mu_hat(self) -> float:
        if self.mode == "paper" and self.mean1 is not None:
            return self.mean1
        self._require()
        return self.total / self.count

    @property
    def sigma_hat(self) -> float:
        if self.mode == "paper" and self.mean1 is not None:
            return math.sqrt(max(self.mean2 - self.mean1 ** 2, 0.0))
        self._require()
        mean = self.total / self.count
        variance = max(self.total_sq / self.count - mean ** 2, 0.0)
        if self.mode == "original":  # sample standard deviation of the per-batch means
            variance *= self.count / max(self.count - 1, 1)
        return math.sqrt(variance)

    @property
    def threshold(self) -> float:
        return self.mu_hat + self.k * self.sigma_hat

    def _require(self) -> None:
        if not self.ready:
            raise RuntimeError("the similarity threshold has no statistics yet: observe() a batch first")

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "total": self.total, "total_sq": self.total_sq,
                "mean1": self.mean1, "mean2": self.mean2}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("count", "total", "total_sq", "mean1", "mean2"):
            setattr(self, key, state[key])


# ---------------------------------------------------------------------------------------- Algorithm 1
@dataclass
class BatchClusters:
    """``Batch_D`` of Algorithm 1: ``assignment[j]`` is sample j's cluster, ``anchors[c]`` cluster c's anchor."""

    assignment: Tensor  # (B,) int64 in [0, n)
    anchors: Tensor  # (n,) int64, in creation order

    @property
    def n(self) -> int:
        return int(self.anchors.shape[0])

    def sizes(self) -> Tensor:
        return torch.bincount(self.assignment, minlength=self.n)


def batch_clustering(S: Tensor, threshold: float, first_anchor: int) -> BatchClusters:
    """Algorithm 1 on the batch similarity matrix ``S`` (B, B), starting from ``first_anchor``.

    The anchor opens a cluster; every unassigned sample with ``Sim >= threshold`` to it joins; the next
    anchor is the unassigned sample least similar to the current anchor. One loop iteration per cluster.
    """
    n = S.shape[0]
    unassigned = torch.ones(n, dtype=torch.bool, device=S.device)
    assignment = torch.full((n,), -1, dtype=torch.long, device=S.device)
    anchors = []
    anchor, c = first_anchor, 0
    while True:
        anchors.append(anchor)
        unassigned[anchor] = False
        s = S[anchor]
        joins = unassigned & (s >= threshold)
        joins[anchor] = True
        assignment[joins] = c
        unassigned &= ~joins
        if not bool(unassigned.any()):
            break
        anchor = int(s.masked_fill(~unassigned, math.inf).argmin())
        c += 1
    return BatchClusters(assignment=assignment, anchors=torch.tensor(anchors, dtype=torch.long, device=S.device))


def random_members(assignment: Tensor, n_clusters: int, generator: torch.Generator | None) -> Tensor:
    """One uniformly random member (sample index) of each of ``n_clusters`` clusters."""
    keys = torch.rand(assignment.shape[0], generator=generator, device=assignment.device)
    best = torch.full((n_clusters,), -1.0, device=keys.device).scatter_reduce(0, assignment, keys, "amax")
    is_best = keys == best[assignment]
    index = torch.arange(assignment.shape[0], device=keys.device)
    # ``amin`` over the winners keeps one index per cluster even in the (measure-zero) case of equal keys
    return torch.full((n_clusters,), assignment.shape[0], device=keys.device).scatter_reduce(
        0, assignment[is_best], index[is_best], "amin")


# ---------------------------------------------------------------------------------------- Algorithm 2
@dataclass
class GlobalDecision:
    """Where Algorithm 2 sends each batch cluster."""

    rows: Tensor  # (n,) bank row (global cluster) of each batch cluster
    created: Tensor  # (n,) bool: the batch cluster opened a new global cluster in that row


def global_clustering(S_global: Tensor, S_batch: Tensor, active: Tensor, last_update: Tensor,
                      threshold: float) -> GlobalDecision:
    """Algorithm 2's decisions, batch cluster by batch cluster.

    ``S_global`` (n, C): Sim between each batch cluster's representative and each bank row's;
    ``S_batch`` (n, n): Sim between batch-cluster representatives; ``active`` (C,) rows in use;
    ``last_update`` (C,) step of each row's last update (for the eviction rule of the module docstring).
    Batch cluster i merges into ``argmax_g Sim`` if that is ``>= threshold``, else opens a cluster in a
    free row (or evicts); later batch clusters then see the new cluster with i's representative.
    """
    n, C = S_global.shape
    S = S_global.clone()
    active = active.clone()
    touched = torch.zeros(C, dtype=torch.bool, device=S.device)
    rows = torch.empty(n, dtype=torch.long, device=S.device)
    created = torch.zeros(n, dtype=torch.bool, device=S.device)
    for i in range(n):
        best, g = S[i].masked_fill(~active, -math.inf).max(dim=0)
        if bool(best >= threshold):
            rows[i] = g
        else:
            row = _row_for_new_cluster(active, touched, last_update)
            if row is None:  # every cluster was updated by this batch: no room, join the closest
                rows[i] = g
            else:
                rows[i], created[i] = row, True
                active[row] = True
                S[:, row] = S_batch[:, i]
        touched[rows[i]] = True
    return GlobalDecision(rows=rows, created=created)


def _row_for_new_cluster(active: Tensor, touched: Tensor, last_update: Tensor) -> int | None:
    free = (~active).nonzero()
    if free.numel():
        return int(free[0])
    candidates = ~touched
    if not bool(candidates.any()):
        return None
    return int(last_update.masked_fill(~candidates, torch.iinfo(last_update.dtype).max).argmin())


class GlobalBank:
    """``Global_D``: up to ``max_clusters`` clusters × ``slots`` members, each a pose window ``y`` and a
    stored feature (the detached encoder features ``h``, or a momentum-encoded key)."""

    def __init__(self, max_clusters: int, slots: int) -> None:
        self.max_clusters, self.slots = max_clusters, slots
        self.y: Tensor | None = None  # (C, S, T·D)
        self.features: Tensor | None = None  # (C, S, E, T)
        self.count = torch.zeros(max_clusters, dtype=torch.long)  # members ever inserted since creation
        self.active = torch.zeros(max_clusters, dtype=torch.bool)
        self.last_update = torch.zeros(max_clusters, dtype=torch.long)
        self.uid = torch.full((max_clusters,), -1, dtype=torch.long)  # stable id of each row's cluster
        self.next_uid = 0
        self.step = 0

    def _allocate(self, y: Tensor, features: Tensor) -> None:
        C, S = self.max_clusters, self.slots
        self.y = y.new_zeros((C, S, y.shape[1]))
        self.features = features.new_zeros((C, S, *features.shape[1:]))
        for name in ("count", "active", "last_update", "uid"):
            setattr(self, name, getattr(self, name).to(y.device))
        log.debug("global bank allocated: %d clusters x %d slots", C, S)

    # ------------------------------------------------------------------ queries
    @property
    def n_clusters(self) -> int:
        return int(self.active.sum())

    @property
    def filled(self) -> Tensor:
        """(C,) number of stored members of each row (0 for an unused row)."""
        return self.count.clamp(max=self.slots) * self.active

    def member_mask(self) -> Tensor:
        """(C, S) True on slots that hold a member."""
        return torch.arange(self.slots, device=self.count.device)[None, :] < self.filled[:, None]

    def representatives(self, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """One random stored window per row: ``(windows (C, T·D), slots (C,))`` (unused rows: slot 0)."""
        if self.y is None:
            raise RuntimeError("the global bank is empty")
        u = torch.rand(self.max_clusters, generator=generator).to(self.count.device)
        slot = (u * self.filled.clamp(min=1)).long()
        return self.y[torch.arange(self.max_clusters, device=slot.device), slot], slot

    # ------------------------------------------------------------------ updates
    def insert(self, rows: Tensor, created: Tensor, y: Tensor, features: Tensor) -> Tensor:
        """Store sample j in row ``rows[j]`` (FIFO); ``created`` (C,) marks rows that start afresh.

        Samples are written in the order they come in; if one batch sends more than
        ``slots`` samples to a row only the last ``slots`` stay. Returns each sample's flat slot index
        ``row * slots + slot`` (-1 for a sample that did not stay).
        """
        if self.y is None:
            self._allocate(y, features)
        self.step += 1
        if bool(created.any()):
            self.count[created] = 0
            self.uid[created] = torch.arange(self.next_uid, self.next_uid + int(created.sum()), device=self.uid.device)
            self.next_uid += int(created.sum())
            self.active |= created
        order = torch.sort(rows, stable=True).indices
        sorted_rows = rows[order]
        n_per_row = torch.bincount(sorted_rows, minlength=self.max_clusters)
        group_start = torch.cumsum(n_per_row, 0) - n_per_row
        rank = torch.arange(rows.shape[0], device=rows.device) - group_start[sorted_rows]
        keep = rank >= n_per_row[sorted_rows] - self.slots
        slot = (self.count[sorted_rows] + rank) % self.slots
        kept_rows, kept_slots, kept = sorted_rows[keep], slot[keep], order[keep]
        # the bank keeps the dtype it was allocated with (mixed precision may hand over bf16 features)
        self.y[kept_rows, kept_slots] = y[kept].to(self.y.dtype)
        self.features[kept_rows, kept_slots] = features[kept].to(self.features.dtype)
        self.count += n_per_row
        self.last_update[n_per_row > 0] = self.step
        flat = torch.full_like(rows, -1)
        flat[kept] = kept_rows * self.slots + kept_slots
        return flat

    def reset(self) -> None:
        """Forget every cluster (the tensors stay allocated)."""
        self.count.zero_()
        self.active.zero_()
        self.last_update.zero_()
        self.uid.fill_(-1)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"y": self.y, "features": self.features, "count": self.count, "active": self.active,
                "last_update": self.last_update, "uid": self.uid, "next_uid": self.next_uid, "step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():  # copies: the bank is updated in place afterwards
            setattr(self, key, value.clone() if isinstance(value, Tensor) else value)


# ---------------------------------------------------------------------------------------- both
@dataclass
class ClusteringResult:
    """What one batch did to the clusters (inputs of Eq. 7 and diagnostics)."""

    batch_clusters: BatchClusters
    rows: Tensor  # (B,) bank row of each sample's global cluster
    slots: Tensor  # (B,) flat slot where each sample was stored (-1: not stored)
    cluster_rows: Tensor  # (n,) bank row of each batch cluster
    threshold: float
    batch_reps: Tensor  # (n,) sample drawn to represent each batch cluster (Algorithm 2)
    global_reps: Tensor  # (C,) slot drawn to represent each bank row before this batch (Algorithm 2)

    def diagnostics(self, bank: GlobalBank, estimator: ThresholdEstimator) -> dict[str, Any]:
        sizes = self.batch_clusters.sizes()
        return {
            "n_batch_clusters": self.batch_clusters.n,
            "n_global_clusters": bank.n_clusters,
            "threshold": self.threshold,
            "mu_hat": estimator.mu_hat,
            "sigma_hat": estimator.sigma_hat,
            "frac_nonsingleton": float((sizes[self.batch_clusters.assignment] > 1).float().mean()),
            "batch_cluster_sizes": sizes,
            # each sample's global cluster (stable id); -1 for a window left out (clusters="oracle")
            "cluster_ids": torch.where(self.rows >= 0, bank.uid[self.rows.clamp(min=0)], -1),
        }


class OnlineClustering:
    """Algorithms 1 and 2 over a run: threshold statistics, the global bank and the random choices.

    ``alg2`` (study option) is what Algorithm 2 compares: ``"one"`` random member of the batch cluster with
    one random stored member of every global cluster (the paper); ``"mean"``: the mean Sim over all pairs
    (batch-cluster member, stored member), i.e. average linkage; ``"max"``: the batch cluster's random
    member against every stored member, the most similar one counting (single linkage).
    """

    def __init__(self, similarity_kind: str, estimator: ThresholdEstimator, bank: GlobalBank, seed: int,
                 alg2: str = "one") -> None:
        if alg2 not in ("one", "mean", "max"):
            raise ConfigError(f"alg2={alg2!r} is not valid; expected 'one', 'mean' or 'max'")
        self.similarity_kind, self.alg2 = similarity_kind, alg2
        self.estimator = estimator
        self.global_bank = bank
        self.generator = torch.Generator().manual_seed(seed)
        self.frame_dim: int | None = None

    def sim(self, a: Tensor, b: Tensor) -> Tensor:
        """``Sim`` of flattened windows with this run's kind."""
        return similarity(a, b, self.similarity_kind, frame_dim=self.frame_dim)

    def observe(self, y: Tensor, epoch: int) -> Tensor:
        """The batch similarity matrix ``S`` of windows ``y`` (B, T, D); feeds the threshold statistics."""
        self.frame_dim = y.shape[-1]
        S = self.sim(flatten_windows(y), flatten_windows(y))
        self.estimator.observe(S, epoch)
        return S

    def cluster(self, y: Tensor, S: Tensor, features: Tensor, gesture: Tensor | None = None) -> ClusteringResult:
        """Algorithm 1 on ``S``, then Algorithm 2 against the bank, then store ``(y, features)``.

        ``gesture`` (true classes) is not used here; the signature is the one of :class:`LabelClustering`.
        """
        threshold = self.estimator.threshold
        y_flat = flatten_windows(y)
        gen = self.generator
        first = int(torch.randint(y.shape[0], (1,), generator=gen))
        batch_clusters = batch_clustering(S, threshold, first)
        reps = random_members(batch_clusters.assignment.cpu(), batch_clusters.n, gen).to(S.device)
        bank = self.global_bank
        if bank.y is None:
            S_global = S.new_full((batch_clusters.n, bank.max_clusters), -math.inf)
            global_reps = torch.zeros(bank.max_clusters, dtype=torch.long, device=S.device)
        else:
            rep_windows, global_reps = bank.representatives(gen)
            S_global = self.sim(y_flat[reps], rep_windows) if self.alg2 == "one" else None
        S_batch = S[reps][:, reps]
        if self.alg2 != "one":
            S_global, S_batch = self._linkage(y_flat, S, batch_clusters, reps, S_global)
        decision = global_clustering(S_global, S_batch, bank.active.to(S.device),
                                     bank.last_update.to(S.device), threshold)
        rows = decision.rows[batch_clusters.assignment]
        created = torch.zeros(bank.max_clusters, dtype=torch.bool, device=S.device)
        created[decision.rows[decision.created]] = True
        # Store cluster by cluster (then by sample index), the order of the sequential pseudo-code.
        order = torch.sort(batch_clusters.assignment, stable=True).indices
        slots = torch.empty_like(rows)
        slots[order] = bank.insert(rows[order], created, y_flat[order].detach(), features[order].detach())
        return ClusteringResult(batch_clusters=batch_clusters, rows=rows, slots=slots,
                                cluster_rows=decision.rows, threshold=threshold,
                                batch_reps=reps, global_reps=global_reps)

    def _linkage(self, y_flat: Tensor, S: Tensor, batch_clusters: BatchClusters, reps: Tensor,
                 S_global: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(S_global (n, C), S_batch (n, n))`` of ``alg2="mean"`` or ``"max"`` (class docstring)."""
        n, bank = batch_clusters.n, self.global_bank
        member = F_nn.one_hot(batch_clusters.assignment, n).T.to(S.dtype)  # (n, B)
        weights = member / member.sum(dim=1, keepdim=True)
        if self.alg2 == "mean":
            S_batch = weights @ S @ weights.T
        else:
            S_batch = S[reps][:, None, :].masked_fill(~member.bool()[None], -math.inf).amax(dim=2)
        if S_global is not None:  # the bank is empty: nothing to compare with
            return S_global, S_batch
        C, slots = bank.max_clusters, bank.slots
        mask = bank.member_mask().to(S.device)  # (C, slots)
        if self.alg2 == "mean" and self.similarity_kind in ("dot", "cosine"):
            # bilinear: the mean Sim over pairs is the dot product of the (normalised) windows' means
            a, b = y_flat.float(), bank.y.float()
            if self.similarity_kind == "cosine":
                a, b = F_nn.normalize(a, dim=1), F_nn.normalize(b, dim=2)
            stored_mean = (b * mask[..., None]).sum(dim=1) / mask.sum(dim=1).clamp(min=1)[:, None]
            return (weights @ a) @ stored_mean.T, S_batch
        queries = y_flat if self.alg2 == "mean" else y_flat[reps]
        M = self.sim(queries, bank.y.flatten(0, 1)).view(-1, C, slots)
        if self.alg2 == "mean":
            S_global = weights @ ((M * mask).sum(dim=2) / mask.sum(dim=1).clamp(min=1))
        else:
            S_global = M.masked_fill(~mask, -math.inf).amax(dim=2)
        return S_global, S_batch

    def state_dict(self) -> dict[str, Any]:
        return {"estimator": self.estimator.state_dict(), "bank": self.global_bank.state_dict(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.estimator.load_state_dict(state["estimator"])
        self.global_bank.load_state_dict(state["bank"])
        self.generator.set_state(state["generator"].cpu())  # a checkpoint may have been mapped to a GPU


# ---------------------------------------------------------------------------------------- study controls
def dominant_gesture(gesture: Tensor, min_share: float = 0.5) -> Tensor:
    """(B,) the true class covering at least ``min_share`` of each window's frames (``gesture`` (B, T)),
    else -1; ties go to the lowest class (as :func:`ccnce.evaluate.dominant_class`)."""
    n_classes = int(gesture.max()) + 1 if gesture.numel() else 0
    if n_classes <= 0:
        return torch.full(gesture.shape[:1], -1, dtype=torch.long, device=gesture.device)
    counts = F_nn.one_hot(gesture.clamp(min=0), n_classes).mul((gesture >= 0)[..., None]).sum(dim=1)
    share, best = counts.max(dim=1)
    return torch.where(share >= min_share * gesture.shape[1], best, -1)


class MiniBatchKMeans:
    """k-means on flattened pose windows, one mini-batch at a time (Sculley 2010, "Web-scale k-means").

    The first batch seeds the centroids by k-means++; every batch then moves each centroid towards the
    mean of the windows assigned to it with step ``n_c / N_c`` (``N_c``: windows it has absorbed so
    far), i.e. each centroid is the running mean of its windows.
    """

    def __init__(self, k: int, generator: torch.Generator) -> None:
        self.k, self.generator = k, generator
        self.centroids: Tensor | None = None
        self.counts: Tensor | None = None

    def assign(self, x: Tensor) -> Tensor:
        """(B,) the nearest centroid (Euclidean) of every row of ``x`` (B, d)."""
        d2 = x.pow(2).sum(1, keepdim=True) - 2 * x @ self.centroids.T + self.centroids.pow(2).sum(1)[None, :]
        return d2.argmin(dim=1)

    def update(self, x: Tensor) -> None:
        x = x.detach().float()
        if self.centroids is None:
            self._seed(x)
        labels = self.assign(x)
        n = torch.bincount(labels, minlength=self.k).to(x.dtype)
        sums = torch.zeros_like(self.centroids).index_add_(0, labels, x)
        self.counts += n
        moved = n > 0
        step = (n / self.counts.clamp(min=1))[:, None]
        self.centroids[moved] += (step * (sums / n.clamp(min=1)[:, None] - self.centroids))[moved]

    def _seed(self, x: Tensor) -> None:
        """Greedy k-means++ (Arthur & Vassilvitskii 2007; ``2 + ln k`` candidates per centroid, the one that
        lowers the potential most is kept, as scikit-learn does) on the first batch."""
        if x.shape[0] < self.k:
            raise ConfigError(f"kmeans_k={self.k} exceeds the batch size {x.shape[0]}: k-means++ seeds from one batch")
        trials = 2 + int(math.log(self.k))
        chosen = [int(torch.randint(x.shape[0], (1,), generator=self.generator))]
        d2 = (x - x[chosen[0]]).pow(2).sum(1)
        for _ in range(self.k - 1):
            p = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full_like(d2, 1 / len(d2))
            candidates = torch.multinomial(p.cpu(), trials, replacement=True, generator=self.generator).to(x.device)
            new_d2 = torch.minimum(d2[None, :], torch.cdist(x[candidates], x).pow(2))  # (trials, B)
            best = int(new_d2.sum(1).argmin())
            chosen.append(int(candidates[best]))
            d2 = new_d2[best]
        self.centroids = x[chosen].clone()
        self.counts = torch.zeros(self.k, dtype=x.dtype, device=x.device)

    def state_dict(self) -> dict[str, Any]:
        return {"centroids": self.centroids, "counts": self.counts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.centroids, self.counts = state["centroids"], state["counts"]


class LabelClustering(OnlineClustering):
    """Control arms of the study: clusters given by a label per window instead of Algorithms 1–2.

    ``source="oracle"``: the window's true dominant gesture (synthetic data only); windows without one
    neither anchor nor enter the bank. ``source="kmeans"``: the nearest of ``kmeans_k`` centroids of
    :class:`MiniBatchKMeans`, fitted on the warm-up epochs' windows (then frozen). Global cluster =
    bank row = label; the bank keeps its FIFO slots, so Eq. 7 sees the same kind of candidates.
    """

    def __init__(self, source: str, estimator: ThresholdEstimator, bank: GlobalBank, seed: int,
                 similarity_kind: str = "dot", kmeans_k: int = 0) -> None:
        super().__init__(similarity_kind, estimator, bank, seed)
        self.source = source
        self.kmeans = MiniBatchKMeans(kmeans_k, self.generator) if source == "kmeans" else None

    def observe(self, y: Tensor, epoch: int) -> Tensor:
        S = super().observe(y, epoch)
        if self.kmeans is not None and epoch < self.estimator.warmup_epochs:
            self.kmeans.update(flatten_windows(y))
        return S

    def labels(self, y: Tensor, gesture: Tensor | None) -> Tensor:
        if self.kmeans is not None:
            if self.kmeans.centroids is None:  # no warm-up: seed from the first batch
                self.kmeans.update(flatten_windows(y))
            return self.kmeans.assign(flatten_windows(y).float())
        if gesture is None or not bool((gesture >= 0).any()):
            raise ConfigError("clusters='oracle' needs the true gestures of the windows (synthetic data)")
        return dominant_gesture(gesture)

    def cluster(self, y: Tensor, S: Tensor, features: Tensor, gesture: Tensor | None = None) -> ClusteringResult:
        bank = self.global_bank
        labels = self.labels(y, gesture).to(S.device)
        if int(labels.max()) >= bank.max_clusters:
            raise ConfigError(f"clusters={self.source!r}: label {int(labels.max())} needs bank_max_clusters > it")
        known = labels >= 0
        present, assignment = torch.unique(labels, return_inverse=True)
        index = torch.arange(labels.shape[0], device=S.device)
        anchors = torch.full((len(present),), labels.shape[0], device=S.device).scatter_reduce(
            0, assignment, index, "amin")  # each cluster's first window
        rows = labels
        created = torch.zeros(bank.max_clusters, dtype=torch.bool, device=S.device)
        created[labels[known]] = True
        created &= ~bank.active.to(S.device)
        slots = torch.full_like(rows, -1)
        if bool(known.any()):
            index = index[known]
            slots[index] = bank.insert(rows[index], created, flatten_windows(y)[index].detach(),
                                       features[index].detach())
        return ClusteringResult(batch_clusters=BatchClusters(assignment=assignment, anchors=anchors), rows=rows,
                                slots=slots, cluster_rows=present, threshold=self.estimator.threshold,
                                batch_reps=anchors, global_reps=torch.zeros(bank.max_clusters, dtype=torch.long))

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.kmeans is not None:
            state["kmeans"] = self.kmeans.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.kmeans is not None:
            self.kmeans.load_state_dict(state["kmeans"])


def build_clustering(cfg) -> OnlineClustering:
    """The clustering of ``cfg`` (a :class:`ccnce.config.Config`): Algorithms 1–2 (``clusters="paper"``)
    or a study control (``"oracle"``, ``"kmeans"``)."""
    estimator = ThresholdEstimator(cfg.threshold, cfg.threshold_momentum, cfg.warmup_epochs, k=cfg.threshold_k)
    bank = GlobalBank(cfg.bank_max_clusters, cfg.bank_slots)
    if cfg.clusters == "paper":
        return OnlineClustering(cfg.similarity, estimator, bank, seed=cfg.seed, alg2=cfg.alg2)
    return LabelClustering(cfg.clusters, estimator, bank, seed=cfg.seed, similarity_kind=cfg.similarity,
                           kmeans_k=cfg.kmeans_k)

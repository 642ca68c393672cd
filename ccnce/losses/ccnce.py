"""CC-NCE, Eq. 7 of the paper: crossmodal clustered InfoNCE over the online gesture clusters.

Per batch (after the warm-up epochs, METHOD.md): Algorithm 1 groups the batch by ground-truth gesture
``y``, Algorithm 2 merges the groups into ``global_bank``; then every sample's embedding ``z`` (an anchor,
with gradient) is pulled towards the stored members of its global cluster (positives ``z⁺``) and pushed
from the members of every other global cluster (negatives ``z⁻``):

    L = −E_z (1/|P|) Σ_{z⁺∈P} log[ exp(s(z,z⁺)/τ) / (exp(s(z,z⁺)/τ) + Σ_{z⁻} exp(s(z,z⁻)/τ)) ]

Choices (stated in the book):

- ``s(a, b)``: ``z`` is L2-normalised over channels frame by frame, so we use the mean over frames of the
  per-frame cosine, i.e. the dot product of the flattened embeddings divided by T (in [−1, 1], which
  gives τ its usual meaning).
- The bank is updated first, so a batch cluster's positives are the members of the global cluster it
  joined (its most similar one) or opened; a sample's own stored copy is not its positive. An anchor
  without any positive (a new singleton cluster) adds nothing.
- Stored members and their encodings follow ``bank_encoding``:
  ``"full"`` (paper) stores ``h`` and re-encodes every member with the current ``F`` each step;
  ``"sampled"`` stores ``h`` and re-encodes all members of the clusters this batch joined plus
  ``bank_sample_negatives`` random members of every other cluster;
  ``"momentum"`` stores ``normalize(F_m(h))`` once, at insertion, with ``F_m`` a momentum copy of ``F``
  (MoCo style, ``bank_momentum``), and never re-encodes; ``"memory"`` stores the batch's own ``z``
  (detached), the key of the online ``F`` at insertion, as the memory bank of Wu et al. (2018) does, and so
  costs no forward pass at all. For both, the candidate set is the one of ``"sampled"`` when
  ``bank_sample_negatives > 0``, else every member.
- ``loss_form="original"``: the original code's binary cross-entropy on per-channel, time-summed logits
  min–max scaled over the candidates (τ has no effect there).
- ``ccnce_head="window"`` (study option, a *decoupled head*): Eq. 7 on ``g(z)``, a window-level projection
  (:class:`WindowHead`) trained with the term, instead of on the decoder's per-frame input ``z``; keys
  are the stored encodings passed through the current ``g`` (no gradient).
- ``clusters`` (study option): Algorithms 1–2 (``"paper"``) or a control
  (:func:`ccnce.clustering.build_clustering`).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn

from ccnce import distributed
from ccnce.clustering import ClusteringResult, GlobalBank, build_clustering
from ccnce.config import Config
from ccnce.losses.contrastive import ContrastiveLoss, Diagnostics, Unregistered, frozen_copy, momentum_update
from ccnce.models.generator import Generator, GeneratorOutput, normalize_channels

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- Eq. 7
def window_scores(anchors: Tensor, keys: Tensor) -> Tensor:
    """``s(a, k)`` for anchors (B, E, T) and keys (N, E, T): mean per-frame dot product → (B, N)."""
    t = anchors.shape[-1]
    return anchors.reshape(anchors.shape[0], -1) @ keys.reshape(keys.shape[0], -1).T / t


def info_nce(logits: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
    """Eq. 7 with several positives, averaged over positives then over anchors.

    ``logits`` (B, N) = s/τ; ``positive``/``negative`` (B, N) boolean masks over the candidates. Each
    positive p of anchor b contributes ``−log(e^{l_bp} / (e^{l_bp} + Σ_n e^{l_bn}))``; anchors without
    positives are left out; with no anchor left the loss is 0 (still part of the graph).
    """
    very_negative = torch.finfo(logits.dtype).min
    negatives = logits.masked_fill(~negative, very_negative).logsumexp(dim=1, keepdim=True)
    log_prob = logits - torch.logaddexp(logits, negatives)
    n_positive = positive.sum(dim=1)
    per_anchor = -(log_prob.masked_fill(~positive, 0.0)).sum(dim=1) / n_positive.clamp(min=1)
    has_positive = n_positive > 0
    if not bool(has_positive.any()):
        return logits.sum() * 0.0
    return per_anchor[has_positive].mean()


def original_bce(anchors: Tensor, keys: Tensor, positive: Tensor, negative: Tensor, eps: float = 1e-6) -> Tensor:
    """The original code's loss: BCE on per-channel time-summed logits, min–max scaled over candidates.

    ``l[b, n, c] = Σ_t z_b[c, t]·k_n[c, t]``, scaled to [0, 1] over the candidates n of anchor b (per
    channel), and compared with 1 for positives and 0 for negatives.
    """
    logits = torch.einsum("bct,nct->bnc", anchors, keys).float()
    valid = (positive | negative)[..., None]
    low = logits.masked_fill(~valid, torch.inf).amin(dim=1, keepdim=True)
    high = logits.masked_fill(~valid, -torch.inf).amax(dim=1, keepdim=True)
    scaled = ((logits - low) / (high - low).clamp(min=eps)).clamp(eps, 1 - eps)
    target = positive[..., None].expand_as(scaled).to(scaled.dtype)
    bce = F_nn.binary_cross_entropy(scaled, target, reduction="none")
    n_valid = valid.sum() * anchors.shape[1]
    if int(n_valid) == 0:
        return logits.sum() * 0.0
    return (bce * valid).sum() / n_valid


# ---------------------------------------------------------------------------------------- candidates
def select_candidates(member_mask: Tensor, joined_rows: Tensor, per_cluster: int,
                      generator: torch.Generator | None) -> Tensor:
    """Flat slot indices ``row * S + slot`` of the bank members that enter the loss.

    Every member of the rows in ``joined_rows`` (C,) bool (the positives' clusters); of the other rows,
    ``per_cluster`` random members each (all of them when ``per_cluster <= 0``).
    """
    if per_cluster <= 0:
        chosen = member_mask
    else:
        noise = torch.rand(member_mask.shape, generator=generator).to(member_mask.device)
        rank = noise.masked_fill(~member_mask, 2.0).argsort(dim=1).argsort(dim=1)
        chosen = member_mask & ((rank < per_cluster) | joined_rows[:, None])
    return chosen.flatten().nonzero().squeeze(1)


def candidate_masks(rows: Tensor, slots: Tensor, candidates: Tensor, n_slots: int) -> tuple[Tensor, Tensor]:
    """Positive and negative masks (B, N) of each sample over the candidate slots (self excluded)."""
    candidate_rows = candidates // n_slots
    same = rows[:, None] == candidate_rows[None, :]
    positive = same & (slots[:, None] != candidates[None, :])
    return positive, ~same


def contrast_sets(bank: GlobalBank, result: ClusteringResult, per_cluster: int,
                  generator: torch.Generator | None, own: slice = slice(None)) -> tuple[Tensor, Tensor, Tensor]:
    """``(candidates, positive, negative)`` of Eq. 7 for a clustered batch (training and the replay of
    :mod:`ccnce.study` share it, random draws included). A sample with row -1 (left out) has no positive.

    The candidates are drawn for the whole (under torchrun: global) batch, so they are the same on every
    rank; the masks are those of the anchors ``own`` (this rank's samples; all of them in one process)."""
    joined = torch.zeros(bank.max_clusters, dtype=torch.bool, device=result.rows.device)
    joined[result.rows[result.rows >= 0]] = True
    candidates = select_candidates(bank.member_mask(), joined, per_cluster, generator)
    positive, negative = candidate_masks(result.rows[own], result.slots[own], candidates, bank.slots)
    return candidates, positive, negative


class WindowHead(nn.Module):
    """The decoupled head ``g``: mean of ``z`` over frames → Linear–ReLU–Linear → L2-normalised, (B, E, 1).

    A projection head as in SimCLR (Chen et al. 2020): the contrastive geometry lives in ``g(z)``, one
    vector per window, so Eq. 7 neither compares frames one by one nor constrains ``z`` directly.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, d_model))

    def forward(self, z: Tensor) -> Tensor:
        return F_nn.normalize(self.mlp(z.mean(dim=2)), dim=1)[:, :, None]


# ---------------------------------------------------------------------------------------- the term
class CCNCELoss(ContrastiveLoss):
    """``L_cc-nce`` of Eq. 6/7 with its online clustering (Algorithms 1 and 2)."""

    variant = "ccnce"

    def __init__(self, cfg: Config, generator: Generator) -> None:
        super().__init__()
        self.tau, self.loss_form = cfg.tau, cfg.loss_form
        self.warmup_epochs, self.bank_reset = cfg.warmup_epochs, cfg.bank_reset
        self.per_cluster = cfg.bank_sample_negatives if cfg.bank_encoding != "full" else 0
        self.momentum, self.bank_encoding = cfg.bank_momentum, cfg.bank_encoding
        self.online = Unregistered(generator)
        self.F_momentum = frozen_copy(generator.F) if cfg.bank_encoding == "momentum" else None
        self.head = WindowHead(cfg.d_model) if cfg.ccnce_head == "window" else None
        self.clustering = build_clustering(cfg)

    @property
    def global_bank(self) -> GlobalBank:
        return self.clustering.global_bank

    # ------------------------------------------------------------------ encodings
    def encode_for_bank(self, h: Tensor, z: Tensor | None = None) -> Tensor:
        """What the bank keeps for a batch: ``h`` itself, its momentum-encoded key, or (``"memory"``) its
        online key ``z = normalize(F(h))``, as the forward pass computed it when ``z`` is given."""
        if self.bank_encoding == "memory":
            if z is None:
                with torch.no_grad():
                    z = self.online.module.embed(h)
            return z.detach()
        if self.F_momentum is None:
            return h.detach()
        with torch.no_grad():
            return normalize_channels(self.F_momentum(h.detach()))

    def _keys(self, candidates: Tensor) -> Tensor:
        stored = self.global_bank.features.flatten(0, 1).index_select(0, candidates)
        if self.bank_encoding in ("momentum", "memory"):  # keys, stored once
            return stored
        with torch.no_grad():
            return self.online.module.embed(stored)

    # ------------------------------------------------------------------ interface
    def term(self, batch: dict[str, Tensor], out: GeneratorOutput, epoch: int) -> tuple[Tensor, Diagnostics]:
        """Under torchrun the clustering sees the *global* batch: every rank gathers all ranks' windows
        ``y`` and stored features, runs Algorithms 1–2 on them (same random draws everywhere) and so holds
        the same bank; its own anchors ``z`` (with gradient) are then contrasted with the bank's keys,
        which hold every rank's members (:mod:`ccnce.distributed`)."""
        y = distributed.all_gather(batch["pose"])
        if self.F_momentum is not None:
            momentum_update(self.F_momentum, self.online.module.F, self.momentum)
        S = self.clustering.observe(y, epoch)
        estimator = self.clustering.estimator
        if epoch < self.warmup_epochs:
            diagnostics = {"mu_hat": estimator.mu_hat, "sigma_hat": estimator.sigma_hat} if estimator.ready else {}
            return out.z.new_zeros(()), diagnostics
        gesture = batch.get("gesture")
        if gesture is not None:
            gesture = distributed.all_gather(gesture)
        result = self.clustering.cluster(y, S, distributed.all_gather(self.encode_for_bank(out.h, out.z)), gesture=gesture)
        own = distributed.local_slice(out.z.shape[0])
        loss, n_candidates = self._loss(out.z, result, own)
        diagnostics = result.diagnostics(self.global_bank, estimator)
        diagnostics["cluster_ids"] = diagnostics["cluster_ids"][own]
        diagnostics["n_candidates"] = n_candidates
        return loss, diagnostics

    def _loss(self, z: Tensor, result: ClusteringResult, own: slice) -> tuple[Tensor, int]:
        """Eq. 7 for the anchors ``z``, samples ``own`` of the (global) batch that ``result`` clustered.
        The candidates are drawn for the whole batch, so they are the same on every rank."""
        candidates, positive, negative = contrast_sets(self.global_bank, result, self.per_cluster,
                                                       self.clustering.generator, own)
        keys = self._keys(candidates).to(z.dtype)
        if self.head is not None:
            z = self.head(z)
            with torch.no_grad():
                keys = self.head(keys)
        if self.loss_form == "original":
            return original_bce(z, keys, positive, negative), int(candidates.numel())
        return info_nce(window_scores(z, keys).float() / self.tau, positive, negative), int(candidates.numel())

    def on_epoch_start(self, epoch: int) -> None:
        if self.bank_reset == "epoch":
            self.global_bank.reset()

    def on_epoch_end(self, epoch: int) -> None:
        if epoch >= self.warmup_epochs - 1 and self.clustering.estimator.ready:
            est = self.clustering.estimator
            log.info("epoch %d: %d global clusters, threshold %.4g (mu_hat %.4g, sigma_hat %.4g)", epoch,
                     self.global_bank.n_clusters, est.threshold, est.mu_hat, est.sigma_hat)

    def get_extra_state(self) -> dict:
        return self.clustering.state_dict()

    def set_extra_state(self, state: dict) -> None:
        self.clustering.load_state_dict(state)

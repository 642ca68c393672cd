"""MoCo baseline (He et al. 2020) in place of L_cc-nce (METHOD.md, "Baselines").

Two views of the fused features, ``h + ε₁`` and ``h + ε₂`` with Gaussian noise (std ``moco_noise``);
queries ``q = normalize(F(view))`` with gradient, keys ``k = normalize(F_m(view))`` from a momentum copy
``F_m`` of ``F`` (m = ``moco_momentum``). InfoNCE per time step: the query of frame t of a window has the
key of the same frame of the other view as positive and the queue as negatives, temperature
``moco_tau``; the loss is symmetric (q₁ vs k₂ and q₂ vs k₁, averaged).

The queue holds ``moco_queue`` frame keys. After each step it receives one random frame of every window
from each key view (2B keys, FIFO), so it spans the last ``moco_queue / 2B`` batches, as MoCo's queue of
per-image keys does; enqueuing every frame would overwrite it with a single batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ccnce import distributed
from ccnce.config import Config
from ccnce.losses.contrastive import ContrastiveLoss, Diagnostics, Unregistered, frozen_copy, momentum_update
from ccnce.models.generator import Generator, GeneratorOutput, normalize_channels


def frame_info_nce(q: Tensor, k: Tensor, queue: Tensor, tau: float) -> Tensor:
    """Per-frame InfoNCE: q, k (B, E, T) unit frames, queue (K, E) → mean of −log p(positive)."""
    q = q.transpose(1, 2).reshape(-1, q.shape[1])
    k = k.transpose(1, 2).reshape(-1, k.shape[1])
    positive = (q * k).sum(dim=1, keepdim=True)
    logits = torch.cat([positive, q @ queue.T], dim=1) / tau
    return F_nn.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=q.device))


class MoCoLoss(ContrastiveLoss):
    variant = "moco"

    def __init__(self, cfg: Config, generator: Generator) -> None:
        super().__init__()
        self.momentum, self.tau, self.noise = cfg.moco_momentum, cfg.moco_tau, cfg.moco_noise
        self.online = Unregistered(generator.F)
        self.F_momentum = frozen_copy(generator.F)
        self.rng = torch.Generator().manual_seed(cfg.seed)
        initial = torch.randn(cfg.moco_queue, cfg.d_model, generator=self.rng)
        self.register_buffer("queue", F_nn.normalize(initial, dim=1))  # random unit keys, as MoCo starts
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    def _view(self, h: Tensor) -> Tensor:
        return h + self.noise * torch.randn(h.shape, generator=self.rng).to(h.device, h.dtype)

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Write ``keys`` (n, E) at the queue pointer (wrapping) and advance it."""
        size = self.queue.shape[0]
        index = (self.queue_ptr + torch.arange(keys.shape[0], device=keys.device)) % size
        self.queue[index] = keys
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % size)

    def _frame_sample(self, k: Tensor) -> Tensor:
        """One random frame key of every window: (B, E, T) → (B, E)."""
        t = torch.randint(k.shape[2], (k.shape[0],), generator=self.rng).to(k.device)
        return k[torch.arange(k.shape[0], device=k.device), :, t]

    def term(self, batch: dict[str, Tensor], out: GeneratorOutput, epoch: int) -> tuple[Tensor, Diagnostics]:
        F = self.online.module
        momentum_update(self.F_momentum, F, self.momentum)
        view1, view2 = self._view(out.h), self._view(out.h)
        q1, q2 = normalize_channels(F(view1)), normalize_channels(F(view2))
        with torch.no_grad():
            k1, k2 = normalize_channels(self.F_momentum(view1)), normalize_channels(self.F_momentum(view2))
        queue = self.queue.clone()  # the loss reads the queue before this step's keys enter it
        loss = 0.5 * (frame_info_nce(q1, k2, queue, self.tau) + frame_info_nce(q2, k1, queue, self.tau))
        # under torchrun every rank enqueues the keys of the global batch (rank by rank), so queues stay equal
        self.enqueue(distributed.all_gather(torch.cat([self._frame_sample(k1), self._frame_sample(k2)])))
        return loss, {"queue_ptr": int(self.queue_ptr)}

    def get_extra_state(self) -> dict:
        return {"rng": self.rng.get_state()}

    def set_extra_state(self, state: dict) -> None:
        self.rng.set_state(state["rng"].cpu())

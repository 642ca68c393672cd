"""One interface for the contrastive term of Eq. 6: ``none``, ``ccnce``, ``moco``, ``patchnce``.

Training code builds the term once with :func:`build_contrastive` and then only calls

- ``term(batch, out, epoch) -> (loss, diagnostics)`` in every generator step (``out``: the generator's
  :class:`~ccnce.models.generator.GeneratorOutput` for ``batch``; ``loss`` a scalar tensor, 0 for
  ``none`` and during CC-NCE's warm-up; ``diagnostics`` a dict of numbers and per-sample tensors),
- ``on_epoch_start(epoch)`` / ``on_epoch_end(epoch)``,
- ``state_dict()`` / ``load_state_dict()`` (an ``nn.Module``'s, including threshold statistics, bank,
  queue and random-generator state, so a resumed run continues identically),
- ``parameters()``: the term's own trainable weights (PatchNCE's pose encoder and heads), optimised
  with the generator.

It never branches on the variant.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from ccnce.config import Config
from ccnce.models.generator import Generator, GeneratorOutput

Diagnostics = dict[str, Any]


class ContrastiveLoss(nn.Module):
    """Base class and the ``none`` variant: the backbone alone (a zero term)."""

    variant = "none"

    def term(self, batch: dict[str, Tensor], out: GeneratorOutput, epoch: int) -> tuple[Tensor, Diagnostics]:
        return out.z.new_zeros(()), {}

    def on_epoch_start(self, epoch: int) -> None:
        """Called before the first batch of ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch: int) -> None:
        """Called after the last batch of ``epoch``."""


class Unregistered:
    """Holds a module of the generator without making it a submodule of the loss, so that its
    parameters stay the generator's (optimiser, checkpoint) while the loss can call it."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module


@torch.no_grad()
def momentum_update(target: nn.Module, source: nn.Module, momentum: float) -> None:
    """``θ_target ← m·θ_target + (1 − m)·θ_source`` (MoCo's key encoder update); buffers are copied."""
    target_params, source_params = list(target.parameters()), list(source.parameters())
    torch._foreach_lerp_(target_params, source_params, 1.0 - momentum)
    for t, s in zip(target.buffers(), source.buffers()):
        t.copy_(s)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` that no optimiser updates (a momentum encoder)."""
    clone = copy.deepcopy(module)
    clone.requires_grad_(False)
    return clone


def build_contrastive(cfg: Config, generator: Generator) -> ContrastiveLoss:
    """The contrastive term of ``cfg.variant`` for ``generator``."""
    if cfg.variant == "none":
        return ContrastiveLoss()
    if cfg.variant == "ccnce":
        from ccnce.losses.ccnce import CCNCELoss

        return CCNCELoss(cfg, generator)
    if cfg.variant == "moco":
        from ccnce.losses.moco import MoCoLoss

        return MoCoLoss(cfg, generator)
    from ccnce.losses.patchnce import PatchNCELoss

    return PatchNCELoss(cfg, generator)

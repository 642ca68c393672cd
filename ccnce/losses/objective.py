"""The full objective (Eq. 6) and one optimisation step of it.

    max_D min_G  L_rec + λ(epoch) L_adv + L_mix + w · L_contrastive

- ``L_rec``: mean L1 between generated and true z-normalised poses (METHOD.md).
- ``L_mix``: cross-entropy of the mixture decoder's frame-wise cluster logits against ``pose_cluster``
  (weight 1, as in the backbone).
- ``L_adv``: least-squares GAN (Mao et al. 2017): D regresses real patches to 1 and fake to 0, G pushes
  fake patches to 1. We pick LSGAN because it is the loss of the backbone's code family and its
  gradients do not vanish when D wins early, which a 64-frame patch discriminator often does.
- ``λ`` ramps linearly from ``adv_weight_start`` (1) at the first epoch to ``adv_weight_end`` (2) at the
  last (METHOD.md, "adversarial weight ramping 1→2").
- ``L_contrastive``: whatever :func:`ccnce.losses.build_contrastive` built (``none`` gives 0), weight
  ``contrastive_weight``. The step never looks at which variant it is.

:func:`train_step` does one batch: with ``alternation="both"`` (our default) a D step then a G step on
the same generator forward; with ``"random"`` (the original code) one of the two, chosen by a coin.
With ``amp`` on a GPU the forward passes run under bf16 autocast; the losses are reduced in float32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn

from ccnce import distributed
from ccnce.config import Config
from ccnce.gradnorms import shared_parameters, term_gradient_norms
from ccnce.models.generator import Generator, GeneratorOutput


def reconstruction_loss(pose: Tensor, y: Tensor) -> Tensor:
    """``L_rec``: mean absolute error in z-normalised pose space."""
    return (pose - y).abs().mean()


def mixture_loss(cluster_logits: Tensor, pose_cluster: Tensor) -> Tensor:
    """Frame-wise cross-entropy of the mixture classifier, logits (B, T, K) vs labels (B, T)."""
    return F_nn.cross_entropy(cluster_logits.reshape(-1, cluster_logits.shape[-1]), pose_cluster.reshape(-1))


def discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """LSGAN discriminator loss: real patches → 1, generated patches → 0."""
    return (real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean()


def generator_adversarial_loss(fake_scores: Tensor) -> Tensor:
    """LSGAN generator loss: generated patches → 1."""
    return (fake_scores - 1).pow(2).mean()


def adversarial_weight(cfg: Config, epoch: int) -> float:
    """``λ`` of Eq. 6 at ``epoch`` (0-based): linear from ``adv_weight_start`` to ``adv_weight_end``."""
    progress = min(1.0, epoch / max(1, cfg.epochs - 1))
    return cfg.adv_weight_start + (cfg.adv_weight_end - cfg.adv_weight_start) * progress


def build_optimizers(cfg: Config, generator: Generator, discriminator: nn.Module,
                     contrastive: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """AdamW for G (with the contrastive term's own weights; text encoder at ``text_lr``) and for D."""
    opt_g = torch.optim.AdamW(generator.parameter_groups(cfg, contrastive), lr=cfg.lr, weight_decay=cfg.weight_decay)
    opt_d = torch.optim.AdamW(discriminator.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return opt_g, opt_d


def check_optimised(optimizer: torch.optim.Optimizer, module: nn.Module) -> None:
    """Raise if a trainable weight of ``module`` is missing from ``optimizer`` (it would silently stay random)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    if not trainable:
        return
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if any(id(p) not in in_optimizer for p in trainable):
        raise ValueError(
            f"the {getattr(module, 'variant', type(module).__name__)} term has trainable weights that the generator "
            "optimiser does not update: build it from generator.parameter_groups(cfg, contrastive) "
            "(or ccnce.losses.objective.build_optimizers)"
        )


def mixed_precision(cfg: Config, device: torch.device):
    """bf16 autocast on a GPU when ``cfg.amp`` (no loss scaling needed for bf16); a no-op otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp and device.type == "cuda")


def _step(optimizer: torch.optim.Optimizer, loss: Tensor, clip: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    distributed.average_gradients(optimizer)  # under torchrun: the global batch's gradient on every rank
    if clip > 0:
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()


def discriminator_step(discriminator: nn.Module, opt_d: torch.optim.Optimizer, y: Tensor, out: GeneratorOutput,
                       cfg: Config) -> float:
    with mixed_precision(cfg, y.device):
        scores = discriminator(torch.cat([y, out.pose.detach()])).float()
    real, fake = scores.chunk(2)
    loss = discriminator_loss(real, fake)
    _step(opt_d, loss, cfg.grad_clip)
    return loss.item()


def generator_step(discriminator: nn.Module, opt_g: torch.optim.Optimizer, batch: dict[str, Tensor],
                   out: GeneratorOutput, contrastive, cfg: Config, epoch: int,
                   shared: list[Tensor] | None = None) -> dict[str, Any]:
    """G's step; with ``shared`` parameters, also log each term's gradient norm on them (ccnce/gradnorms.py)."""
    discriminator.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
    try:
        with mixed_precision(cfg, out.pose.device):
            adv = generator_adversarial_loss(discriminator(out.pose).float())
            contrastive_term, diagnostics = contrastive.term(batch, out, epoch)
    finally:
        discriminator.requires_grad_(True)
    rec = reconstruction_loss(out.pose.float(), batch["pose"])
    mix = mixture_loss(out.cluster_logits.float(), batch["pose_cluster"])
    contrastive_term = contrastive_term.float()
    loss = rec + mix + adversarial_weight(cfg, epoch) * adv + cfg.contrastive_weight * contrastive_term
    logs: dict[str, Any] = {}
    if shared is not None:
        logs.update(term_gradient_norms({"rec": rec, "mix": mix, "adv": adversarial_weight(cfg, epoch) * adv,
                                         "contrastive": cfg.contrastive_weight * contrastive_term}, shared))
    _step(opt_g, loss, cfg.grad_clip)
    logs.update({"loss_g": loss.item(), "rec": rec.item(), "mix": mix.item(), "adv_g": adv.item(),
                 "contrastive": contrastive_term.item()})
    logs.update({k: v for k, v in diagnostics.items() if isinstance(v, (int, float))})
    if "cluster_ids" in diagnostics:
        logs["cluster_ids"] = diagnostics["cluster_ids"].cpu().numpy()
    return logs


def train_step(generator: Generator, discriminator: nn.Module, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer, contrastive, batch: dict[str, Tensor], cfg: Config, epoch: int,
               rng: torch.Generator | None = None, step: int | None = None) -> dict[str, Any]:
    """One training step of Eq. 6 on ``batch``.

    ``alternation="both"``: D step on the detached generated poses, then G step (through the updated D).
    ``"random"``: a fair coin from ``rng`` picks one of them. The generator runs once per call.
    Returns the losses and the contrastive term's scalar diagnostics as floats, plus ``cluster_ids``
    (each sample's global cluster, an array) when the term clusters, and ``grad_<term>`` norms on batches
    ``step`` that are multiples of ``cfg.grad_norm_every`` (when set).
    """
    check_optimised(opt_g, contrastive)
    do_d = do_g = True
    if cfg.alternation == "random":
        do_d = bool(torch.rand((), generator=rng) < 0.5)
        do_g = not do_d
    with torch.set_grad_enabled(do_g), mixed_precision(cfg, batch["pose"].device):
        out = generator(batch)
    logs: dict[str, Any] = {}
    if do_d:
        logs["loss_d"] = discriminator_step(discriminator, opt_d, batch["pose"], out, cfg)
    if do_g:
        probe = cfg.grad_norm_every > 0 and step is not None and step % cfg.grad_norm_every == 0
        logs.update(generator_step(discriminator, opt_g, batch, out, contrastive, cfg, epoch,
                                   shared=shared_parameters(generator) if probe else None))
    return logs

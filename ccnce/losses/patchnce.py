"""PatchNCE baseline (Park et al. 2020, CUT) in place of L_cc-nce (METHOD.md, "Baselines").

Our reading of "generated pose → pose encoder → U-Net features vs. input features at the same temporal
patch": the generated poses (B, T, 96) pass through a small *pose encoder* (two 1-D convolutions into the
E channels of ``h``) and then through the encoder half of the generator's own U-Net ``F`` (shared weights,
as CUT encodes input and output with the generator's encoder). At every U-Net level with at least 16
frames (64, 32 and 16 for depth 5), features are cut into temporal patches of ``patchnce_size`` frames with
hop ``patchnce_hop`` and mean-pooled; a per-level two-layer MLP projects them and they are L2-normalised.
The query is a patch of the *generated* side, its positive the patch at the same position of the
*input* side (the U-Net features of ``h`` from the generator's forward), its negatives the other patches of
the same sequence at that level; temperature ``patchnce_tau``. As in CUT, the input side is detached
(it is the target the generated side must match). The loss averages over patches, windows and levels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn

from ccnce.config import Config
from ccnce.losses.contrastive import ContrastiveLoss, Diagnostics, Unregistered
from ccnce.models.decoder import POSE_DIM
from ccnce.models.generator import Generator, GeneratorOutput

MIN_LEVEL_FRAMES = 16


def temporal_patches(x: Tensor, size: int, hop: int) -> Tensor:
    """Mean-pooled temporal patches: (B, C, L) → (B, P, C), P = (L − size) // hop + 1."""
    return x.unfold(2, size, hop).mean(dim=3).transpose(1, 2)


def patch_nce(q: Tensor, k: Tensor, tau: float) -> Tensor:
    """InfoNCE between patches: q, k (B, P, C) unit vectors; positive = same patch index, negatives =
    the other patches of the same window."""
    logits = q @ k.transpose(1, 2) / tau  # (B, P, P)
    target = torch.arange(q.shape[1], device=q.device).expand(q.shape[0], -1)
    return F_nn.cross_entropy(logits.flatten(0, 1), target.flatten())


def patch_levels(window: int, depth: int) -> list[int]:
    """U-Net levels (0 = finest) whose length is at least 16 frames."""
    return [level for level in range(depth) if window // 2 ** level >= MIN_LEVEL_FRAMES]


class PatchNCELoss(ContrastiveLoss):
    variant = "patchnce"

    def __init__(self, cfg: Config, generator: Generator) -> None:
        super().__init__()
        e = cfg.d_model
        self.tau, self.size, self.hop = cfg.patchnce_tau, cfg.patchnce_size, cfg.patchnce_hop
        self.levels = patch_levels(cfg.window, cfg.unet_depth)
        self.online = Unregistered(generator.F)
        self.pose_encoder = nn.Sequential(
            nn.Conv1d(POSE_DIM, e, kernel_size=3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(e, e, kernel_size=3, padding=1),
        )
        self.heads = nn.ModuleList(
            [nn.Sequential(nn.Linear(e, e), nn.ReLU(), nn.Linear(e, e)) for _ in self.levels]
        )

    def _project(self, features: Tensor, head: nn.Module) -> Tensor:
        return F_nn.normalize(head(temporal_patches(features, self.size, self.hop)), dim=-1)

    def term(self, batch: dict[str, Tensor], out: GeneratorOutput, epoch: int) -> tuple[Tensor, Diagnostics]:
        generated = self.online.module.encode(self.pose_encoder(out.pose.transpose(1, 2)))
        losses = []
        for level, head in zip(self.levels, self.heads):
            q = self._project(generated[level], head)
            k = self._project(out.unet_levels[level], head).detach()
            losses.append(patch_nce(q, k, self.tau))
        return torch.stack(losses).mean(), {}

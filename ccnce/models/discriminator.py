"""Discriminator (METHOD.md, "Discriminator"): a 1-D conv net over pose *velocities* → patch scores.

Velocities (frame differences) rather than poses, as in the backbone, so that the adversarial term judges
motion. Strided convolutions give one real/fake score per temporal patch (PatchGAN-style; a 64-frame
window yields 15 overlapping patches). No normalisation layers: real and fake windows go through one
call, and a batch statistic would let the discriminator tell them apart by the batch they came in.
"""

from __future__ import annotations

from torch import Tensor, nn

from ccnce.config import Config
from ccnce.models.decoder import POSE_DIM


class Discriminator(nn.Module):
    def __init__(self, d_model: int, pose_dim: int = POSE_DIM) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(pose_dim, d_model, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(d_model, 2 * d_model, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(2 * d_model, 1, kernel_size=3, padding=1),
        )

    def forward(self, pose: Tensor) -> Tensor:
        """``pose`` (B, T, 96) → scores (B, P), one per temporal patch."""
        velocity = pose[:, 1:] - pose[:, :-1]
        return self.net(velocity.transpose(1, 2)).squeeze(1)


def build_discriminator(cfg: Config) -> Discriminator:
    return Discriminator(cfg.d_model)

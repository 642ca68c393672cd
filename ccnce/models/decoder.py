"""Mixture decoder (METHOD.md, "Mixture decoder"): ``z`` → poses, softly mixing K cluster-specific heads.

A frame-wise classifier predicts which of the K pose clusters (k-means labels of the data layer) each
frame belongs to; its logits are trained with cross-entropy against ``pose_cluster`` and their softmax
weighs K linear heads that each map ``z`` to the 96 pose values.
"""

from __future__ import annotations

from torch import Tensor, nn

POSE_DIM = 96


class MixtureDecoder(nn.Module):
    def __init__(self, d_model: int, n_mixture: int, pose_dim: int = POSE_DIM) -> None:
        super().__init__()
        self.n_mixture, self.pose_dim = n_mixture, pose_dim
        self.classifier = nn.Sequential(
            nn.Conv1d(d_model, d_model, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(d_model, n_mixture, kernel_size=1),
        )
        self.heads = nn.Conv1d(d_model, n_mixture * pose_dim, kernel_size=1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``z`` (B, E, T) → ``(pose (B, T, 96), cluster_logits (B, T, K))``."""
        b, _, t = z.shape
        logits = self.classifier(z)  # (B, K, T)
        heads = self.heads(z).view(b, self.n_mixture, self.pose_dim, t)
        pose = (logits.softmax(dim=1).unsqueeze(2) * heads).sum(dim=1)  # (B, 96, T)
        return pose.transpose(1, 2), logits.transpose(1, 2)

"""Losses: reconstruction/adversarial, CC-NCE (Eq. 7) and the MoCo / PatchNCE baselines."""

from ccnce.losses.contrastive import ContrastiveLoss, build_contrastive

__all__ = ["ContrastiveLoss", "build_contrastive"]

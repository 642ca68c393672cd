"""Losses: reconstruction/adversarial, CC-NCE (Eq. 7) and the MoCo / PatchNCE baselines."""

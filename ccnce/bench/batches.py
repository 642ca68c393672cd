"""Random batches in the data layer's format, with a known gesture-class structure (benchmarks, tests).

A batch is the dict the data layer yields (``pose`` (B, 64, 96) z-normalised ``y``, ``audio`` (B, 64, 64),
``tokens``/``durations``/``n_tokens``, ``pose_cluster``, ``gesture``, ``index``). Here every window belongs
to one of ``n_classes`` gesture classes: its pose is that class's smooth prototype trajectory, randomly
scaled and shifted in time, plus noise, so that Sim separates classes the way the μ̂+σ̂ threshold expects.
Nothing here is data: it only exercises the computation at realistic shapes and cluster counts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

WINDOW, POSE_DIM, N_MELS, N_POSE_CLUSTERS = 64, 96, 64, 8


def class_prototypes(n_classes: int, generator: torch.Generator, window: int = WINDOW) -> Tensor:
    """``(n_classes, window, 96)`` smooth trajectories: a few random sinusoids per pose dimension."""
    t = torch.linspace(0, 1, window)[None, :, None, None]
    freq = torch.randint(1, 3, (n_classes, 1, POSE_DIM, 3), generator=generator).float()
    phase = torch.rand(n_classes, 1, POSE_DIM, 3, generator=generator) * 2 * math.pi
    amp = torch.rand(n_classes, 1, POSE_DIM, 3, generator=generator)
    return (amp * torch.sin(2 * math.pi * freq * t + phase)).sum(dim=3)


def random_tokens(batch_size: int, generator: torch.Generator, max_tokens: int = 16,
                  window: int = WINDOW, vocab: tuple[int, int] = (1000, 20000)) -> tuple[Tensor, Tensor, Tensor]:
    """``(tokens, durations, n_tokens)``: 4..max_tokens sub-words per window whose durations tile it."""
    n_tokens = torch.randint(4, max_tokens + 1, (batch_size,), generator=generator)
    durations = torch.zeros(batch_size, max_tokens, dtype=torch.long)
    for b in range(batch_size):  # batch construction, not a hot path
        inner = torch.sort(torch.randperm(window - 1, generator=generator)[: n_tokens[b] - 1] + 1).values
        edges = torch.cat([torch.tensor([0]), inner, torch.tensor([window])])
        durations[b, : n_tokens[b]] = edges.diff()
    tokens = torch.randint(*vocab, (batch_size, max_tokens), generator=generator) * (durations > 0)
    return tokens, durations, n_tokens


def random_batch(batch_size: int, generator: torch.Generator, n_classes: int = 16, noise: float = 0.5,
                 prototypes: Tensor | None = None) -> dict[str, Tensor]:
    """A batch whose windows belong to random classes (``gesture`` holds the class of every frame)."""
    if prototypes is None:
        prototypes = class_prototypes(n_classes, generator)
    classes = torch.randint(prototypes.shape[0], (batch_size,), generator=generator)
    scale = 0.7 + 0.6 * torch.rand(batch_size, 1, 1, generator=generator)
    shift = torch.randint(-2, 3, (batch_size,), generator=generator)
    pose = torch.stack([prototypes[c].roll(int(s), dims=0) for c, s in zip(classes, shift)]) * scale
    pose = pose + noise * torch.randn(pose.shape, generator=generator)
    tokens, durations, n_tokens = random_tokens(batch_size, generator)
    return {
        "pose": pose,
        "audio": torch.randn(batch_size, WINDOW, N_MELS, generator=generator),
        "tokens": tokens,
        "durations": durations,
        "n_tokens": n_tokens,
        "pose_cluster": torch.randint(N_POSE_CLUSTERS, (batch_size, WINDOW), generator=generator),
        "gesture": classes[:, None].expand(batch_size, WINDOW).clone(),
        "index": torch.arange(batch_size),
    }

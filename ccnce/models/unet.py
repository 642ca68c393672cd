"""The 1-D U-Net over the window's frames: the backbone's bottleneck and CC-NCE's projection head ``F``.

``depth`` levels (64, 32, 16, 8, 4 frames for depth 5), each a conv block; stride-2 convolutions go down,
linear upsampling plus skip connections come back up, a 1×1 convolution ends it, so ``F(h)`` has the shape of ``h`` (B, E, T).

Normalisation is GroupNorm, not BatchNorm: CC-NCE re-encodes stored bank members with the current ``F``
(METHOD.md, Eq. 7), and with a per-sample normalisation ``F(h)`` of a stored window is exactly what it
would be inside a training batch, and re-encoding never disturbs running statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ConvBlock1d(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv1d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
            group_norm(c_out),
            nn.LeakyReLU(0.2),
        )


class UNet1d(nn.Module):
    """``F``: (B, E, T) → (B, E, T), T divisible by ``2 ** (depth - 1)``."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.depth = depth
        self.down = nn.ModuleList(
            [ConvBlock1d(channels, channels)] + [ConvBlock1d(channels, channels, stride=2) for _ in range(depth - 1)]
        )
        self.up = nn.ModuleList([ConvBlock1d(2 * channels, channels) for _ in range(depth - 1)])
        # A linear last layer: after a LeakyReLU every z would sit in the positive orthant.
        self.head = nn.Conv1d(channels, channels, kernel_size=1)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Features of every level, finest first: ``[(B, E, T), (B, E, T/2), …]`` (PatchNCE reads these)."""
        levels = []
        for block in self.down:
            x = block(x)
            levels.append(x)
        return levels

    def decode(self, levels: list[Tensor]) -> Tensor:
        x = levels[-1]
        for block, skip in zip(self.up, reversed(levels[:-1])):
            x = F_nn.interpolate(x, size=skip.shape[-1], mode="linear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

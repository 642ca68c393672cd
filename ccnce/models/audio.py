"""Audio encoder of the backbone (METHOD.md, "Audio"): log-mel (64 time × 64 mel) → (E × 64 time).

``n_blocks`` conv–BatchNorm–LeakyReLU(0.2) blocks over the (time, mel) plane, three of them with stride 2
(so 64 × 64 becomes 8 × 8), the remaining mel bins folded into channels, then linear interpolation back
to the window's 64 time steps. Channels grow E/8 → E/4 → E/2 at the downsamplings (the fold to E
channels follows): the early, large planes stay thin, which keeps the ``cpu`` profile's step in tens of
milliseconds (E/4 → E/2 → E made this encoder alone cost as much as the rest of the generator).
"""

from __future__ import annotations

import torch.nn.functional as F_nn
from torch import Tensor, nn

N_DOWNSAMPLINGS = 3


def downsampling_blocks(n_blocks: int) -> tuple[int, ...]:
    """Indices of the stride-2 blocks, spread evenly over ``n_blocks`` (e.g. 8 → (0, 2, 5))."""
    return tuple(k * n_blocks // N_DOWNSAMPLINGS for k in range(N_DOWNSAMPLINGS))


class ConvBlock2d(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2),
        )


class AudioEncoder(nn.Module):
    def __init__(self, d_model: int, n_blocks: int, n_mels: int = 64, window: int = 64) -> None:
        super().__init__()
        if n_blocks < N_DOWNSAMPLINGS:
            raise ValueError(f"audio_blocks must be >= {N_DOWNSAMPLINGS}, got {n_blocks}")
        down = downsampling_blocks(n_blocks)
        widths = [max(d_model // 8, 4), max(d_model // 4, 4), max(d_model // 2, 4)]
        blocks, c_in = [], 1
        for i in range(n_blocks):
            level = sum(1 for d in down if d <= i) - 1
            blocks.append(ConvBlock2d(c_in, widths[level], stride=2 if i in down else 1))
            c_in = widths[level]
        self.blocks = nn.Sequential(*blocks)
        mels_left = n_mels // 2 ** N_DOWNSAMPLINGS
        self.fold = nn.Conv1d(widths[-1] * mels_left, d_model, kernel_size=1)
        self.window = window

    def forward(self, audio: Tensor) -> Tensor:
        """``audio`` (B, T, mel) → features (B, E, window)."""
        x = self.blocks(audio.unsqueeze(1))  # (B, E, T/8, mel/8)
        b, c, t, m = x.shape
        x = self.fold(x.permute(0, 1, 3, 2).reshape(b, c * m, t))
        return F_nn.interpolate(x, size=self.window, mode="linear", align_corners=False)

"""Fusion of audio and text (METHOD.md, "Fusion"): a Transformer decoder with a word-alignment mask.

Queries are the audio features of the 64 frames (plus positions), memory is the sub-word features; each
sample gets its own alignment mask so that frame ``t`` attends only to the sub-word(s) spoken at ``t``
(the original code took the mask of batch sample 0 for the whole batch). The decoder output is
concatenated with the audio features and mapped by a 1-D convolution to the fused features ``h``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ccnce.models.text import sinusoidal_positions


def alignment_mask(durations: Tensor, window: int) -> Tensor:
    """``(B, window, L)`` boolean, True where frame t may **not** attend sub-word j.

    Sub-word j spans frames ``[start_j, start_j + durations_j)`` with ``start`` the exclusive cumulative
    sum of ``durations``; zero-duration and padding sub-words span nothing. A frame that no sub-word
    spans (a window whose durations sum to less than ``window``) may attend to all sub-words, and a window
    without any sub-word attends to position 0, so that no attention row is empty.
    """
    end = durations.cumsum(dim=1)
    start = end - durations
    t = torch.arange(window, device=durations.device)[None, :, None]
    allowed = (t >= start[:, None, :]) & (t < end[:, None, :])  # (B, T, L)
    real = (durations > 0)[:, None, :].expand_as(allowed)
    orphan = ~allowed.any(dim=2, keepdim=True)
    allowed = torch.where(orphan, real, allowed)
    allowed[..., 0] |= ~allowed.any(dim=2)
    return ~allowed


class Fusion(nn.Module):
    def __init__(self, d_model: int, n_layers: int, n_heads: int, ff_mult: int, window: int = 64) -> None:
        super().__init__()
        layer = nn.TransformerDecoderLayer(d_model, n_heads, dim_feedforward=ff_mult * d_model, dropout=0.0,
                                           batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, n_layers)
        self.n_heads = n_heads
        self.register_buffer("positions", sinusoidal_positions(window, d_model), persistent=False)
        self.out = nn.Conv1d(2 * d_model, d_model, kernel_size=3, padding=1)

    def forward(self, audio: Tensor, text: Tensor, durations: Tensor) -> Tensor:
        """``audio`` (B, E, T), ``text`` (B, L, E) with positions, ``durations`` (B, L) → ``h`` (B, E, T)."""
        b, _, t = audio.shape
        mask = alignment_mask(durations, t).repeat_interleave(self.n_heads, dim=0)
        queries = audio.transpose(1, 2) + self.positions[:t]
        fused = self.decoder(queries, text, memory_mask=mask)
        return self.out(torch.cat([fused.transpose(1, 2), audio], dim=1))

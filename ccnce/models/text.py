"""Text encoder of the backbone (METHOD.md, "Text"): a BERT-family model over a window's sub-words.

Input: the window's distinct WordPiece ids (no [CLS]/[SEP]) padded with 0, and the token counts.
Output: per-token features ``(B, L, E)`` = Linear(hidden→E) of the transformer's last layer plus a
sinusoidal positional encoding, and the padding mask. The transformer sees a proper attention mask (the
original code did not pass one, METHOD.md "Known quirks").

**Frozen encoder and its cache.** With ``freeze=True`` (the ``cpu`` profile) the transformer is a fixed
function of the token sequence, so its output is cached, keyed by the tuple of the window's sub-word
ids (``tuple(tokens[b, :n_tokens[b]])``). We key by the whole window rather than by vocabulary id because
the outputs are *contextual*: the same id gets a different vector in a different window. Windows recur
every epoch, so after the first epoch every lookup hits and the transformer never runs; the cache holds
the hidden states before the trainable projection (``n × hidden`` floats per window, e.g. ~25 kB for
16 sub-words of MiniLM), bounded by ``cache_size`` entries (oldest evicted first). :meth:`precompute`
fills it in large batches before training so that the first epoch is not slower than the others.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from ccnce.errors import ConfigError
from ccnce.models.pretrained import resolve_text_model

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 200_000


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """The Transformer's fixed positional encoding, ``(length, dim)`` (Vaswani et al. 2017)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: dim // 2])
    return pe


def padding_mask(n_tokens: Tensor, length: int) -> Tensor:
    """``(B, length)`` boolean mask, True on padding positions (``index >= n_tokens``)."""
    return torch.arange(length, device=n_tokens.device)[None, :] >= n_tokens[:, None]


def load_text_model(name: str) -> nn.Module:
    """The transformer of ``name`` from a local folder (offline; never downloads)."""
    from transformers import AutoModel

    path = resolve_text_model(name)
    try:
        model = AutoModel.from_pretrained(path, local_files_only=True)
    except OSError as e:
        raise ConfigError(
            f"text_encoder={name!r} is not available offline (not a local folder nor in the Hugging Face "
            f"cache); use text_encoder='minilm' or point it at a local copy: {e}"
        ) from e
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # a sentence-level head we never read: it would only hold dead weights
    return model


class TextEncoder(nn.Module):
    """Sub-word features for the fusion transformer (METHOD.md, "Text")."""

    def __init__(self, name: str, d_model: int, freeze: bool, cache_size: int = DEFAULT_CACHE_SIZE,
                 max_tokens: int = 512, model: nn.Module | None = None) -> None:
        """``model``: an already loaded transformer to use instead of loading ``name``."""
        super().__init__()
        self.bert = model if model is not None else load_text_model(name)
        self.freeze = freeze
        self.hidden = int(self.bert.config.hidden_size)
        self.proj = nn.Linear(self.hidden, d_model)
        self.register_buffer("positions", sinusoidal_positions(max_tokens, d_model), persistent=False)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, ...], Tensor] = OrderedDict()
        if freeze:
            self.bert.requires_grad_(False)
            self.bert.eval()

    def train(self, mode: bool = True) -> "TextEncoder":
        super().train(mode)
        if self.freeze:  # a frozen encoder is a fixed function: no dropout, so its cache stays valid
            self.bert.eval()
        return self

    # ------------------------------------------------------------------ transformer
    def _run_bert(self, tokens: Tensor, n_tokens: Tensor) -> Tensor:
        """Last hidden layer ``(B, L, hidden)`` with padding masked out of the attention."""
        attention_mask = (~padding_mask(n_tokens, tokens.shape[1])).long()
        # A window without words still needs one attendable position, or attention is undefined.
        attention_mask[:, 0] = 1
        return self.bert(input_ids=tokens, attention_mask=attention_mask).last_hidden_state

    @staticmethod
    def _keys(tokens: Tensor, n_tokens: Tensor) -> list[tuple[int, ...]]:
        rows = tokens.tolist()
        return [tuple(row[:n]) for row, n in zip(rows, n_tokens.tolist())]

    def _cached_hidden(self, tokens: Tensor, n_tokens: Tensor) -> Tensor:
        keys = self._keys(tokens.cpu(), n_tokens.cpu())
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            self._fill(tokens[missing], n_tokens[missing], [keys[i] for i in missing])
        out = tokens.new_zeros((tokens.shape[0], tokens.shape[1], self.hidden), dtype=self.proj.weight.dtype)
        for i, k in enumerate(keys):
            h = self._cache[k]
            out[i, : h.shape[0]] = h
        return out

    @torch.no_grad()
    def _fill(self, tokens: Tensor, n_tokens: Tensor, keys: list[tuple[int, ...]]) -> None:
        hidden = self._run_bert(tokens, n_tokens).to(self.proj.weight.dtype)
        for i, k in enumerate(keys):
            self._cache[k] = hidden[i, : len(k)].clone()
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def precompute(self, windows: Iterable[tuple[Tensor, Tensor]]) -> int:
        """Fill the cache from ``(tokens, n_tokens)`` batches (frozen encoder only); returns its size."""
        if not self.freeze:
            raise ConfigError("precompute() needs freeze_text=True: a fine-tuned encoder cannot be cached")
        for tokens, n_tokens in windows:
            keys = self._keys(tokens.cpu(), n_tokens.cpu())
            missing = [i for i, k in enumerate(keys) if k not in self._cache]
            if missing:
                device = self.proj.weight.device
                self._fill(tokens[missing].to(device), n_tokens[missing].to(device), [keys[i] for i in missing])
        log.info("text cache holds %d windows", len(self._cache))
        return len(self._cache)

    @property
    def cache_len(self) -> int:
        return len(self._cache)

    # ------------------------------------------------------------------ forward
    def hidden_states(self, tokens: Tensor, n_tokens: Tensor) -> Tensor:
        """The transformer's last layer ``(B, L, hidden)`` before the projection (cached when frozen)."""
        return self._cached_hidden(tokens, n_tokens) if self.freeze else self._run_bert(tokens, n_tokens)

    def forward(self, tokens: Tensor, n_tokens: Tensor) -> tuple[Tensor, Tensor]:
        """``(features (B, L, E), pad_mask (B, L))`` for padded sub-word ids ``tokens`` (B, L)."""
        length = tokens.shape[1]
        if length > self.positions.shape[0]:
            raise ConfigError(f"a window has {length} sub-words; the encoder supports at most {self.positions.shape[0]}")
        features = self.proj(self.hidden_states(tokens, n_tokens)) + self.positions[:length]
        return features, padding_mask(n_tokens, length)

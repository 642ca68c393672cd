"""Transcript keys of a synthetic interval: ``text/meta``, ``text/tokens``, ``text/bert``, ``text/w2v``.

Words tile the pose frames [0, T) with no gaps (PATS.md): a word starts at the frame of its spoken onset
(eSpeak's word event), ends where the next starts, the first starts at 0 and the last ends at T; short
words can have zero length, as in real PATS. ``text/tokens`` are bert-base-uncased WordPiece ids
(the vocabulary of the default text encoder) repeated over the frames each sub-word spans: a word's
frames are shared equally among its sub-words, and a sub-word that gets no frame is not seen.

``text/bert`` and ``text/w2v`` have PATS's shape and dtype but are *not* language-model features: each
sub-word (bert) or word (w2v) gets a fixed pseudo-random vector derived from a hash of its text, scaled
to the speaker's real ``text/bert`` mean/std (bert) or to word2vec's typical scale (std 0.15, w2v).
Nothing in ccnce reads them; they exist so that the layout is PATS's.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import pandas as pd

BERT_DIM = 768
W2V_DIM = 300
W2V_STD = 0.15


def word_frames(onsets: np.ndarray, n_frames: int, fps: float = 15.0) -> tuple[np.ndarray, np.ndarray]:
    """(start_frame, end_frame) float64 arrays tiling [0, n_frames) from word onsets in seconds."""
    start = np.clip(np.round(np.asarray(onsets) * fps), 0, n_frames)
    start = np.maximum.accumulate(start)
    start[0] = 0.0
    end = np.append(start[1:], n_frames).astype(np.float64)
    return start.astype(np.float64), end


def meta_frame(words: list[str], start: np.ndarray, end: np.ndarray) -> pd.DataFrame:
    """The ``text/meta`` table: Word (object), start_frame, end_frame (float64)."""
    return pd.DataFrame({"Word": pd.Series(words, dtype=object),
                         "start_frame": np.asarray(start, np.float64),
                         "end_frame": np.asarray(end, np.float64)})


def frame_tokens(words: list[str], start: np.ndarray, end: np.ndarray, n_frames: int,
                 vocab: dict[str, list[int]]) -> np.ndarray:
    """(T,) int64 WordPiece id per frame; ``vocab`` maps a word to its sub-word ids."""
    tokens = np.zeros(n_frames, dtype=np.int64)
    for word, a, b in zip(words, start.astype(int), end.astype(int)):
        ids = vocab[word]
        cuts = a + np.round(np.arange(len(ids) + 1) * (b - a) / len(ids)).astype(int)
        for token, lo, hi in zip(ids, cuts[:-1], cuts[1:]):
            tokens[lo:hi] = token
    return tokens


@lru_cache(maxsize=65536)
def _hashed_normal(kind: str, key: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).normal(size=dim)


def frame_bert(tokens: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(T, 768) float32: a fixed hashed vector per sub-word id, scaled to the speaker's bert statistics."""
    table = {int(t): (mean + std * _hashed_normal("bert", str(int(t)), BERT_DIM)).astype(np.float32)
             for t in np.unique(tokens)}
    return np.stack([table[int(t)] for t in tokens]) if len(tokens) else np.zeros((0, BERT_DIM), np.float32)


def frame_w2v(words: list[str], start: np.ndarray, end: np.ndarray, n_frames: int) -> np.ndarray:
    """(T, 300) float64: a fixed hashed vector per word (word2vec scale), repeated over its frames."""
    out = np.zeros((n_frames, W2V_DIM))
    for word, a, b in zip(words, start.astype(int), end.astype(int)):
        out[a:b] = W2V_STD * _hashed_normal("w2v", word, W2V_DIM)
    return out

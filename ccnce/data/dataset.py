"""The data entry point: a speaker's windows as torch Datasets, and their DataLoader.

>>> data = load_speaker(cfg, root)                 # builds the window cache once, memory-maps it after
>>> loader = make_loader(data.train, batch_size=32, shuffle=True, seed=cfg.seed)
>>> batch = next(iter(loader))                     # dict of tensors, see collate_windows
>>> full = load_full_intervals(cfg, root, "test")  # non-overlapping windows of whole test intervals

A batch holds ``pose`` (B, W, 96) and ``audio`` (B, W, n_mels) float32, z-normalised with the training
statistics; ``tokens``/``durations`` (B, L) int64 padded with 0 and ``n_tokens`` (B,); ``pose_cluster``,
``gesture``, ``phrase`` (B, W) int64 (``gesture``/``phrase`` are -1 without ground truth); ``index``
(B,) the window's position in its WindowSet, ``start`` (B,) its first frame in its interval and
``interval`` (B,) the position of its interval id in ``WindowSet.intervals``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler

from ccnce import distributed
from ccnce.config import Config
from ccnce.data.cache import (
    CacheEntry,
    LoadReport,
    SplitReport,
    ensure_entry,
    ensure_full_split,
    open_split,
    split_folder_report,
)
from ccnce.data.normalize import ZStats
from ccnce.data.pats import SPLITS
from ccnce.data.poseclusters import PoseClusterer
from ccnce.errors import ConfigError

log = logging.getLogger(__name__)

#: Seed of the ``cfg.max_train_windows`` subsample. Fixed (not ``cfg.seed``) so that runs that differ
#: only in their seed train on the same windows: their spread then measures training randomness alone.
SUBSAMPLE_SEED = 0


class WindowSet(Dataset):
    """Windows of one split of one speaker (memory-mapped cache arrays + normalisation statistics).

    ``ws[i]`` is one window as a dict of tensors; ``ws[[i, j, ...]]`` is a whole batch, gathered with
    vectorised indexing (what :func:`make_loader` uses); both match :func:`collate_windows`.
    """

    def __init__(self, arrays: dict[str, np.ndarray], stats: ZStats, intervals: Sequence[str],
                 name: str = "", window_ids: np.ndarray | None = None, folder: Path | None = None,
                 report: SplitReport | None = None) -> None:
        self.arrays = arrays
        self.stats = stats
        self.intervals = list(intervals)
        self.name = name
        self.folder = folder
        self.report = report
        n_all = len(arrays["pose"])
        self.window_ids = np.arange(n_all, dtype=np.int64) if window_ids is None else np.asarray(window_ids,
                                                                                                  np.int64)

    # --------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # A memory map would pickle as a full copy; DataLoader workers reopen the cache instead.
        state = self.__dict__.copy()
        if self.folder is not None:
            state["arrays"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.arrays is None:
            self.arrays = open_split(self.folder)

    # --------------------------------------------------------------------------------- shape
    def __len__(self) -> int:
        return len(self.window_ids)

    @property
    def window(self) -> int:
        return int(self.arrays["pose"].shape[1])

    @property
    def n_mels(self) -> int:
        return int(self.arrays["audio"].shape[2])

    @property
    def starts(self) -> np.ndarray:
        """(N,) first frame of each window in its interval."""
        return np.asarray(self.arrays["start"][self.window_ids], dtype=np.int64)

    @property
    def interval_ids(self) -> np.ndarray:
        """(N,) interval id (str) of each window."""
        return np.asarray(self.intervals, dtype=object)[self.arrays["interval"][self.window_ids]]

    def interval_windows(self) -> dict[str, np.ndarray]:
        """Interval id → positions of its windows in this set, in time order (to concatenate)."""
        interval = np.asarray(self.arrays["interval"][self.window_ids])
        order = np.lexsort((self.starts, interval))
        groups = np.split(order, np.flatnonzero(np.diff(interval[order])) + 1) if len(order) else []
        return {self.intervals[interval[g[0]]]: g for g in groups}

    def subset(self, positions: Sequence[int] | np.ndarray, name: str | None = None) -> "WindowSet":
        """A WindowSet of some of these windows (positions in this set)."""
        return WindowSet(self.arrays, self.stats, self.intervals, name or self.name,
                         self.window_ids[np.asarray(positions, dtype=np.int64)], self.folder, self.report)

    # --------------------------------------------------------------------------------- access
    def _positions(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.int64).reshape(-1)
        n = len(self)
        if ((pos < -n) | (pos >= n)).any():
            raise IndexError(f"window position out of range for a set of {n} windows")
        return np.where(pos < 0, pos + n, pos)

    def raw(self, position: int) -> dict[str, np.ndarray]:
        """Un-normalised pose and audio of one window (float32, as cached)."""
        wid = self.window_ids[self._positions([position])[0]]
        return {"pose": np.asarray(self.arrays["pose"][wid]), "audio": np.asarray(self.arrays["audio"][wid])}

    def __getitem__(self, index: int | Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        if isinstance(index, (int, np.integer)):
            batch = self.batch([int(index)])
            n = int(batch["n_tokens"][0])
            item = {k: v[0] for k, v in batch.items()}
            item["tokens"], item["durations"] = item["tokens"][:n], item["durations"][:n]
            return item
        return self.batch(index)

    def batch(self, positions: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        """The collated batch of the windows at ``positions`` (see the module docstring)."""
        pos = self._positions(positions)
        ids = self.window_ids[pos]
        a = self.arrays
        pose = self.stats.normalize_pose(a["pose"][ids])
        audio = self.stats.normalize_audio(a["audio"][ids])
        offsets = a["token_offsets"]
        lo = offsets[ids]
        n_tokens = offsets[ids + 1] - lo
        width = int(n_tokens.max(initial=1))
        col = np.arange(width)[None, :]
        pad = col >= n_tokens[:, None]
        flat = np.minimum(lo[:, None] + col, max(len(a["tokens"]) - 1, 0))
        tokens = np.where(pad, 0, a["tokens"][flat])
        durations = np.where(pad, 0, a["durations"][flat])
        return {
            "pose": torch.from_numpy(np.ascontiguousarray(pose, dtype=np.float32)),
            "audio": torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
            "tokens": torch.from_numpy(tokens.astype(np.int64)),
            "durations": torch.from_numpy(durations.astype(np.int64)),
            "n_tokens": torch.from_numpy(n_tokens.astype(np.int64)),
            "pose_cluster": torch.from_numpy(a["pose_cluster"][ids].astype(np.int64)),
            "gesture": torch.from_numpy(a["gesture"][ids].astype(np.int64)),
            "phrase": torch.from_numpy(a["phrase"][ids].astype(np.int64)),
            "index": torch.from_numpy(pos),
            "start": torch.from_numpy(a["start"][ids].astype(np.int64)),
            "interval": torch.from_numpy(a["interval"][ids].astype(np.int64)),
        }


def collate_windows(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack single windows (``ws[i]``) into a batch; sub-words are padded with id 0, duration 0."""
    if not items:
        raise ValueError("cannot collate an empty list of windows")
    n_tokens = torch.tensor([len(it["tokens"]) for it in items], dtype=torch.int64)
    width = max(int(n_tokens.max()), 1)
    tokens = torch.zeros(len(items), width, dtype=torch.int64)
    durations = torch.zeros(len(items), width, dtype=torch.int64)
    for i, it in enumerate(items):
        tokens[i, :len(it["tokens"])] = it["tokens"]
        durations[i, :len(it["durations"])] = it["durations"]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0] if k not in ("tokens", "durations")}
    batch.update(tokens=tokens, durations=durations, n_tokens=n_tokens)
    return batch


def _already_collated(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return batch


def make_loader(ws: WindowSet, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False,
                num_workers: int = 0, sampler: Sampler | None = None) -> DataLoader:
    """A DataLoader of collated batches; the order depends only on ``seed`` (and the epoch count), or on
    ``sampler`` when one is given (a rank's ``DistributedSampler``, :mod:`ccnce.distributed`).

    Each batch is gathered in one vectorised read (``ws[list_of_positions]``) rather than window by
    window; the result equals ``collate_windows([ws[i] for i in positions])``.
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    base = RandomSampler(ws, generator=generator) if shuffle else SequentialSampler(ws)
    if sampler is not None:
        base = sampler
    return DataLoader(ws, sampler=BatchSampler(base, batch_size, drop_last), batch_size=None,
                      collate_fn=_already_collated, num_workers=num_workers)


def training_loader(ws: WindowSet, cfg: Config, epoch: int) -> DataLoader:
    """The batches of training epoch ``epoch`` (0-based), in the order training sees them (the clustering
    replay of :mod:`ccnce.study` iterates the same). Under torchrun: this rank's share of every global
    batch (:func:`ccnce.distributed.train_sampler`)."""
    if distributed.active():
        return make_loader(ws, distributed.local_batch_size(cfg.batch_size), shuffle=True, drop_last=True,
                           sampler=distributed.train_sampler(ws, cfg.seed * 100_003, epoch))
    return make_loader(ws, cfg.batch_size, shuffle=True, seed=cfg.seed * 100_003 + epoch, drop_last=True)


# ------------------------------------------------------------------------------------------ speakers
@dataclass
class SpeakerData:
    """The windows of one speaker's official splits, with what the models need to read them."""

    speaker: str
    train: WindowSet
    dev: WindowSet
    test: WindowSet
    stats: ZStats
    clusterer: PoseClusterer
    report: LoadReport
    cache_dir: Path

    @property
    def n_mels(self) -> int:
        return self.train.n_mels


def _resolve_root(cfg: Config, root: str | Path | None) -> Path:
    if root is None:
        root = cfg.data_root
    if root is None:
        raise ConfigError("no data root: pass root= or set data_root (e.g. a folder written by `ccnce synth`)")
    return Path(root)


def _open_set(folder: Path, stats: ZStats, name: str) -> tuple[WindowSet, list[dict], list[dict]]:
    report, skipped, notes, ids = split_folder_report(folder)
    return WindowSet(open_split(folder), stats, ids, name=name, folder=folder, report=report), skipped, notes


def load_speaker(cfg: Config, root: str | Path | None = None, progress: bool = True,
                 cache_dir: str | Path | None = None) -> SpeakerData:
    """Windows of ``cfg.speaker`` under ``root`` (default ``cfg.data_root``), from the window cache.

    The cache entry is built on first use (reading, validating and windowing every interval, then
    z-normalisation statistics and pose clusters from the training windows) and reused while the source
    files and the data fields of ``cfg`` are unchanged. ``cfg.max_train_windows`` keeps a subsample of
    the training windows drawn with :data:`SUBSAMPLE_SEED`; statistics and clusters always use all of them.
    Unusable intervals are skipped (``cfg.strict``: raise) and listed in ``report``.
    """
    entry = ensure_entry(cfg, _resolve_root(cfg, root), cache_dir=cache_dir, progress=progress)
    stats, clusterer = entry.stats(), entry.clusterer()
    sets, reports, skipped, notes = {}, {}, [], []
    for split in SPLITS:
        sets[split], split_skipped, split_notes = _open_set(entry.path / split, stats, split)
        reports[split] = sets[split].report
        skipped += split_skipped
        notes += split_notes
    report = LoadReport(cfg.speaker, reports, skipped, notes, cache_dir=str(entry.path), built=entry.built)
    if entry.built and skipped:
        log.warning("%s (details: SpeakerData.report.skipped)", report.summary())
    train = sets["train"]
    if cfg.max_train_windows is not None and cfg.max_train_windows < len(train):
        rng = np.random.default_rng(SUBSAMPLE_SEED)
        keep = np.sort(rng.choice(len(train), size=cfg.max_train_windows, replace=False))
        log.info("%s: training on %d of %d windows (max_train_windows)", cfg.speaker, len(keep), len(train))
        train = train.subset(keep)
    return SpeakerData(cfg.speaker, train, sets["dev"], sets["test"], stats, clusterer, report, entry.path)


def load_full_intervals(cfg: Config, root: str | Path | None = None, split: str = "test",
                        progress: bool = True, cache_dir: str | Path | None = None,
                        data: SpeakerData | None = None) -> WindowSet:
    """Non-overlapping windows (hop = window) over each whole interval of ``split``, for evaluation.

    Windows start at 0, W, 2W, ... of each interval; frames after the last whole window are not covered,
    and a window over bad pose frames is dropped (so check ``starts`` before concatenating:
    :meth:`WindowSet.interval_windows` gives each interval's windows in order). Normalisation statistics
    and pose clusters are those of the training split: of ``data`` when given (its cache entry is reused,
    no new look at the source files), else of the entry :func:`load_speaker` would use.
    """
    root = _resolve_root(cfg, root)
    if data is not None:
        if data.speaker != cfg.speaker or not data.cache_dir.name.startswith(f"{cfg.data_hash()}-"):
            raise ConfigError(f"data was loaded for speaker {data.speaker!r} with other data settings than cfg "
                              f"(speaker {cfg.speaker!r}); load it with the same config")
        entry = CacheEntry(data.cache_dir, built=False)
    else:
        entry = ensure_entry(cfg, root, cache_dir=cache_dir, progress=progress)
    folder = ensure_full_split(entry, cfg, root, split, progress=progress)
    ws, _, _ = _open_set(folder, entry.stats(), f"{split}_full")
    return ws

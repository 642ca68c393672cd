"""The window cache: a speaker's windows as contiguous ``.npy`` arrays, built once, memory-mapped after.

Layout under the cache root (``$CCNCE_CACHE_DIR``, else ``~/.cache/ccnce``)::

    windows/<speaker>/<cfg.data_hash()>-<source fingerprint>/
        manifest.json              what was built from what (config fields, fingerprint, build id)
        stats.npz                  z-normalisation statistics of the training windows
        pose_clusters.npz          k-means centres (PoseClusterer)
        train/ dev/ test/          one folder per split (windows every cfg.hop frames)
        test_full/ ...             non-overlapping windows of whole intervals, built on first request

A split folder holds ``pose`` (N, W, 96) and ``audio`` (N, W, n_mels) float32 (raw, not normalised),
``pose_cluster``/``gesture``/``phrase`` (N, W), ``start`` and ``interval`` (N,), and the ragged sub-words
as flat ``tokens``/``durations`` with ``token_offsets`` (N + 1,), plus ``split.json`` (interval ids, the
split's report). The source fingerprint hashes the speaker's rows of the CSV, its entries in
``missing_intervals.h5`` and every interval file's size and modification time, so editing, touching,
adding or removing a file, or changing a data field of the config, selects a new entry (and the stale
one is removed). Entries are written to a temporary folder and renamed into place: a reader never sees
a half-written entry, and of two concurrent builders the second discards its copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ccnce.config import Config
from ccnce.data import align
from ccnce.data.normalize import RunningMoments, ZStats
from ccnce.data.pats import LISTED_MISSING, SPLITS, IntervalError, PatsRoot
from ccnce.data.poseclusters import PoseClusterer
from ccnce.data.skeleton import POSE_DIM
from ccnce.data.windows import Windows, interval_windows
from ccnce.errors import DataError

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the layout or the windowing changes meaning
_COPY_ROWS = 2048

ARRAY_NAMES: tuple[str, ...] = ("pose", "audio", "pose_cluster", "gesture", "phrase", "start", "interval",
                                "tokens", "durations", "token_offsets")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir`` if given, else ``$CCNCE_CACHE_DIR``, else ``~/.cache/ccnce``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("CCNCE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "ccnce"


# ------------------------------------------------------------------------------------------ report
@dataclass
class SplitReport:
    """What one split of one speaker yielded."""

    intervals: int = 0  # listed in the CSV
    used: int = 0  # read and validated
    windows: int = 0
    short: int = 0  # used, but shorter than one window: no window
    trimmed: int = 0  # used after trimming modalities to a common length
    dropped_windows: dict[str, int] = field(default_factory=dict)  # reason -> count


@dataclass
class LoadReport:
    """Per split counts, skipped intervals with reasons, and what was done to the data."""

    speaker: str
    splits: dict[str, SplitReport]
    skipped: list[dict[str, str]]  # {"split", "interval_id", "category", "reason"}
    notes: list[dict[str, str]]  # {"split", "interval_id", "note"}: trims, bad frames
    cache_dir: str = ""
    built: bool = False  # True when this load built the cache entry

    @property
    def counts(self) -> dict[str, int]:
        """Skipped intervals per reason category."""
        return dict(Counter(s["category"] for s in self.skipped))

    def summary(self) -> str:
        parts = [f"{split} {r.windows} windows from {r.used}/{r.intervals} intervals"
                 for split, r in self.splits.items()]
        line = f"{self.speaker}: " + "; ".join(parts)
        if self.skipped:
            line += "; skipped " + ", ".join(f"{n} {c}" for c, n in sorted(self.counts.items()))
        return line

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["counts"] = self.counts
        return d


def _split_report_dict(split: str, report: SplitReport, skipped: list, notes: list, ids: list[str]) -> dict:
    return {"split": split, "intervals": ids, "report": asdict(report), "skipped": skipped, "notes": notes}


# ------------------------------------------------------------------------------------------ fingerprint
def source_fingerprint(pats: PatsRoot, speaker: str) -> str:
    """Hash of everything of ``speaker`` the windows are built from (see the module docstring)."""
    h = hashlib.sha256(f"ccnce-window-cache-{CACHE_FORMAT}\n".encode())
    rows = pats.table[pats.table["speaker"] == speaker]
    h.update(rows.to_csv(index=False).encode())
    ids = rows["interval_id"].str.strip()
    h.update("\n".join(sorted(set(ids) & pats.missing)).encode())
    for interval_id in ids:
        try:
            st = pats.path(speaker, interval_id).stat()
            h.update(f"{interval_id}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{interval_id}:absent\n".encode())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ arrays
class _Appender:
    """Appends rows to a raw file, then writes them as one contiguous ``.npy`` (the row count is unknown
    until the end, and the whole split need not fit in memory)."""

    def __init__(self, path: Path, dtype: np.dtype | type, tail: tuple[int, ...]) -> None:
        self.path, self.dtype, self.tail = path, np.dtype(dtype), tail
        self.part = path.with_name(path.name + ".part")
        self.file = open(self.part, "wb")
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.tail:
            raise ValueError(f"{self.path.name}: rows of shape {rows.shape[1:]}, expected {self.tail}")
        self.file.write(rows.tobytes())
        self.n += len(rows)

    def close(self) -> None:
        self.file.close()
        if self.n == 0:
            np.save(self.path, np.zeros((0, *self.tail), dtype=self.dtype))
        else:
            src = np.memmap(self.part, dtype=self.dtype, mode="r", shape=(self.n, *self.tail))
            out = np.lib.format.open_memmap(self.path, mode="w+", dtype=self.dtype, shape=(self.n, *self.tail))
            for lo in range(0, self.n, _COPY_ROWS):
                out[lo:lo + _COPY_ROWS] = src[lo:lo + _COPY_ROWS]
            out.flush()
            del src, out
        self.part.unlink()


class _SplitWriter:
    """Streams the windows of one split into its folder."""

    def __init__(self, folder: Path, window: int, n_mels: int) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.arrays = {
            "pose": _Appender(folder / "pose.npy", np.float32, (window, POSE_DIM)),
            "audio": _Appender(folder / "audio.npy", np.float32, (window, n_mels)),
            "gesture": _Appender(folder / "gesture.npy", np.int32, (window,)),
            "phrase": _Appender(folder / "phrase.npy", np.int32, (window,)),
            "start": _Appender(folder / "start.npy", np.int32, ()),
            "interval": _Appender(folder / "interval.npy", np.int32, ()),
            "tokens": _Appender(folder / "tokens.npy", np.int32, ()),
            "durations": _Appender(folder / "durations.npy", np.int32, ()),
        }
        self.n_tokens: list[np.ndarray] = []

    def add(self, windows: Windows, interval_index: int) -> None:
        a = self.arrays
        a["pose"].append(windows.pose)
        a["audio"].append(windows.audio)
        a["gesture"].append(windows.ground_truth["gesture"])
        a["phrase"].append(windows.ground_truth["phrase"])
        a["start"].append(windows.starts)
        a["interval"].append(np.full(len(windows), interval_index))
        a["tokens"].append(windows.tokens)
        a["durations"].append(windows.durations)
        self.n_tokens.append(windows.n_tokens)

    def close(self) -> int:
        for appender in self.arrays.values():
            appender.close()
        counts = np.concatenate(self.n_tokens) if self.n_tokens else np.zeros(0, dtype=np.int64)
        np.save(self.folder / "token_offsets.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        return len(counts)


def open_split(folder: Path) -> dict[str, np.ndarray]:
    """The arrays of one split folder, memory-mapped read-only."""
    try:
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAY_NAMES}
    except (OSError, ValueError) as e:
        raise DataError(f"{folder}: window cache unreadable ({e}); delete the folder to rebuild it") from e


def read_split_info(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "split.json").read_text())


# ------------------------------------------------------------------------------------------ building
def _write_split(pats: PatsRoot, speaker: str, cfg: Config, split: str, hop: int, folder: Path,
                 bar: tqdm, moments: tuple[RunningMoments, RunningMoments] | None) -> dict[str, Any]:
    """Read, validate and window every interval of a split into ``folder``; return its split info."""
    ids = pats.intervals(speaker, split)
    report = SplitReport(intervals=len(ids))
    skipped, notes, used_ids = [], [], []
    writer = _SplitWriter(folder, cfg.window, align.N_MELS[cfg.audio_key])
    for interval_id in ids:
        bar.update(1)
        try:
            interval = pats.read(speaker, interval_id, cfg.pose_key, cfg.audio_key)
        except IntervalError as e:
            if cfg.strict and e.category != LISTED_MISSING:
                raise IntervalError(f"{e} (strict mode; set strict=False to skip such intervals)",
                                    e.category) from e
            log.info("skipping interval %s: %s", interval_id, e)
            skipped.append({"split": split, "interval_id": interval_id, "category": e.category, "reason": str(e)})
            continue
        windows = interval_windows(interval, cfg.window, hop, cfg.audio_key, cfg.audio_alignment)
        report.used += 1
        report.trimmed += any(n.startswith("trimmed") for n in interval.notes)
        report.short += interval.n_frames < cfg.window
        for reason, n in windows.dropped.items():
            report.dropped_windows[reason] = report.dropped_windows.get(reason, 0) + n
        notes.extend({"split": split, "interval_id": interval_id, "note": n} for n in interval.notes)
        if moments is not None:
            moments[0].update(windows.pose)
            moments[1].update(windows.audio)
        writer.add(windows, len(used_ids))
        used_ids.append(interval_id)
    report.windows = writer.close()
    info = _split_report_dict(split, report, skipped, notes, used_ids)
    (folder / "split.json").write_text(json.dumps(info, indent=1))
    return info


def _label_split(folder: Path, stats: ZStats, clusterer: PoseClusterer) -> None:
    pose = np.load(folder / "pose.npy", mmap_mode="r")
    if len(pose) == 0:
        np.save(folder / "pose_cluster.npy", np.zeros(pose.shape[:2], dtype=np.int16))
        return
    labels = np.lib.format.open_memmap(folder / "pose_cluster.npy", mode="w+", dtype=np.int16,
                                       shape=pose.shape[:2])
    for lo in range(0, len(pose), _COPY_ROWS):
        labels[lo:lo + _COPY_ROWS] = clusterer.label(stats.normalize_pose(pose[lo:lo + _COPY_ROWS]))
    labels.flush()


def _publish(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; if someone else published first, keep theirs."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.exists():
            raise
        log.info("%s was built concurrently; using that copy", final)
        shutil.rmtree(tmp, ignore_errors=True)


def _build_entry(pats: PatsRoot, speaker: str, cfg: Config, final: Path, progress: bool) -> None:
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        n_total = sum(len(pats.intervals(speaker, s)) for s in SPLITS)
        moments = (RunningMoments(POSE_DIM), RunningMoments(align.N_MELS[cfg.audio_key]))
        infos = {}
        with tqdm(total=n_total, desc=f"caching {speaker} windows", unit="interval", disable=not progress) as bar:
            for split in SPLITS:
                infos[split] = _write_split(pats, speaker, cfg, split, cfg.hop, tmp / split, bar,
                                            moments if split == "train" else None)
        if infos["train"]["report"]["windows"] == 0:
            r = infos["train"]["report"]
            raise DataError(f"{pats.root}: speaker {speaker!r} has no training windows "
                            f"({r['used']}/{r['intervals']} train intervals usable, {r['short']} shorter than "
                            f"{cfg.window} frames); cannot compute normalisation statistics")
        stats = ZStats.from_moments(*moments)
        stats.save(tmp / "stats.npz")
        train_pose = np.load(tmp / "train" / "pose.npy", mmap_mode="r")
        clusterer = PoseClusterer.fit(train_pose, cfg.n_pose_clusters, transform=stats.normalize_pose)
        clusterer.save(tmp / "pose_clusters.npz")
        for split in SPLITS:
            _label_split(tmp / split, stats, clusterer)
        manifest = {"format": CACHE_FORMAT, "speaker": speaker, "root": str(pats.root),
                    "data_hash": cfg.data_hash(),
                    "build_id": uuid.uuid4().hex, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, final)


@dataclass
class CacheEntry:
    """One built entry: its folder and whether this call built it."""

    path: Path
    built: bool

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / "manifest.json").read_text())

    def stats(self) -> ZStats:
        return ZStats.load(self.path / "stats.npz")

    def clusterer(self) -> PoseClusterer:
        return PoseClusterer.load(self.path / "pose_clusters.npz")


def _valid(entry: Path) -> bool:
    try:
        return json.loads((entry / "manifest.json").read_text()).get("format") == CACHE_FORMAT
    except (OSError, ValueError):
        return False


def ensure_entry(cfg: Config, root: str | Path, cache_dir: str | Path | None = None,
                 progress: bool = True) -> CacheEntry:
    """The cache entry of ``cfg.speaker`` under ``root``, built if absent or stale."""
    pats = PatsRoot(root)
    pats.check_speaker(cfg.speaker)
    fingerprint = source_fingerprint(pats, cfg.speaker)
    speaker_dir = cache_root(cache_dir) / "windows" / cfg.speaker
    final = speaker_dir / f"{cfg.data_hash()}-{fingerprint}"
    if _valid(final):
        return CacheEntry(final, built=False)
    if final.exists():
        log.warning("%s: incomplete or outdated cache entry; rebuilding", final)
        shutil.rmtree(final)
    speaker_dir.mkdir(parents=True, exist_ok=True)
    log.info("building the window cache of %s in %s", cfg.speaker, final)
    _build_entry(pats, cfg.speaker, cfg, final, progress)
    for stale in speaker_dir.glob(f"{cfg.data_hash()}-*"):
        if stale != final and not stale.name.startswith(".tmp-"):
            log.info("removing stale cache entry %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    return CacheEntry(final, built=True)


def ensure_full_split(entry: CacheEntry, cfg: Config, root: str | Path, split: str,
                      progress: bool = True) -> Path:
    """``<entry>/<split>_full``: non-overlapping windows (hop = window) of every interval of ``split``."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    final = entry.path / f"{split}_full"
    if (final / "split.json").exists():
        return final
    pats = PatsRoot(root)
    tmp = entry.path / f".tmp-{split}_full-{uuid.uuid4().hex[:8]}"
    try:
        n = len(pats.intervals(cfg.speaker, split))
        with tqdm(total=n, desc=f"caching {cfg.speaker} full {split} intervals", unit="interval",
                  disable=not progress) as bar:
            _write_split(pats, cfg.speaker, cfg, split, cfg.window, tmp, bar, None)
        _label_split(tmp, entry.stats(), entry.clusterer())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, final)
    return final


def split_folder_report(folder: Path) -> tuple[SplitReport, list[dict], list[dict], list[str]]:
    """(report, skipped, notes, interval ids) of a split folder."""
    info = read_split_info(folder)
    return SplitReport(**info["report"]), info["skipped"], info["notes"], info["intervals"]

"""``ccnce inspect``: what an interval file or a PATS-layout root contains, and what the reader makes of it.

The summary is computed with the same reader and windowing as training (:mod:`ccnce.data.pats`,
:mod:`ccnce.data.windows`, default :class:`~ccnce.config.Config` data fields unless one is given), so
"windows" here is what :func:`ccnce.data.dataset.load_speaker` will produce. Input that cannot be
inspected at all (no such path, not HDF5, truncated, a required key missing, an unknown speaker) raises
:class:`~ccnce.errors.DataError` naming the file (and key); problems of a readable file are reported.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm.auto import tqdm

from ccnce.config import Config
from ccnce.data import align
from ccnce.data.pats import (
    CSV_NAME,
    SPLITS,
    IntervalError,
    PatsRoot,
    read_interval,
    read_meta,
)
from ccnce.data.windows import valid_starts
from ccnce.errors import DataError

#: Keys of a PATS interval file (PATS.md); the reader needs only some of them.
PATS_KEYS: tuple[str, ...] = ("pose/data", "pose/normalize", "pose/confidence", "audio/log_mel_400",
                              "audio/log_mel_512", "audio/silence", "text/tokens", "text/bert", "text/w2v",
                              "text/meta")
#: Problems that make a single file uninspectable (raised); other categories are reported.
_FATAL = ("absent", "unreadable", "missing key")


def inspect_path(path: str | Path, speaker: str | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Summary of an interval ``.h5`` file or a PATS-layout root (see :func:`format_summary`)."""
    path = Path(path)
    cfg = cfg or Config()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return inspect_root(path, speaker, cfg)
    return inspect_interval(path, cfg)


# ------------------------------------------------------------------------------------------ one file
def _list_keys(path: Path) -> dict[str, dict[str, Any]]:
    keys: dict[str, dict[str, Any]] = {}

    def visit(name: str, obj: object) -> None:
        if name.startswith("text/meta/"):
            return  # the pandas frame's own storage
        if isinstance(obj, h5py.Dataset):
            keys[name] = {"shape": list(obj.shape), "dtype": str(obj.dtype)}

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
            if "text/meta" in f:
                keys["text/meta"] = {"shape": None, "dtype": "pandas frame"}
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise DataError(f"{path}: not a readable HDF5 file (corrupt, truncated or another format: {' '.join(str(e).split())})") from e
    return keys


def inspect_interval(path: Path, cfg: Config) -> dict[str, Any]:
    """Keys, lengths, words, windows and problems of one interval file."""
    keys = _list_keys(path)
    problems: list[str] = []
    notes: list[str] = []
    words = 0
    if "text/meta" in keys:
        meta = read_meta(path)
        words = len(meta)
        keys["text/meta"]["shape"] = list(meta.shape)
        frames_meta = int(np.nanmax(meta["end_frame"].to_numpy(dtype=float), initial=0))
    frames = {k: v["shape"][0] for k, v in keys.items() if k != "text/meta" and v["shape"]}
    if "text/meta" in keys:
        frames["text/meta"] = frames_meta
    for key in PATS_KEYS:
        if key not in keys:
            problems.append(f"missing key {key!r}")
    windows = 0
    duration = None
    try:
        interval = read_interval(path, cfg.pose_key, cfg.audio_key)
    except IntervalError as e:
        if e.category in _FATAL:
            raise
        problems.append(str(e).removeprefix(f"{path}: "))
    else:
        starts, dropped = valid_starts(interval, cfg.window, cfg.hop, cfg.audio_key, cfg.audio_alignment)
        windows = len(starts)
        duration = interval.n_frames / align.POSE_FPS
        problems.extend(interval.notes)
        problems.extend(f"{n} windows dropped: {reason}" for reason, n in dropped.items())
        if interval.n_frames < cfg.window:
            problems.append(f"shorter than one window ({interval.n_frames} < {cfg.window} frames): no window")
        if interval.n_zero_length_words:
            notes.append(f"{interval.n_zero_length_words} zero-length words (no frames; nothing to emit)")
    return {"kind": "interval", "path": str(path), "keys": keys, "frames": frames,
            "seconds": _seconds(frames, keys), "duration_s": duration, "words": words, "windows": windows,
            "window": cfg.window, "hop": cfg.hop, "problems": problems, "notes": notes}


def _seconds(frames: dict[str, int], keys: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each modality's length in seconds at its nominal rate (audio: the true rate)."""
    n_pose = frames.get("pose/data", frames.get("pose/normalize", 0))
    out = {}
    for key, n in frames.items():
        if key in align.AUDIO_HOP:
            out[key] = n / align.true_audio_rate(key, n, n_pose)
        elif key.startswith(("pose/", "text/", "synth/")):  # not audio/silence: ~2x too long in PATS
            out[key] = n / align.POSE_FPS
    return {k: round(v, 3) for k, v in out.items()}


# ------------------------------------------------------------------------------------------ a root
def inspect_root(path: Path, speaker: str | None, cfg: Config, progress: bool | None = None
                 ) -> dict[str, Any]:
    """Speakers, intervals and windows per split, skipped intervals with reasons.

    ``frames`` sums, over the usable intervals, each modality's length in pose frames as read (audio: the
    pose frames it covers), before trimming to the common length.
    """
    pats = PatsRoot(path)
    if speaker is not None:
        pats.check_speaker(speaker)
    speakers = [speaker] if speaker else pats.speakers
    splits: dict[str, dict[str, dict[str, int]]] = {}
    skipped: list[dict[str, str]] = []
    problems: list[str] = []
    frames: Counter[str] = Counter()
    words = windows = 0
    todo = [(s, split, i) for s in speakers for split in SPLITS for i in pats.intervals(s, split)]
    for s in speakers:
        splits[s] = {split: {"intervals": len(pats.intervals(s, split)), "used": 0, "windows": 0}
                     for split in SPLITS}
    # progress=None: a bar on a terminal only (tqdm's rule), so logs and tests stay clean.
    bar = tqdm(todo, desc="inspecting", unit="interval", disable=None if progress is None else not progress)
    for s, split, interval_id in bar:
        try:
            interval = pats.read(s, interval_id, cfg.pose_key, cfg.audio_key)
        except IntervalError as e:
            skipped.append({"speaker": s, "split": split, "interval_id": interval_id,
                            "category": e.category, "reason": str(e)})
            continue
        starts, dropped = valid_starts(interval, cfg.window, cfg.hop, cfg.audio_key, cfg.audio_alignment)
        counts = splits[s][split]
        counts["used"] += 1
        counts["windows"] += len(starts)
        windows += len(starts)
        words += interval.n_words
        frames.update(interval.lengths)
        where = f"{s}/{split}/{interval_id}"
        problems.extend(f"{where}: {note}" for note in interval.notes)
        problems.extend(f"{where}: {n} windows dropped ({reason})" for reason, n in dropped.items())
    problems = [f"{d['speaker']}/{d['split']}/{d['interval_id']}: skipped, {d['category']}" for d in skipped
                ] + problems
    return {"kind": "root", "path": str(path), "csv": str(path / CSV_NAME), "speakers": speakers,
            "splits": splits, "skipped": skipped, "skipped_counts": dict(Counter(d["category"] for d in skipped)),
            "frames": dict(frames), "words": words, "windows": windows, "window": cfg.window, "hop": cfg.hop,
            "problems": problems}


# ------------------------------------------------------------------------------------------ text
def format_summary(summary: dict[str, Any], max_lines: int = 20) -> str:
    """The human-readable form of :func:`inspect_path`'s result."""
    if summary["kind"] == "interval":
        return _format_interval(summary)
    return _format_root(summary, max_lines)


def _format_interval(s: dict[str, Any]) -> str:
    lines = [f"{s['path']}  (PATS interval file)", "keys:"]
    for key, info in sorted(s["keys"].items()):
        shape = "?" if info["shape"] is None else "(" + ", ".join(map(str, info["shape"])) + ")"
        lines.append(f"  {key:<20} {shape:<14} {info['dtype']}")
    lines.append("frames:")
    for key, n in sorted(s["frames"].items()):
        sec = s["seconds"].get(key)
        lines.append(f"  {key:<20} {n:>7}" + (f"  ({sec:.2f} s)" if sec is not None else ""))
    if s["duration_s"] is not None:
        lines.append(f"duration: {s['duration_s']:.2f} s (common to all modalities)")
    lines.append(f"words: {s['words']}")
    lines.append(f"windows: {s['windows']} (window {s['window']}, hop {s['hop']})")
    lines += _list("problems", s["problems"], 50) + _list("notes", s["notes"], 50)
    return "\n".join(lines)


def _format_root(s: dict[str, Any], max_lines: int) -> str:
    lines = [f"{s['path']}  (PATS-layout root, {len(s['speakers'])} speaker(s))",
             f"{'speaker':<14}{'split':<7}{'intervals':>10}{'used':>7}{'windows':>9}"]
    for speaker, splits in s["splits"].items():
        for split, c in splits.items():
            lines.append(f"{speaker:<14}{split:<7}{c['intervals']:>10}{c['used']:>7}{c['windows']:>9}")
    lines.append(f"total: {s['windows']} windows (window {s['window']}, hop {s['hop']}), {s['words']} words")
    if s["skipped"]:
        counts = ", ".join(f"{n} {c}" for c, n in sorted(s["skipped_counts"].items()))
        lines.append(f"skipped intervals: {len(s['skipped'])} ({counts})")
        lines += [f"  {d['reason']}" for d in s["skipped"][:max_lines]]
        if len(s["skipped"]) > max_lines:
            lines.append(f"  ... and {len(s['skipped']) - max_lines} more (--json lists all)")
    others = [p for p in s["problems"] if ": skipped, " not in p]
    lines += _list("problems", others, max_lines)
    return "\n".join(lines)


def _list(title: str, items: list[str], max_lines: int) -> list[str]:
    if not items:
        return [f"{title}: none"] if title == "problems" else []
    out = [f"{title}:"] + [f"  {p}" for p in items[:max_lines]]
    if len(items) > max_lines:
        out.append(f"  ... and {len(items) - max_lines} more (--json lists all)")
    return out


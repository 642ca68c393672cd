"""``ccnce synth``: the embedded default dataset, synthetic and in exact PATS layout (SYNTHETIC.md).

Five speakers styled from real PATS statistics say scripted English through eSpeak; key phrases from
many semantically unrelated phrase families trigger parametric gestures (many phrases → one gesture),
filler speech goes with rest, beats or unexplained gestures, and an OpenPose-like detector adds jitter,
drop-outs and collapsed shoulders. Ground truth is stored next to the PATS keys under ``synth/``.

One module per concept: :mod:`.lexicon` (gestures, phrase families, fillers), :mod:`.script` (what is said
and where gestures go), :mod:`.speech` (eSpeak), :mod:`.motion` (gesture trajectories), :mod:`.body`
(kinematics), :mod:`.detector` (OpenPose noise), :mod:`.speakers` (style), :mod:`.audio` and :mod:`.text`
(PATS features), :mod:`.interval` (one interval), :mod:`.writer` (the layout).

Determinism: the same seed and :data:`GENERATOR_VERSION` give byte-identical arrays whatever the number of
workers, because each speaker is generated in its own fresh process, in a fixed order.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import queue
import shutil
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ccnce.config import SPEAKERS
from ccnce.errors import CcnceError, DataError

log = logging.getLogger(__name__)

GENERATOR_VERSION = "2"
"""Bumped when the same seed would give other data. 2: the default size holds 66 test and 24 dev intervals
per speaker (was 12 and 12), for a test set of over 100 non-overlapping windows per speaker."""
MARKER_NAME = "ccnce_synth.json"
WINDOW, HOP = 64, 5


@dataclass(frozen=True)
class Size:
    intervals: int  # per speaker
    short: int  # of which deliberately shorter than one window
    median_s: float  # spoken length of an interval: log-normal median ...
    spread: float  # ... and log-spread,
    range_s: tuple[float, float]  # clipped to this range
    dev: int  # intervals of at least one window in the dev split ...
    test: int  # ... and in the test split (short intervals are split at random on top)


# The default's train split (90 intervals of at least one window, ~2,000 windows at hop 5) is the size the
# `cpu` profile trains on in minutes. Its dev and test splits are larger than PATS's ~10 % each: with
# 12 test intervals a speaker had only ~25 non-overlapping test windows (FID a 96-d Gaussian fit on ~1,600
# frames), so the default keeps 66 test intervals (over 100 windows for every speaker, after colbert's
# collapsed-shoulder frames are dropped) and 24 dev intervals for model selection.
SIZES: dict[str, Size] = {
    "small": Size(intervals=8, short=1, median_s=10.0, spread=0.2, range_s=(8.0, 13.0), dev=1, test=1),
    "default": Size(intervals=186, short=6, median_s=10.5, spread=0.4, range_s=(5.0, 24.0), dev=24, test=66),
}


def _interval_id(speaker_index: int, k: int) -> str:
    """Both PATS id styles: mostly ``cmu`` + 10 digits, every fourth one numeric."""
    if k % 4 == 3:
        return str(100000 + 10000 * speaker_index + k)
    return f"cmu{(speaker_index + 1) * 10 ** 8 + k:010d}"


@dataclass(frozen=True)
class SpeakerPlan:
    speaker: str
    intervals: list  # [IntervalPlan]
    splits: list[str]
    videos: list[int]
    gaps: list[float]  # seconds between the previous interval of the video (or its start) and this one


def plan_speaker(speaker: str, size: str, seed: int) -> SpeakerPlan:
    """Everything about a speaker's intervals that is decided before synthesis (ids, lengths, splits)."""
    from ccnce.data.synth.interval import IntervalPlan

    spec = SIZES[size]
    s_idx = SPEAKERS.index(speaker)
    rng = np.random.default_rng([seed, s_idx, 0])
    n = spec.intervals
    short = np.zeros(n, dtype=bool)
    short[rng.choice(n, size=spec.short, replace=False)] = True
    seconds = np.clip(spec.median_s * np.exp(spec.spread * rng.normal(size=n)), *spec.range_s)
    seconds[short] = rng.uniform(1.5, 3.0, short.sum())
    plans = [IntervalPlan(speaker, k, _interval_id(s_idx, k), float(seconds[k]), bool(short[k]),
                          (seed, s_idx, 1, k)) for k in range(n)]
    splits = ["train"] * n
    long_idx = rng.permutation(np.flatnonzero(~short))
    n_dev, n_test = spec.dev, spec.test
    for k in long_idx[:n_dev]:
        splits[k] = "dev"
    for k in long_idx[n_dev:n_dev + n_test]:
        splits[k] = "test"
    for k in np.flatnonzero(short):
        splits[k] = str(rng.choice(["train", "dev", "test"], p=[0.8, 0.1, 0.1]))
    videos, gaps, video, left = [], [], 0, int(rng.integers(6, 13))
    for k in range(n):
        first = k == 0 or left == 0
        if left == 0:
            video, left = video + 1, int(rng.integers(6, 13))
        videos.append(video)
        gaps.append(float(rng.uniform(10.0, 60.0) if first else rng.uniform(0.5, 20.0)))
        left -= 1
    return SpeakerPlan(speaker, plans, splits, videos, gaps)


@lru_cache(maxsize=1)
def _vocabulary_ids() -> dict[str, list[int]]:
    """WordPiece ids of every word the generator can say, with the default encoder's tokenizer."""
    from ccnce.data.synth.lexicon import vocabulary
    from ccnce.models.pretrained import load_tokenizer

    tok = load_tokenizer()
    return {w: tok.convert_tokens_to_ids(tok.tokenize(w)) for w in vocabulary()}


def _run_speaker(*args) -> None:
    """Process target; imports the worker only in the child (the parent needs no librosa)."""
    from ccnce.data.synth.worker import run_speaker

    run_speaker(*args)


def _run_workers(root: Path, plans: list[SpeakerPlan], vocab: dict[str, list[int]], workers: int,
                 progress: bool) -> dict[str, list[tuple[int, float, int]]]:
    """One fresh process per speaker (forked from a preloaded forkserver), at most ``workers`` at a time."""
    from tqdm import tqdm

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["ccnce.data.synth.worker"])
    messages = ctx.Queue()
    pending = list(plans)
    running: dict[str, mp.process.BaseProcess] = {}
    results: dict[str, list[tuple[int, float, int]]] = {}
    bar = tqdm(total=sum(len(p.intervals) for p in plans), desc="ccnce synth", unit="interval",
               disable=not progress)
    try:
        while pending or running:
            while pending and len(running) < workers:
                plan = pending.pop(0)
                proc = ctx.Process(target=_run_speaker, args=(str(root), plan, vocab, messages),
                                   name=f"ccnce-synth-{plan.speaker}")
                proc.start()
                running[plan.speaker] = proc
            try:
                kind, speaker, payload = messages.get(timeout=5.0)
            except queue.Empty:
                dead = [s for s, p in running.items() if not p.is_alive() and s not in results]
                if dead:
                    raise RuntimeError(f"synthetic-data worker for {dead[0]} died (exit code "
                                       f"{running[dead[0]].exitcode}) without reporting")
                continue
            if kind == "progress":
                bar.update(payload)
            elif kind == "done":
                results[speaker] = payload
                running.pop(speaker).join()
            elif kind == "error":
                raise DataError(f"generating speaker {speaker}: {payload}")
            else:
                raise RuntimeError(f"synthetic-data worker for {speaker} failed:\n{payload}")
    finally:
        bar.close()
        for proc in running.values():
            if proc.is_alive():
                proc.terminate()
            proc.join()
    return results


def _prepare_root(root: Path) -> None:
    """Make ``root`` ready: create it, or clear a previous synth output; never touch foreign folders."""
    marker = root / MARKER_NAME
    if marker.exists():
        try:
            old = json.loads(marker.read_text())
        except json.JSONDecodeError:
            old = {}
        for speaker in old.get("speakers", SPEAKERS):
            shutil.rmtree(root / "processed" / speaker, ignore_errors=True)
        for name in ("cmu_intervals_df.csv", "missing_intervals.h5", MARKER_NAME):
            (root / name).unlink(missing_ok=True)
        if (root / "processed").is_dir() and not any((root / "processed").iterdir()):
            (root / "processed").rmdir()
    if root.exists() and any(root.iterdir()):
        raise CcnceError(f"{root} is not empty and is not a ccnce synth output; choose an empty or new folder")
    root.mkdir(parents=True, exist_ok=True)


def read_marker(root: str | os.PathLike) -> dict | None:
    """The completion marker of a synth output (None: not one, or unreadable)."""
    path = Path(root) / MARKER_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_current(marker: dict | None, speakers: list[str], size: str, seed: int) -> bool:
    """True when a synth output's marker says it is complete and what this generator would write now."""
    return bool(marker) and marker.get("complete") is True and marker.get("generator_version") == GENERATOR_VERSION \
        and marker.get("seed") == seed and marker.get("size") == size and list(marker.get("speakers", [])) == speakers


def generate(out: str | os.PathLike, speakers: list[str] | None = None, size: str = "default", seed: int = 0,
             progress: bool = True, workers: int | None = None) -> dict:
    """Write the synthetic PATS-layout dataset to ``out`` and return a summary.

    Keys: ``root``, ``intervals`` (total), ``seconds`` (wall time), ``speakers`` (per speaker: intervals,
    short intervals, frames, 64-frame windows at hop 5, audio seconds), ``size``, ``seed``,
    ``generator_version``, ``workers``.
    """
    from ccnce.data.synth.writer import IntervalRow, write_table

    t0 = time.perf_counter()
    unknown = [s for s in speakers or [] if s not in SPEAKERS]
    if unknown:
        raise CcnceError(f"unknown synthetic speaker(s) {', '.join(unknown)}; choose from {', '.join(SPEAKERS)}")
    speakers = [s for s in SPEAKERS if not speakers or s in speakers]  # canonical order: the table is too
    if size not in SIZES:
        raise CcnceError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
    if not isinstance(seed, int) or seed < 0:
        raise CcnceError(f"seed must be a non-negative integer, got {seed!r}")
    root = Path(out).expanduser().resolve()
    _prepare_root(root)
    marker = {"generator_version": GENERATOR_VERSION, "seed": seed, "size": size, "speakers": speakers,
              "complete": False}
    (root / MARKER_NAME).write_text(json.dumps(marker, indent=2))

    plans = [plan_speaker(s, size, seed) for s in speakers]
    workers = max(1, min(workers or os.cpu_count() or 1, len(plans)))
    log.info("generating %d synthetic speakers (%s) into %s with %d worker(s)", len(plans), size, root, workers)
    results = _run_workers(root, plans, _vocabulary_ids(), workers, progress)

    rows, summary = [], {}
    for plan in plans:
        done = sorted(results[plan.speaker])
        clock, video = 0.0, -1
        frames = [n for _, _, n in done]
        for (k, seconds, _), split, v, gap, ip in zip(done, plan.splits, plan.videos, plan.gaps, plan.intervals):
            clock = (0.0 if v != video else clock) + gap
            video = v
            rows.append(IntervalRow(plan.speaker, ip.interval_id, split, v, clock, seconds))
            clock += seconds
        summary[plan.speaker] = {
            "intervals": len(done),
            "short_intervals": sum(n < WINDOW for n in frames),
            "frames": int(sum(frames)),
            "windows": int(sum((n - WINDOW) // HOP + 1 for n in frames if n >= WINDOW)),
            "audio_seconds": round(float(sum(s for _, s, _ in done)), 2),
        }
    write_table(root, rows)
    marker.update(complete=True, speaker_summary=summary)
    (root / MARKER_NAME).write_text(json.dumps(marker, indent=2))
    seconds = time.perf_counter() - t0
    return {"root": str(root), "intervals": len(rows), "seconds": seconds, "speakers": summary, "size": size,
            "seed": seed, "generator_version": GENERATOR_VERSION, "workers": workers}


__all__ = ["GENERATOR_VERSION", "MARKER_NAME", "SIZES", "generate", "is_current", "plan_speaker", "read_marker"]

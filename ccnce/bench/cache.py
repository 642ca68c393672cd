"""``ccnce bench cache``: what the window cache costs to build and what it buys when reading.

Writes a PATS-layout root of realistic size (100 intervals of ~10.7 s, i.e. 120-200 pose frames, random
content with every PATS key; ``quick``: 20) in a temporary folder, then measures, side by side in one run:

- building the cache (read + validate + window every interval, statistics, k-means, labels);
- opening a built cache (the cost of every later run);
- windows/s of one training epoch through :func:`~ccnce.data.dataset.make_loader` (batch 32, shuffled),
  right after opening and again warm, and through a plain per-window DataLoader with ``collate_windows``;
- windows/s without a cache: reading and windowing the training interval files every epoch;
- the price of reading ``text/meta`` safely (:mod:`ccnce.data.fixed_frame`, no pickle executed) against
  ``pd.read_hdf`` (which unpickles): the cache build with each (best of two, alternated, into fresh
  folders), and decoding the whole frame, words included, of every file (best of three, alternated).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from ccnce.config import Config
from ccnce.data.dataset import collate_windows, load_speaker, make_loader
from ccnce.data import pats as pats_module
from ccnce.data.pats import PatsRoot, read_meta, write_index, write_interval
from ccnce.data.windows import interval_windows

SPEAKER = "lec_cosmic"
BATCH = 32


def _random_interval(n_frames: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    n400 = 1 + (round(n_frames / 15 * 16000) - 512) // 160
    n512 = 1 + (round(n_frames / 15 * 44100) - 2048) // 512
    pose = rng.normal(0, 80, size=(n_frames, 104)).cumsum(axis=0) * 0.05 + rng.normal(0, 80, size=104)
    starts = np.sort(rng.choice(np.arange(1, n_frames), size=n_frames // 4, replace=False))
    bounds = np.concatenate([[0], starts, [n_frames]])
    tokens = np.repeat(rng.integers(1000, 30000, size=len(bounds) - 1), np.diff(bounds))
    meta = pd.DataFrame({"Word": [f"w{i}" for i in range(len(bounds) - 1)],
                         "start_frame": bounds[:-1].astype(np.float64), "end_frame": bounds[1:].astype(np.float64)})
    datasets = {
        "pose/data": pose, "pose/normalize": pose * 2.0, "pose/confidence": np.full((n_frames, 104), 0.9),
        "audio/log_mel_400": rng.normal(-5, 2, size=(n400, 64)), "audio/log_mel_512": rng.normal(-9, 3, size=(n512, 128)),
        "audio/silence": np.zeros(2 * n_frames, dtype=np.int64), "text/tokens": tokens.astype(np.int64),
        "text/bert": rng.normal(size=(n_frames, 768)).astype(np.float32), "text/w2v": rng.normal(size=(n_frames, 300)),
    }
    return datasets, meta


def write_bench_root(root: Path, n_intervals: int, seed: int = 0) -> None:
    """A PATS-layout root of one speaker: 80 % train, 10 % dev, 10 % test."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_intervals):
        split = "train" if k < 0.8 * n_intervals else ("dev" if k < 0.9 * n_intervals else "test")
        n_frames = int(rng.integers(120, 201))
        datasets, meta = _random_interval(n_frames, rng)
        write_interval(root / "processed" / SPEAKER / f"{100000 + k}.h5", datasets, meta)
        rows.append({"dataset": split, "delta_time": f"{n_frames / 15:.6f}", "end_time": "2019-09-26 00:00:10.0",
                     "interval_id": str(100000 + k), "speaker": SPEAKER, "start_time": "2019-09-26 00:00:00.0",
                     "video_fn": "bench.mp4", "video_link": "https://example.invalid/bench"})
    write_index(root, rows)


def _pandas_meta(path: Path, group: Any, columns: Any = None) -> pd.DataFrame:
    """``text/meta`` as the original PATS loader reads it: ``pd.read_hdf``, which unpickles (unsafe)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = pd.read_hdf(path, key="text/meta")
    return meta if columns is None else meta[list(columns)]


def _meta_costs(cfg: Config, root: Path, tmp: Path) -> dict[str, float]:
    """Cache build and whole-frame decoding, safe reader vs ``pd.read_hdf``, alternated in one run."""
    build = {"safe": [], "pandas": []}
    for k in range(2):
        for name in ("safe", "pandas"):
            with mock.patch.object(pats_module, "_meta", _pandas_meta) if name == "pandas" else contextlib.nullcontext():
                t = time.perf_counter()
                load_speaker(cfg, root, progress=False, cache_dir=tmp / f"cache-{name}-{k}")
                build[name].append(time.perf_counter() - t)
    files = sorted((root / "processed" / SPEAKER).glob("*.h5"))
    decode = {"safe": [], "pandas": []}
    for _ in range(3):
        for name, read in (("safe", read_meta), ("pandas", lambda p: _pandas_meta(p, None))):
            t = time.perf_counter()
            for path in files:
                read(path)
            decode[name].append((time.perf_counter() - t) / len(files))
    return {"meta_build_safe_s": min(build["safe"]), "meta_build_pandas_s": min(build["pandas"]),
            "meta_build_safe_vs_pandas": min(build["safe"]) / min(build["pandas"]),
            "meta_decode_safe_ms": 1000 * min(decode["safe"]), "meta_decode_pandas_ms": 1000 * min(decode["pandas"]),
            "meta_decode_safe_vs_pandas": min(decode["safe"]) / min(decode["pandas"])}


def _epoch(loader: Any) -> tuple[int, float]:
    t = time.perf_counter()
    n = sum(len(batch["index"]) for batch in loader)
    return n, time.perf_counter() - t


def run(quick: bool = False) -> dict[str, Any]:
    n_intervals = 20 if quick else 100
    cfg = Config(speaker=SPEAKER)
    with tempfile.TemporaryDirectory(prefix="ccnce-bench-cache-") as tmp:
        root, cache = Path(tmp) / "root", Path(tmp) / "cache"
        t = time.perf_counter()
        write_bench_root(root, n_intervals)
        write_s = time.perf_counter() - t

        t = time.perf_counter()
        load_speaker(cfg, root, progress=False, cache_dir=cache)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        data = load_speaker(cfg, root, progress=False, cache_dir=cache)
        open_s = time.perf_counter() - t
        n_windows = len(data.train) + len(data.dev) + len(data.test)

        n, first_s = _epoch(make_loader(data.train, BATCH, shuffle=True, seed=0))
        _, warm_s = _epoch(make_loader(data.train, BATCH, shuffle=True, seed=1))
        _, item_s = _epoch(DataLoader(data.train, batch_size=BATCH, shuffle=True, collate_fn=collate_windows))

        pats = PatsRoot(root)
        t = time.perf_counter()
        n_raw = 0
        for interval_id in pats.intervals(SPEAKER, "train"):
            interval = pats.read(SPEAKER, interval_id, cfg.pose_key, cfg.audio_key)
            n_raw += len(interval_windows(interval, cfg.window, cfg.hop, cfg.audio_key, cfg.audio_alignment))
        raw_s = time.perf_counter() - t
        cache_mb = sum(p.stat().st_size for p in data.cache_dir.rglob("*") if p.is_file()) / 2**20
        meta = _meta_costs(cfg, root, Path(tmp))
    return {**meta,
        "intervals": n_intervals, "windows": n_windows, "train_windows": n, "fixture_write_s": write_s,
        "build_s": build_s, "build_intervals_per_s": n_intervals / build_s, "open_s": open_s, "cache_mb": cache_mb,
        "first_epoch_windows_per_s": n / first_s, "warm_epoch_windows_per_s": n / warm_s,
        "per_item_windows_per_s": n / item_s, "no_cache_windows_per_s": n_raw / raw_s,
        "cached_vs_no_cache": (n / warm_s) / (n_raw / raw_s), "batched_vs_per_item": item_s / warm_s,
    }


def format_result(r: dict[str, Any]) -> str:
    rows = [
        ("fixture", f"{r['intervals']} intervals, {r['windows']} windows ({r['train_windows']} train)"),
        ("cache build", f"{r['build_s']:.2f} s ({r['build_intervals_per_s']:.0f} intervals/s, {r['cache_mb']:.1f} MiB)"),
        ("cache open", f"{r['open_s'] * 1000:.1f} ms"),
        ("epoch, just opened", f"{r['first_epoch_windows_per_s']:,.0f} windows/s (make_loader, batch {BATCH})"),
        ("epoch, warm", f"{r['warm_epoch_windows_per_s']:,.0f} windows/s"),
        ("per-window DataLoader", f"{r['per_item_windows_per_s']:,.0f} windows/s (collate_windows)"),
        ("no cache (h5 each epoch)", f"{r['no_cache_windows_per_s']:,.0f} windows/s"),
        ("ratio cached / no cache", f"{r['cached_vs_no_cache']:.0f}x"),
        ("ratio batched / per-window", f"{r['batched_vs_per_item']:.1f}x"),
        ("build, safe text/meta", f"{r['meta_build_safe_s']:.2f} s (ccnce.data.fixed_frame; best of 2)"),
        ("build, pd.read_hdf text/meta", f"{r['meta_build_pandas_s']:.2f} s (unpickles; best of 2)"),
        ("ratio safe / pd.read_hdf build", f"{r['meta_build_safe_vs_pandas']:.2f}x"),
        ("text/meta with words, safe", f"{r['meta_decode_safe_ms']:.2f} ms/file"),
        ("text/meta with words, pandas", f"{r['meta_decode_pandas_ms']:.2f} ms/file"),
        ("ratio safe / pd.read_hdf decode", f"{r['meta_decode_safe_vs_pandas']:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)

"""Trivial baselines that calibrate every metric: what scores do you get without learning anything?

Each baseline produces poses for the full test windows of a speaker (the windows the runs are scored on)
and is scored by the same code as a run (:func:`ccnce.evaluate.motion_metrics`):

- ``mean_pose``: the training mean pose in every frame (zero in z-normalised space);
- ``random_window``: for every test window, the real poses of a training window drawn at random
  (one draw per seed; the spread over seeds is the draw's);
- ``nn_text``: the real poses of the training window whose transcript is nearest: the frozen text
  encoder's last layer averaged over the window's sub-words, weighted by how many frames each is spoken,
  compared by cosine;
- ``nn_audio``: the same with the audio: mean and standard deviation over time of every z-normalised
  log-mel band, compared by cosine.

Retrieval returns a real motion, so it moves like the speaker (low FID) but is only as right as its
neighbour is: the gap between ``nn_text`` and a trained generator is what learning the grounding adds.
``ccnce baselines`` writes ``results/<source>/<speaker>/baselines.json``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccnce import provenance
from ccnce.config import Config
from ccnce.data.dataset import SpeakerData, WindowSet, load_full_intervals, load_speaker
from ccnce.data.skeleton import POSE_DIM
from ccnce.evaluate import motion_metrics
from ccnce.results import write_json

log = logging.getLogger(__name__)

BASELINES: tuple[str, ...] = ("mean_pose", "random_window", "nn_text", "nn_audio")
FILE = "baselines.json"
_BATCH = 256


def _all(ws: WindowSet, key: str) -> np.ndarray:
    return np.concatenate([ws.batch(np.arange(s, min(s + _BATCH, len(ws))))[key].numpy()
                           for s in range(0, len(ws), _BATCH)])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@torch.no_grad()
def text_embeddings(ws: WindowSet, encoder: torch.nn.Module) -> np.ndarray:
    """(N, hidden) duration-weighted mean of the text encoder's last layer over each window's sub-words."""
    out = []
    for start in range(0, len(ws), _BATCH):
        batch = ws.batch(np.arange(start, min(start + _BATCH, len(ws))))
        hidden = encoder.hidden_states(batch["tokens"], batch["n_tokens"]).float()
        weight = batch["durations"].float()[..., None]
        out.append(((hidden * weight).sum(1) / weight.sum(1).clamp(min=1.0)).numpy())
    return np.concatenate(out)


def audio_embeddings(ws: WindowSet) -> np.ndarray:
    """(N, 2·mels) mean and standard deviation over time of each z-normalised log-mel band."""
    audio = _all(ws, "audio")
    return np.concatenate([audio.mean(axis=1), audio.std(axis=1)], axis=1)


def nearest(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Index of the most cosine-similar row of ``reference`` for every row of ``query``."""
    return np.argmax(_unit(query) @ _unit(reference).T, axis=1)


def baseline_poses(name: str, data: SpeakerData, test_full: WindowSet, seed: int = 0,
                   encoder: torch.nn.Module | None = None) -> np.ndarray:
    """The z-normalised poses (N, T, 96) that baseline ``name`` produces for the windows of ``test_full``."""
    n, window = len(test_full), test_full.window
    if name == "mean_pose":
        return np.zeros((n, window, POSE_DIM), np.float32)
    if name == "random_window":
        pick = np.random.default_rng(seed).integers(len(data.train), size=n)
    elif name == "nn_text":
        if encoder is None:
            raise ValueError("nn_text needs the text encoder")
        pick = nearest(text_embeddings(test_full, encoder), text_embeddings(data.train, encoder))
    elif name == "nn_audio":
        pick = nearest(audio_embeddings(test_full), audio_embeddings(data.train))
    else:
        raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    return data.train.batch(pick)["pose"].numpy()


def evaluate_baselines(cfg: Config, data: SpeakerData, test_full: WindowSet, seeds: tuple[int, ...] = (0,),
                       progress: bool = True) -> dict[str, list[dict[str, float]]]:
    """Baseline name → one metrics dict per seed (a single dict for the deterministic baselines)."""
    from tqdm.auto import tqdm

    from ccnce.models.text import TextEncoder

    true = _all(test_full, "pose")
    encoder = TextEncoder(cfg.text_encoder, cfg.d_model, freeze=True)
    out: dict[str, list[dict[str, float]]] = {}
    jobs = [(name, s) for name in BASELINES for s in (seeds if name == "random_window" else seeds[:1])]
    for name, seed in tqdm(jobs, desc=f"baselines {cfg.speaker}", unit="baseline", disable=not progress):
        pred = baseline_poses(name, data, test_full, seed=seed, encoder=encoder)
        metrics = motion_metrics(pred, true, data, test_full)
        out.setdefault(name, []).append({**{k: float(v) for k, v in metrics.items()}, "seed": seed})
    return out


def write_baselines(cfg: Config, seeds: tuple[int, ...] = (0, 1, 2, 3, 4), progress: bool = True) -> Path:
    """Evaluate every baseline of ``cfg.speaker`` and write ``<results>/<source>/<speaker>/baselines.json``."""
    from ccnce.data.source import resolve_data

    t0, started = time.perf_counter(), provenance.now()
    source = resolve_data(cfg.data_root, progress=progress)
    data = load_speaker(cfg, source.root, progress=progress)
    test_full = load_full_intervals(cfg, source.root, "test", progress=progress, data=data)
    baselines = evaluate_baselines(cfg, data, test_full, seeds, progress)
    path = Path(cfg.results_dir) / source.name / cfg.speaker / FILE
    record: dict[str, Any] = {
        "speaker": cfg.speaker, "data_source": source.name, "test_windows": len(test_full), "baselines": baselines,
        "provenance": {**provenance.collect("cpu", source.name, source.fingerprint), "started": started,
                       "finished": provenance.now(), "wall_seconds": round(time.perf_counter() - t0, 2)},
    }
    write_json(path, record)
    return path

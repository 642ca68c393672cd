"""A small, FAKE results tree for the report and book tests (no training happened).

Writes ``<root>/<data_source>/<speaker>/<variant>/seed<k>/`` with every file of the results contract
(metrics.json, history.csv, embeddings.npz, clusters.npz, generated.npz, config.json, provenance.json).
The numbers are made up but structured: each (speaker, variant) has a known per-seed value of every
metric, CC-NCE's embeddings group by gesture class, and poses are a real speaker's mean skeleton with
arm motion, so that figures look like figures. Every file says it is test data (``profile: "fixture"``,
provenance ``"fixture": true``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ccnce.config import SPEAKERS, VARIANTS
from ccnce.data.skeleton import KEPT_JOINTS, LEFT_ARM, N_KEPT, RIGHT_ARM, to_kept

SEEDS = (0, 1, 2)
N_CLASSES = 9
STATS = Path(__file__).resolve().parents[1] / "ccnce" / "assets" / "pats_stats"

# per-variant offsets of the made-up metrics: CC-NCE best on L1 and k-NN, none best on FID (as in the paper)
_L1 = {"ccnce": 0.60, "none": 0.66, "moco": 0.65, "patchnce": 0.64}
_FID = {"ccnce": 30.0, "none": 22.0, "moco": 26.0, "patchnce": 24.0}
_KNN = {"ccnce": 0.80, "none": 0.35, "moco": 0.40, "patchnce": 0.38}
_SPEAKER_SCALE = {"maher": 1.0, "bee": 1.1, "lec_cosmic": 0.9, "oliver": 0.95, "colbert": 0.2}


@dataclass
class ResultsFixture:
    root: Path
    data_source: str
    runs: list[tuple[str, str, int]] = field(default_factory=list)
    metrics: dict[tuple[str, str, int], dict] = field(default_factory=dict)

    def values(self, metric: str, speaker: str, variant: str) -> dict[int, float]:
        """seed → value of ``metric`` for the runs that exist."""
        return {k: m[metric] for (s, v, k), m in self.metrics.items() if s == speaker and v == variant}


def fake_metrics(speaker: str, variant: str, seed: int) -> dict[str, float | None]:
    rng = np.random.default_rng([SPEAKERS.index(speaker), VARIANTS.index(variant), seed])
    scale = _SPEAKER_SCALE[speaker]
    ccnce = variant == "ccnce"
    return {
        "l1": round(scale * _L1[variant] + 0.02 * rng.standard_normal(), 6),
        "fid": round(scale * _FID[variant] + 2.0 * rng.standard_normal(), 6),
        "pck": round(0.5 + 0.05 * rng.standard_normal(), 6),
        "w1_vel": round(1.0 + 0.1 * rng.standard_normal(), 6),
        "w1_acc": round(0.5 + 0.05 * rng.standard_normal(), 6),
        "f1": round(0.4 + 0.05 * rng.standard_normal(), 6),
        "diversity": 40.0, "diversity_true": 50.0, "expressiveness": 0.8,
        "knn_acc": round(_KNN[variant] + 0.03 * rng.standard_normal(), 6),
        "knn_probe": round(_KNN[variant] + 0.05 + 0.03 * rng.standard_normal(), 6),
        "knn_chance": 0.3, "knn_probe_chance": 0.25,
        "silhouette": round((0.3 if ccnce else 0.02) + 0.02 * rng.standard_normal(), 6),
        "cluster_nmi": 0.6 if ccnce else None,
        "cluster_ari": 0.4 if ccnce else None,
        "cluster_purity": 0.7 if ccnce else None,
    }


def rest_pose(speaker: str) -> np.ndarray:
    """The speaker's real mean pose (PATS ``pose/data`` mean), 96 pixel values relative to the neck."""
    with h5py.File(STATS / f"{speaker}.h5", "r") as f:
        mean = f["pose/data/mean"][()].reshape(-1)
    return to_kept(mean)


def gesture_window(rest: np.ndarray, gesture: int, rng: np.random.Generator, t: int = 64) -> np.ndarray:
    """(t, 96) pixels: the rest pose with a class-specific arm movement (right arm for even classes)."""
    arm = RIGHT_ARM if gesture % 2 == 0 else LEFT_ARM
    kept = list(KEPT_JOINTS)
    phase = np.linspace(0, 2 * np.pi * (1 + gesture % 3), t) + rng.uniform(0, 0.5)
    amp = 25 + 6 * gesture
    w = np.repeat(rest[None], t, axis=0)
    for j in arm:
        if j in (1, 4):  # shoulders stay
            continue
        gain = 0.4 if j in (2, 5) else 1.0
        i = kept.index(j)
        w[:, i] += gain * amp * np.sin(phase)
        w[:, N_KEPT + i] -= gain * amp * (0.6 + 0.4 * np.cos(phase))
    return w + rng.normal(0, 1.0, size=w.shape)


def _history(variant: str, rng: np.random.Generator, epochs: int = 8) -> pd.DataFrame:
    e = np.arange(epochs)
    active = (e >= 2) if variant != "none" else np.zeros(epochs, bool)
    ccnce = variant == "ccnce"
    nan = np.full(epochs, np.nan)
    return pd.DataFrame({
        "epoch": e, "rec": 0.9 * np.exp(-e / 4) + 0.3, "adv_g": 0.7 + 0.05 * rng.standard_normal(epochs),
        "loss_d": 0.69 + 0.05 * rng.standard_normal(epochs), "mix": 1.5 * np.exp(-e / 3) + 0.4,
        "contrastive": np.where(active, 2.0 * np.exp(-e / 5), np.nan),
        "threshold": 80 + 5 * np.tanh(e) if ccnce else nan,
        "n_global_clusters": np.where(active, 10 + 4 * e, np.nan) if ccnce else nan,
        "n_batch_clusters": np.where(active, 6 + 0.3 * e, np.nan) if ccnce else nan,
        "frac_nonsingleton": np.where(active, 0.5 + 0.03 * e, np.nan) if ccnce else nan,
        "dev_l1": 0.8 * np.exp(-e / 5) + 0.5,
        "nmi": np.where(active, 0.3 + 0.04 * e, np.nan) if ccnce else nan,
        "ari": np.where(active, 0.2 + 0.03 * e, np.nan) if ccnce else nan,
        "purity": np.where(active, 0.5 + 0.03 * e, np.nan) if ccnce else nan,
        "n_candidates": np.where(active, 250.0, np.nan) if ccnce else nan,
    })


def write_run(run: Path, data_source: str, speaker: str, variant: str, seed: int, metrics: dict) -> None:
    rng = np.random.default_rng([7, SPEAKERS.index(speaker), VARIANTS.index(variant), seed])
    run.mkdir(parents=True, exist_ok=True)
    meta = {"best_epoch": 6, "epochs_run": 8, "config_hash": "fixture0000", "data_source": data_source,
            "speaker": speaker, "variant": variant, "seed": seed, "profile": "fixture"}
    (run / "metrics.json").write_text(json.dumps({**metrics, **meta}, indent=2))
    (run / "config.json").write_text(json.dumps({"speaker": speaker, "variant": variant, "seed": seed,
                                                 "profile": "fixture", "config_hash": "fixture0000"}))
    (run / "provenance.json").write_text(json.dumps({
        "fixture": True, "git": {"commit": "0" * 40, "dirty": False}, "device": "test fixture (no training)",
        "data_source": data_source, "data_fingerprint": "fixture", "wall_seconds": 60.0 + seed,
        "started": "2021-01-01T00:00:00+00:00", "finished": "2021-01-01T00:01:00+00:00"}))
    _history(variant, rng).to_csv(run / "history.csv", index=False)

    rest = rest_pose(speaker)
    # test windows: labelled gestures (a few unknown), z grouped by class for CC-NCE only
    gesture = np.arange(90) % N_CLASSES
    gesture[::15] = -1
    prototypes = np.random.default_rng(0).normal(size=(N_CLASSES, 8))
    spread = 0.35 if variant == "ccnce" else 3.0
    z = prototypes[np.maximum(gesture, 0)] + spread * rng.normal(size=(len(gesture), 8))
    cluster = np.where(gesture >= 0, 100 + gesture, 99) if variant == "ccnce" else np.full(len(gesture), -1)
    np.savez_compressed(run / "embeddings.npz", z=z.astype(np.float32), cluster=cluster, gesture=gesture)

    members = np.stack([np.stack([gesture_window(rest, c, rng) for _ in range(3)]) for c in range(5)])
    np.savez_compressed(run / "clusters.npz", poses=members.astype(np.float32), cluster_ids=np.arange(100, 105))

    true = np.stack([gesture_window(rest, g, np.random.default_rng([speaker.__len__(), g])) for g in (2, 5)])
    quality = {"ccnce": 0.8, "none": 0.5, "moco": 0.6, "patchnce": 0.65}[variant]
    pred = rest + quality * (true - rest) + rng.normal(0, 3.0, size=true.shape)
    np.savez_compressed(run / "generated.npz", pred=pred.astype(np.float32), true=true.astype(np.float32))


def make_results_tree(root: Path, data_source: str = "synthetic", speakers=SPEAKERS, variants=VARIANTS,
                      seeds=SEEDS, missing: tuple[tuple[str, str, int], ...] = ()) -> ResultsFixture:
    """Write the fake tree; ``missing`` lists (speaker, variant, seed) runs to leave out."""
    fx = ResultsFixture(Path(root), data_source)
    for speaker in speakers:
        for variant in variants:
            for seed in seeds:
                if (speaker, variant, seed) in missing:
                    continue
                metrics = fake_metrics(speaker, variant, seed)
                write_run(Path(root) / data_source / speaker / variant / f"seed{seed}", data_source, speaker,
                          variant, seed, metrics)
                fx.runs.append((speaker, variant, seed))
                fx.metrics[(speaker, variant, seed)] = metrics
    return fx

"""What the results tree holds: the constants every page shares, where the tree is, one row per run
(:func:`collect_runs`), :func:`coverage` of the expected runs, and a run's folder and files."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccnce.config import SPEAKERS, VARIANTS
from ccnce.errors import CcnceError
from ccnce.results import read_json

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------ constants
DATA_SOURCES: tuple[str, ...] = ("synthetic", "pats")
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
VARIANT_ORDER: tuple[str, ...] = ("ccnce", "none", "moco", "patchnce")  # the paper's row order
assert set(VARIANT_ORDER) == set(VARIANTS)
MEAN = "mean"
MISSING = "—"
DEFAULT_SPEAKER = "lec_cosmic"

SOURCE_LABEL = {"synthetic": "ours (synthetic)", "pats": "ours (real PATS)"}
PAPER_LABEL = "paper (real PATS)"
VARIANT_LABEL = {"ccnce": "CC-NCE", "none": "none (backbone)", "moco": "MoCo", "patchnce": "PatchNCE"}
# Reference rows under every table (ccnce.baselines; "true motion" and "chance" only for gesture accuracy)
BASELINE_ORDER: tuple[str, ...] = ("mean_pose", "random_window", "nn_text", "nn_audio", "true_motion", "chance")
BASELINE_LABEL = {"mean_pose": "baseline: mean pose", "random_window": "baseline: random real window",
                  "nn_text": "baseline: nearest text", "nn_audio": "baseline: nearest audio",
                  "true_motion": "true motion (classifier bound)", "chance": "chance (one class throughout)"}
RESULTS_ENV = "CCNCE_RESULTS_DIR"
SYNTH_ENV = "CCNCE_SYNTH_DIR"


@dataclass(frozen=True)
class MetricInfo:
    label: str
    better: str | None  # "lower", "higher", "one" (closest to 1) or None (no best)
    decimals: int
    definition: str


METRICS: dict[str, MetricInfo] = {
    "l1": MetricInfo("L1", "lower", 3, "mean |generated − true| over frames and the 96 z-normalised pose values "
                     "(48 joints × xy; neck, nose and eyes removed)"),
    "fid": MetricInfo("FID", "lower", 2, "Fréchet distance between Gaussians fitted to per-frame 96-d "
                      "z-normalised poses, generated vs. true (no learned encoder)"),
    "pck": MetricInfo("PCK", "higher", 3, "fraction of joints within α·max(box width, height) of the truth in "
                      "pixels, mean over α ∈ {0.1, 0.2}"),
    "w1_vel": MetricInfo("W1 velocity", "lower", 3, "Wasserstein-1 between the distributions of per-frame mean "
                         "joint speed (pixels/frame), generated vs. true"),
    "w1_acc": MetricInfo("W1 acceleration", "lower", 3, "Wasserstein-1 between the distributions of per-frame "
                         "mean joint acceleration (pixels/frame²)"),
    "f1": MetricInfo("F1", "higher", 3, "support-weighted F1 of the k-means(8) pose-cluster labels of generated "
                     "vs. true frames"),
    "diversity": MetricInfo("diversity", None, 2, "mean distance (pixels) of generated joints from the "
                            "speaker's mean pose"),
    "diversity_true": MetricInfo("diversity (true)", None, 2, "the same for the true poses"),
    "expressiveness": MetricInfo("expressiveness", "one", 3, "diversity of generated / diversity of true poses "
                                 "(1 = moves as far from rest as the speaker)"),
    "knn_probe": MetricInfo("k-NN probe accuracy", "higher", 3, "5-NN accuracy (cosine) of the true gesture "
                            "class of a test window from its pooled language embedding z, neighbours among the "
                            "training windows"),
    "knn_acc": MetricInfo("k-NN accuracy (test only)", "higher", 3, "5-NN accuracy (cosine) of the true gesture "
                          "class from the pooled z of a test window, neighbours from other test intervals only"),
    "gesture_acc": MetricInfo("gesture accuracy", "higher", 3, "share of generated test frames that a fixed "
                              "classifier of true motion assigns the frame's true gesture class (synthetic only)"),
    "fgd": MetricInfo("FGD", "lower", 1, "Fréchet distance between Gaussians fitted to the gesture classifier's "
                      "per-frame features of generated vs. true motion (a latent Fréchet Gesture Distance)"),
    "silhouette": MetricInfo("silhouette", "higher", 3, "silhouette (cosine) of z grouped by true gesture class"),
    "cluster_nmi": MetricInfo("cluster NMI", "higher", 3, "NMI of the online global clusters vs. true gestures"),
    "cluster_ari": MetricInfo("cluster ARI", "higher", 3, "ARI of the online global clusters vs. true gestures"),
    "cluster_purity": MetricInfo("cluster purity", "higher", 3, "purity of the online global clusters"),
}

RUN_COLUMNS: tuple[str, ...] = (
    "data_source", "speaker", "variant", "seed", *METRICS, "knn_chance", "knn_probe_chance", "grounding_windows", "best_epoch", "epochs_run", "config_hash", "profile",
    "git_commit", "git_dirty", "device", "data_fingerprint", "wall_seconds", "started", "finished", "path",
)


class MissingResults(CcnceError):
    """The runs or files a figure needs are not in the results tree (the message says which)."""


# ----------------------------------------------------------------------------------------- locations
def repo_root() -> Path:
    """The checkout this package was installed from (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def results_dir() -> Path:
    """``$CCNCE_RESULTS_DIR`` if set (tests build the book against a fixture tree), else ``<repo>/results``."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else repo_root() / "results"


def synthetic_root() -> Path:
    """``$CCNCE_SYNTH_DIR`` if set, else ``<repo>/data/synthetic`` (where ``make data`` writes it)."""
    env = os.environ.get(SYNTH_ENV)
    return Path(env) if env else repo_root() / "data" / "synthetic"


# --------------------------------------------------------------------------------------- collection
def collect_runs(results: str | Path | None = None) -> pd.DataFrame:
    """One row per complete run (a folder with ``metrics.json``) under ``results``.

    Columns: :data:`RUN_COLUMNS` (identity from the folder path, metrics as floats with NaN where a
    metric is absent or null, run facts, provenance) plus any other numeric top-level metric a run
    records. A ``metrics.json`` that cannot be parsed is skipped with a warning; folders without one
    (runs in progress) are not rows. ``df.attrs["results_dir"]`` keeps where the runs were read.
    """
    root = Path(results) if results is not None else results_dir()
    rows = []
    for metrics_path in sorted(root.glob("*/*/*/seed*/metrics.json")):
        run = metrics_path.parent
        source, speaker, variant = run.parts[-4:-1]
        match = re.fullmatch(r"seed(\d+)", run.name)
        if match is None:
            continue
        try:
            metrics = read_json(metrics_path)
        except (OSError, json.JSONDecodeError) as e:
            log.warning("skipping %s: %s", metrics_path, e)
            continue
        row: dict[str, Any] = {"data_source": source, "speaker": speaker, "variant": variant,
                               "seed": int(match.group(1)), "path": str(run)}
        for key in ("data_source", "speaker", "variant", "seed"):
            if key in metrics and str(metrics[key]) != str(row[key]):
                log.warning("%s records %s=%r but lives under %r; the folder wins", metrics_path, key,
                            metrics[key], row[key])
        for key, value in metrics.items():
            if key in METRICS or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                  and key not in ("seed", "best_epoch", "epochs_run")):
                row[key] = _float(value)
        for key in ("best_epoch", "epochs_run", "config_hash", "profile"):
            row[key] = metrics.get(key)
        row.update(_provenance(run / "provenance.json"))
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in RUN_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan if col in METRICS else None
    extra = [c for c in df.columns if c not in RUN_COLUMNS]
    df = df[[*RUN_COLUMNS, *extra]]
    df.attrs["results_dir"] = str(root)
    return df


def collect_baselines(results: str | Path | None = None) -> pd.DataFrame:
    """One row per (speaker, baseline, seed) from ``<results>/<source>/<speaker>/baselines.json``
    (``ccnce baselines``), in the columns of :func:`collect_runs` with the baseline's name as ``variant``.

    The gesture classifier's bound on true motion becomes a row ``true_motion`` (``gesture_acc`` only), and
    the floors of always predicting one class a row ``chance`` (``gesture_acc``: the majority-class rate;
    ``f1``: :func:`ccnce.metrics.f1_constant`).
    """
    root = Path(results) if results is not None else results_dir()
    rows = []
    for path in sorted(root.glob("*/*/baselines.json")):
        record = read_json(path)
        source, speaker = path.parts[-3:-1]
        for name, per_seed in record["baselines"].items():
            for metrics in per_seed:
                rows.append({"data_source": source, "speaker": speaker, "variant": name,
                             "seed": int(metrics.get("seed", 0)),
                             **{k: _float(metrics.get(k)) for k in METRICS if k in metrics}})
        first = record["baselines"]["mean_pose"][0]
        references = {"true_motion": {"gesture_acc": "gesture_acc_true"},
                      "chance": {"gesture_acc": "gesture_acc_chance", "f1": "f1_constant"}}
        for name, keys in references.items():
            values = {metric: _float(first[key]) for metric, key in keys.items() if key in first}
            if values:
                rows.append({"data_source": source, "speaker": speaker, "variant": name, "seed": 0, **values})
    df = pd.DataFrame(rows, columns=["data_source", "speaker", "variant", "seed", *METRICS])
    return df.astype({k: float for k in METRICS})


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _provenance(path: Path) -> dict[str, Any]:
    keys = ("git_commit", "git_dirty", "device", "data_fingerprint", "wall_seconds", "started", "finished")
    out: dict[str, Any] = dict.fromkeys(keys)
    if not path.exists():
        return out
    try:
        prov = read_json(path)
    except (OSError, json.JSONDecodeError) as e:
        log.warning("unreadable %s: %s", path, e)
        return out
    git = prov.get("git") or {}
    out.update(git_commit=git.get("commit"), git_dirty=git.get("dirty"), device=prov.get("device"),
               data_fingerprint=prov.get("data_fingerprint"), wall_seconds=_float(prov.get("wall_seconds")),
               started=prov.get("started"), finished=prov.get("finished"))
    return out


def sources_to_show(runs: pd.DataFrame) -> list[str]:
    """The data sources with at least one run (synthetic first); ``["synthetic"]`` when there is none."""
    present = [s for s in DATA_SOURCES if (runs["data_source"] == s).any()]
    return present or ["synthetic"]


@dataclass(frozen=True)
class Coverage:
    data_source: str
    found: int
    expected: int
    missing: tuple[tuple[str, str, int], ...]
    extra: int
    profiles: tuple[tuple[str, int], ...] = ()  # (profile, number of runs), most used first

    def statement(self) -> str:
        """One or two sentences: how many of the expected runs exist and which are missing."""
        grid = f"{len(SPEAKERS)} speakers × {len(VARIANT_ORDER)} variants × seeds {', '.join(map(str, SEEDS))}"
        text = (f"Coverage ({self.data_source}): {self.found} of the {self.expected} expected runs ({grid}) "
                f"exist under `results/{self.data_source}/`.")
        if self.extra:
            text += f" {self.extra} further run(s) (other seeds or speakers) are counted in the tables."
        if len(self.profiles) == 1:
            text += f" All were made with the `{self.profiles[0][0]}` profile."
        elif self.profiles:
            mix = ", ".join(f"`{p}` ({n})" for p, n in self.profiles)
            text += f" **The runs mix profiles ({mix}), and the tables average over them.**"
        if self.missing:
            by_cell: dict[tuple[str, str], list[int]] = {}
            for speaker, variant, seed in self.missing:
                by_cell.setdefault((speaker, variant), []).append(seed)
            cells_per_seed = len(SPEAKERS) * len(VARIANT_ORDER)
            unrun = [k for k in SEEDS if sum(seed == k for *_, seed in self.missing) == cells_per_seed]
            if self.found == 0:
                return text + " None of them has been run yet."
            if unrun:
                text += f" Seed(s) {', '.join(map(str, unrun))} have not been run yet for any speaker or variant."
            partly = {cell: [k for k in seeds if k not in unrun] for cell, seeds in by_cell.items()}
            cells = [f"{s}/{v} (seed {', '.join(map(str, seeds))})" for (s, v), seeds in partly.items() if seeds]
            if cells:
                shown = cells[:12]
                more = f" and {len(cells) - len(shown)} more" if len(cells) > len(shown) else ""
                text += (" Also missing: " if unrun else " Missing: ") + "; ".join(shown) + more + "."
        return text


def coverage(runs: pd.DataFrame, data_source: str = "synthetic") -> Coverage:
    """Which of the expected runs (:data:`SPEAKERS` × :data:`VARIANT_ORDER` × :data:`SEEDS`) exist."""
    have = set(zip(*(runs.loc[runs["data_source"] == data_source, c] for c in ("speaker", "variant", "seed"))))
    expected = [(s, v, k) for s in SPEAKERS for v in VARIANT_ORDER for k in SEEDS]
    missing = tuple(e for e in expected if e not in have)
    profiles = runs.loc[runs["data_source"] == data_source, "profile"].dropna().astype(str).value_counts()
    return Coverage(data_source, len(expected) - len(missing), len(expected), missing, len(have - set(expected)),
                    tuple((str(p), int(n)) for p, n in profiles.items()))


# ----------------------------------------------------------------------------------------- run files
def run_label(path: str | Path) -> str:
    """``synthetic · lec_cosmic · ccnce · seed0`` from a run folder."""
    return " · ".join(Path(path).parts[-4:])


def find_run(runs: pd.DataFrame, data_source: str, variant: str, speaker: str | None = None,
             seed: int | None = None, needs: str | None = None) -> Path | None:
    """The run folder of (speaker, variant, seed), preferring :data:`DEFAULT_SPEAKER` and the lowest seed
    when speaker or seed is None; ``needs`` names a file the folder must have."""
    sub = runs[(runs["data_source"] == data_source) & (runs["variant"] == variant)]
    if speaker is not None:
        sub = sub[sub["speaker"] == speaker]
    if seed is not None:
        sub = sub[sub["seed"] == seed]
    if needs is not None:
        sub = sub[[(Path(p) / needs).exists() for p in sub["path"]]]
    if sub.empty:
        return None
    order = sub.assign(_pref=(sub["speaker"] != DEFAULT_SPEAKER).astype(int)).sort_values(["_pref", "speaker", "seed"])
    return Path(order["path"].iloc[0])


def pick_speaker_seed(runs: pd.DataFrame, data_source: str, variants: Sequence[str],
                      needs: str) -> tuple[str, int] | None:
    """The (speaker, seed) with the most of ``variants`` having file ``needs``: :data:`DEFAULT_SPEAKER` and
    the lowest seed on ties."""
    sub = runs[(runs["data_source"] == data_source) & runs["variant"].isin(variants)]
    sub = sub[[(Path(p) / needs).exists() for p in sub["path"]]]
    if sub.empty:
        return None
    counts = sub.groupby(["speaker", "seed"]).size().rename("n").reset_index()
    counts["pref"] = (counts["speaker"] != DEFAULT_SPEAKER).astype(int)
    best = counts.sort_values(["n", "pref", "seed", "speaker"], ascending=[False, True, True, True]).iloc[0]
    return str(best["speaker"]), int(best["seed"])


def read_history(path: str | Path) -> pd.DataFrame:
    """A run's ``history.csv`` (empty frame with an ``epoch`` column when absent)."""
    f = Path(path) / "history.csv"
    if not f.exists():
        return pd.DataFrame({"epoch": []})
    df = pd.read_csv(f)
    if "epoch" not in df.columns:
        df["epoch"] = np.arange(len(df))
    return df


def _load_npz(path: Path, name: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
    f = path / f"{name}.npz"
    if not f.exists():
        raise MissingResults(f"{run_label(path)} has no {name}.npz")
    with np.load(f) as data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise MissingResults(f"{f} lacks {', '.join(missing)} (has {', '.join(data.files)})")
        return {k: data[k] for k in data.files}

"""The book's numbers and figures, read from the results tree (EVALUATION.md, "Figures").

Reads ``results/<data_source>/<speaker>/<variant>/seed<k>/`` (see :mod:`ccnce.results`) and nothing
else: no training, no data loading. Three groups:

- **aggregation** (pure, tested): :func:`collect_runs`, :func:`coverage`, :func:`metric_table`,
  :func:`paper_table`, :func:`side_by_side`, :func:`paired_comparisons`, :func:`to_html`;
- **figures** (matplotlib :class:`~matplotlib.figure.Figure` objects, never shown or saved here):
  :func:`training_curves`, :func:`clustering_curves`, :func:`cluster_quality_curves`,
  :func:`cluster_heatmaps` (Figure 2 left), :func:`tsne_figure` (Figure 2 right), :func:`knn_figure`,
  :func:`qualitative_figure` (Figure 4), :func:`animation_html`, :func:`idea_figure`;
- **notebook glue**: :func:`results_dir`, :func:`show`, :func:`show_figure`.

Missing results never crash a page: tables show "—" and say how many of the expected runs exist; a
figure whose runs are missing raises :class:`MissingResults`, which :func:`show_figure` turns into a
sentence. Every figure names the run(s) it was drawn from, and every table names its data source:
numbers on the synthetic dataset are labelled *synthetic* wherever they appear.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS, VARIANTS
from ccnce.data.skeleton import KEPT_JOINTS, LEFT_ARM, N_JOINTS, PARENTS, RIGHT_ARM, from_kept
from ccnce.errors import CcnceError
from ccnce.metrics import UNLABELLED, mean_std, paired_comparison
from ccnce.plots import plausible
from ccnce.results import read_json

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------ constants
DATA_SOURCES: tuple[str, ...] = ("synthetic", "pats")
SEEDS: tuple[int, ...] = (0, 1, 2)
VARIANT_ORDER: tuple[str, ...] = ("ccnce", "none", "moco", "patchnce")  # the paper's row order
assert set(VARIANT_ORDER) == set(VARIANTS)
MEAN = "mean"
MISSING = "—"
DEFAULT_SPEAKER = "lec_cosmic"

SOURCE_LABEL = {"synthetic": "ours (synthetic)", "pats": "ours (real PATS)"}
PAPER_LABEL = "paper (real PATS)"
VARIANT_LABEL = {"ccnce": "CC-NCE", "none": "none (backbone)", "moco": "MoCo", "patchnce": "PatchNCE"}

PAPER_TABLES = Path(__file__).parent / "assets" / "paper_tables.csv"
PAPER_MEAN_RTOL = 0.01
"""Relative difference above which the paper's reported Mean and the mean of its five per-speaker values
disagree. Rounding the per-speaker values to the printed digits moves their mean by well under 0.1 %;
the inconsistencies in the paper are 4–14 %."""

RESULTS_ENV = "CCNCE_RESULTS_DIR"
SYNTH_ENV = "CCNCE_SYNTH_DIR"

RIGHT_COLOR = "#c0392b"  # right arm red, left arm blue, as in ccnce.plots and the paper's Figure 2
LEFT_COLOR = "#2e6fba"
BODY_COLOR = "#555555"
TRUE_COLOR = "#b8b8b8"


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
    here = Path(__file__).resolve().parents[1]
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
                text += " None of them has been run yet."
            elif unrun and all(set(seeds) <= set(unrun) for seeds in by_cell.values()):
                text += f" Seed(s) {', '.join(map(str, unrun))} have not been run yet for any speaker or variant."
            else:
                cells = [f"{s}/{v} (seed {', '.join(map(str, seeds))})" for (s, v), seeds in by_cell.items()]
                shown = cells[:12]
                more = f" and {len(cells) - len(shown)} more" if len(cells) > len(shown) else ""
                text += " Missing: " + "; ".join(shown) + more + "."
        return text


def coverage(runs: pd.DataFrame, data_source: str = "synthetic") -> Coverage:
    """Which of the expected runs (:data:`SPEAKERS` × :data:`VARIANT_ORDER` × :data:`SEEDS`) exist."""
    have = set(zip(*(runs.loc[runs["data_source"] == data_source, c] for c in ("speaker", "variant", "seed"))))
    expected = [(s, v, k) for s in SPEAKERS for v in VARIANT_ORDER for k in SEEDS]
    missing = tuple(e for e in expected if e not in have)
    profiles = runs.loc[runs["data_source"] == data_source, "profile"].dropna().astype(str).value_counts()
    return Coverage(data_source, len(expected) - len(missing), len(expected), missing, len(have - set(expected)),
                    tuple((str(p), int(n)) for p, n in profiles.items()))


# ------------------------------------------------------------------------------------------- tables
def _info(metric: str) -> MetricInfo:
    if metric not in METRICS:
        raise CcnceError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    return METRICS[metric]


def _per_seed(runs: pd.DataFrame, metric: str, data_source: str) -> dict[tuple[str, str], pd.Series]:
    """(speaker, variant) → finite metric values indexed by seed."""
    sub = runs[runs["data_source"] == data_source]
    out = {}
    for (speaker, variant), group in sub.groupby(["speaker", "variant"]):
        values = pd.Series(group[metric].to_numpy(dtype=float), index=group["seed"].to_numpy(dtype=int))
        out[(speaker, variant)] = values[np.isfinite(values)].sort_index()
    return out


def metric_summary(runs: pd.DataFrame, metric: str, data_source: str = "synthetic") -> pd.DataFrame:
    """Numbers behind :func:`metric_table`: one row per (variant, column) with ``n, mean, std, n_speakers``.

    Per speaker: mean and sample std (ddof 1, :func:`ccnce.metrics.mean_std`) over the seeds that have the
    metric. Column ``mean``: the mean over speakers of the per-speaker means (the paper's Mean column);
    its std is the std over seeds of the per-seed average over speakers, on the seeds that every
    contributing speaker has (``n`` counts those seeds); ``n_speakers`` says how many speakers contribute.
    """
    _info(metric)
    values = _per_seed(runs, metric, data_source)
    rows = []
    for variant in VARIANT_ORDER:
        speaker_means = {}
        for speaker in SPEAKERS:
            v = values.get((speaker, variant), pd.Series(dtype=float))
            mean, std = _mean_std(v)
            rows.append(dict(variant=variant, column=speaker, n=len(v), mean=mean, std=std, n_speakers=1))
            if len(v):
                speaker_means[speaker] = mean
        if speaker_means:
            per_seed = pd.concat([values[(s, variant)] for s in speaker_means], axis=1, join="inner")
            seed_avg = per_seed.mean(axis=1)
            _, std = _mean_std(seed_avg)
            rows.append(dict(variant=variant, column=MEAN, n=len(seed_avg), mean=float(np.mean(list(speaker_means.values()))),
                             std=std, n_speakers=len(speaker_means)))
        else:
            rows.append(dict(variant=variant, column=MEAN, n=0, mean=math.nan, std=math.nan, n_speakers=0))
    return pd.DataFrame(rows)


def _mean_std(v: pd.Series) -> tuple[float, float]:
    if len(v) >= 2:
        return mean_std(v.to_numpy())
    if len(v) == 1:
        return float(v.iloc[0]), math.nan
    return math.nan, math.nan


def _best_mask(means: pd.DataFrame, better: str | None, decimals: int) -> pd.DataFrame:
    """Per column, the rows whose value (rounded as printed) is best; ties are all best."""
    mask = pd.DataFrame(False, index=means.index, columns=means.columns)
    if better is None:
        return mask
    for col in means.columns:
        v = means[col].astype(float).round(decimals)
        if v.notna().sum() < 1:
            continue
        key = {"lower": v, "higher": -v, "one": (v - 1).abs()}[better]
        mask[col] = key == key.min()
    return mask


def _fmt(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def metric_table(runs: pd.DataFrame, metric: str, data_source: str = "synthetic") -> pd.DataFrame:
    """The paper's table layout for one metric: variants × (five speakers + ``mean``), as text.

    Cells read ``mean ± std (n)`` over seeds, ``mean (1)`` for one seed, ``—`` for none; the ``mean``
    column is marked ``[k/5 speakers]`` when speakers are missing. ``attrs``: ``best`` (bool frame: best
    per column, by the metric's direction; rounding ties are all best), ``summary``
    (:func:`metric_summary`), ``metric``, ``data_source``, ``caption``.
    """
    info = _info(metric)
    summary = metric_summary(runs, metric, data_source)
    columns = [*SPEAKERS, MEAN]
    text = pd.DataFrame(MISSING, index=pd.Index(VARIANT_ORDER, name="variant"), columns=columns)
    means = pd.DataFrame(np.nan, index=text.index, columns=columns)
    for r in summary.itertuples():
        if r.n_speakers == 0 or (r.column != MEAN and r.n == 0):
            continue
        cell = _fmt(r.mean, info.decimals)
        if r.n >= 2:
            cell += f" ± {_fmt(r.std, info.decimals)} ({r.n})"
        elif r.n == 1:
            cell += " (1)"
        if r.column == MEAN and r.n_speakers < len(SPEAKERS):
            cell += f" [{r.n_speakers}/{len(SPEAKERS)} speakers]"
        text.loc[r.variant, r.column] = cell
        means.loc[r.variant, r.column] = r.mean
    partial = summary[(summary["column"] == MEAN) & (summary["n_speakers"] < len(SPEAKERS))]["variant"]
    means.loc[list(partial), MEAN] = np.nan  # a mean over fewer speakers is not comparable: never best
    text.attrs.update(best=_best_mask(means, info.better, info.decimals), summary=summary, metric=metric,
                      data_source=data_source, caption=table_caption(metric, data_source))
    return text


def table_caption(metric: str, data_source: str) -> str:
    info = _info(metric)
    direction = {"lower": "lower is better", "higher": "higher is better", "one": "closest to 1 is best",
                 None: "no better direction"}[info.better]
    source = SOURCE_LABEL.get(data_source, data_source)
    return (f"{info.label} — {source}, test split: mean ± std over seeds (number of seeds); {direction}, "
            f"best per column in bold. Mean column: mean of the per-speaker means. {info.label}: "
            f"{info.definition}.")


def load_paper_tables() -> pd.DataFrame:
    """The paper's Tables 1–2 (``ccnce/assets/paper_tables.csv``; source in ``PAPER_TABLES.md``).

    Long format: ``table, metric, model, speaker, mean, std``, plus ``decimals`` (the digits printed in the
    paper) for display. ``speaker == "mean"`` is the paper's own Mean column.
    """
    raw = pd.read_csv(PAPER_TABLES, dtype=str)
    df = raw.copy()
    df["mean"] = raw["mean"].astype(float)
    df["std"] = raw["std"].astype(float)
    df["decimals"] = raw["mean"].map(lambda s: len(s.split(".")[1]) if "." in s else 0)
    return df


def _paper_metric(metric: str) -> str:
    names = {"l1": "L1", "fid": "FID"}
    if metric.lower() not in names:
        raise CcnceError(f"the paper reports only L1 (Table 1) and FID (Table 2), not {metric!r}")
    return names[metric.lower()]


def paper_table(metric: str) -> pd.DataFrame:
    """The paper's Table 1 (``l1``) or 2 (``fid``) with the Mean column recomputed beside the reported one.

    Text columns: the five speakers (``mean ± std`` as printed), ``Mean (paper)`` (the reported Mean
    column), ``recomputed`` (mean of the five per-speaker values) and ``check`` (``agrees`` or how far
    apart). ``attrs``: ``best`` (bool frame), ``reported``, ``recomputed`` (Series by model),
    ``inconsistent`` (Series of bool: relative difference above :data:`PAPER_MEAN_RTOL`), ``caption``.
    """
    name = _paper_metric(metric)
    info = METRICS[metric.lower()]
    df = load_paper_tables()
    df = df[df["metric"] == name]
    columns = [*SPEAKERS, "Mean (paper)", "recomputed", "check"]
    text = pd.DataFrame(MISSING, index=pd.Index(VARIANT_ORDER, name="variant"), columns=columns)
    means = pd.DataFrame(np.nan, index=text.index, columns=[*SPEAKERS, "Mean (paper)"])
    reported, recomputed = pd.Series(np.nan, index=text.index), pd.Series(np.nan, index=text.index)
    for model in VARIANT_ORDER:
        rows = df[df["model"] == model].set_index("speaker")
        for speaker in [*SPEAKERS, MEAN]:
            if speaker not in rows.index:
                continue
            r = rows.loc[speaker]
            d = max(info.decimals, int(r["decimals"]))
            col = speaker if speaker != MEAN else "Mean (paper)"
            text.loc[model, col] = f"{_fmt(r['mean'], d)} ± {_fmt(r['std'], d)}"
            means.loc[model, col] = r["mean"]
        if all(s in rows.index for s in SPEAKERS):
            recomputed[model] = float(rows.loc[list(SPEAKERS), "mean"].mean())
            text.loc[model, "recomputed"] = _fmt(recomputed[model], info.decimals)
        if MEAN in rows.index:
            reported[model] = float(rows.loc[MEAN, "mean"])
    inconsistent = (reported - recomputed).abs() > PAPER_MEAN_RTOL * reported.abs()
    for model in VARIANT_ORDER:
        if np.isfinite(reported[model]) and np.isfinite(recomputed[model]):
            diff = reported[model] - recomputed[model]
            text.loc[model, "check"] = (f"differs by {diff:+.{info.decimals}f}" if inconsistent[model]
                                             else "agrees")
    best = _best_mask(means, info.better, info.decimals).reindex(columns=columns, fill_value=False)
    text.attrs.update(best=best, reported=reported, recomputed=recomputed, inconsistent=inconsistent,
                      metric=metric.lower(), data_source="paper",
                      caption=(f"Paper, Table {1 if name == 'L1' else 2} ({name}) — {PAPER_LABEL}: mean ± the "
                               f"paper's ± value. 'recomputed' is the mean of the five per-speaker values; where it "
                               f"differs from the paper's own Mean column by more than {PAPER_MEAN_RTOL:.0%}, "
                               f"'check' says by how much."))
    return text


def paper_mean_note(metric: str) -> str:
    """A sentence on where the paper's Mean column disagrees with the mean of its per-speaker values."""
    table = paper_table(metric)
    reported, recomputed, bad = (table.attrs[k] for k in ("reported", "recomputed", "inconsistent"))
    d = METRICS[metric.lower()].decimals
    label = METRICS[metric.lower()].label
    if not bad.any():
        return f"For {label}, the paper's Mean column equals the mean of its five per-speaker values for every model."
    parts = [f"{VARIANT_LABEL[m]} {reported[m]:.{d}f} reported vs. {recomputed[m]:.{d}f} recomputed"
             for m in VARIANT_ORDER if bad[m]]
    ok = [VARIANT_LABEL[m] for m in VARIANT_ORDER if not bad[m]]
    return (f"For {label}, the paper's Mean column is not the mean of its five per-speaker values for "
            f"{'; '.join(parts)}; for {' and '.join(ok)} it is (within rounding).")


def paper_gap_note(metric: str, variant: str = "ccnce") -> str:
    """How ``variant``'s advantage in the paper's Mean column changes when the Mean is recomputed."""
    table = paper_table(metric)
    reported, recomputed = table.attrs["reported"], table.attrs["recomputed"]
    d = METRICS[metric.lower()].decimals
    parts = [f"{VARIANT_LABEL[variant]} − {VARIANT_LABEL[b]}: {reported[variant] - reported[b]:+.{d}f} with the "
             f"reported Mean, {recomputed[variant] - recomputed[b]:+.{d}f} recomputed"
             for b in VARIANT_ORDER if b != variant]
    return f"{METRICS[metric.lower()].label}, paper (real PATS): " + "; ".join(parts) + "."


def side_by_side(runs: pd.DataFrame, metric: str, data_source: str = "synthetic") -> pd.DataFrame:
    """Ours and the paper's numbers for L1 or FID, one above the other for every variant.

    Rows: (variant, source) with source :data:`SOURCE_LABEL` of ``data_source`` or :data:`PAPER_LABEL`;
    columns: the five speakers and ``mean`` (for the paper: its reported Mean, marked † where that is not
    the mean of its per-speaker values, see :func:`paper_table`). Best is marked separately among ours and
    among the paper's rows (``attrs["best"]``).
    """
    ours, paper = metric_table(runs, metric, data_source), paper_table(metric)
    ours_label = SOURCE_LABEL.get(data_source, f"ours ({data_source})")
    columns = [*SPEAKERS, MEAN]
    index = pd.MultiIndex.from_tuples([(v, src) for v in VARIANT_ORDER for src in (ours_label, PAPER_LABEL)],
                                      names=["variant", "source"])
    text = pd.DataFrame(MISSING, index=index, columns=columns)
    best = pd.DataFrame(False, index=index, columns=columns)
    for v in VARIANT_ORDER:
        for col, paper_col in [(c, c) for c in SPEAKERS] + [(MEAN, "Mean (paper)")]:
            text.loc[(v, ours_label), col] = ours.loc[v, col]
            best.loc[(v, ours_label), col] = ours.attrs["best"].loc[v, col]
            text.loc[(v, PAPER_LABEL), col] = paper.loc[v, paper_col]
            best.loc[(v, PAPER_LABEL), col] = paper.attrs["best"].loc[v, paper_col]
        if paper.attrs["inconsistent"][v]:
            text.loc[(v, PAPER_LABEL), MEAN] += " †"
    text.attrs.update(best=best, metric=metric, data_source=data_source,
                      caption=(f"{METRICS[metric].label}: {ours_label} above the {PAPER_LABEL} for each variant; "
                               f"best in bold among ours and among the paper's rows separately. The two are not "
                               f"comparable as numbers (different data, and our model sizes): compare the "
                               f"ordering of the variants. † the paper's Mean is not the mean of its per-speaker "
                               f"values (see below)."))
    return text


def paired_comparisons(runs: pd.DataFrame, metric: str, data_source: str = "synthetic", variant: str = "ccnce",
                       baseline: str | Sequence[str] = "none") -> pd.DataFrame:
    """Per speaker (and for the mean over speakers), ``variant`` vs. each baseline on their shared seeds.

    ``baseline``: a variant name, a list of names, or ``"all"`` (every other variant). Each row holds
    :func:`ccnce.metrics.paired_comparison` of ``variant − baseline`` (``mean_diff``, bootstrap 95 % CI,
    Cohen's ``d_z``, ``within_noise``) and a ``verdict`` in words; fewer than 2 shared seeds gives a row
    that says so. The ``mean`` row pairs the per-seed averages over the speakers that both variants have
    on that seed for all five speakers.
    """
    info = _info(metric)
    baselines = ([v for v in VARIANT_ORDER if v != variant] if baseline == "all"
                 else [baseline] if isinstance(baseline, str) else list(baseline))
    values = _per_seed(runs, metric, data_source)

    def seeds_avg(v: str) -> pd.Series:
        parts = [values.get((s, v), pd.Series(dtype=float)) for s in SPEAKERS]
        if any(len(p) == 0 for p in parts):
            return pd.Series(dtype=float)
        return pd.concat(parts, axis=1, join="inner").mean(axis=1)

    rows = []
    for speaker in [*SPEAKERS, MEAN]:
        for b in baselines:
            if speaker == MEAN:
                a_vals, b_vals = seeds_avg(variant), seeds_avg(b)
            else:
                a_vals = values.get((speaker, variant), pd.Series(dtype=float))
                b_vals = values.get((speaker, b), pd.Series(dtype=float))
            shared = sorted(set(a_vals.index) & set(b_vals.index))
            row: dict[str, Any] = dict(speaker=speaker, comparison=f"{variant} − {b}", n=len(shared),
                                       mean_diff=math.nan, ci_low=math.nan, ci_high=math.nan,
                                       cohens_dz=math.nan, within_noise=None)
            if len(shared) >= 2:
                res = paired_comparison(a_vals[shared].to_numpy(), b_vals[shared].to_numpy())
                row.update({k: res[k] for k in ("mean_diff", "ci_low", "ci_high", "cohens_dz", "within_noise")})
            row["verdict"] = _verdict(row, variant, b, info)
            rows.append(row)
    return pd.DataFrame(rows, columns=["speaker", "comparison", "n", "mean_diff", "ci_low", "ci_high",
                                       "cohens_dz", "within_noise", "verdict"])


def _verdict(row: Mapping[str, Any], variant: str, baseline: str, info: MetricInfo) -> str:
    """The comparison in words; the numbers are in the row's other columns."""
    n = row["n"]
    if n < 2:
        return f"not enough shared seeds (n = {n}; a paired comparison needs 2)"
    if row["within_noise"]:
        return "within noise: the 95 % CI of the difference includes 0"
    diff = row["mean_diff"]
    if info.better in ("lower", "higher"):
        direction = "better" if (diff < 0) == (info.better == "lower") else "worse"
    else:
        direction = "higher" if diff > 0 else "lower"
    text = f"{variant} {direction} than {baseline}: the 95 % CI excludes 0"
    if n <= 3:
        text += f" ({n} seeds: a hint, not a test)"
    return text


def paired_summary(comparisons: pd.DataFrame) -> str:
    """One plain sentence over a :func:`paired_comparisons` frame."""
    testable = comparisons[comparisons["n"] >= 2]
    if testable.empty:
        return "No comparison has two or more shared seeds yet, so nothing can be said about noise."
    noise = int(testable["within_noise"].astype(bool).sum())
    return (f"{noise} of the {len(testable)} comparisons with at least two shared seeds are within noise (their "
            f"95 % bootstrap interval includes 0); {len(comparisons) - len(testable)} lack the seeds to tell.")


def format_paired(comparisons: pd.DataFrame, decimals: int = 4) -> pd.DataFrame:
    """Rounded, display-ready copy of :func:`paired_comparisons` (numbers as text, NaN as —)."""
    out = comparisons.copy()
    for col in ("mean_diff", "ci_low", "ci_high"):
        out[col] = out[col].map(lambda x: MISSING if not np.isfinite(x) else f"{x:+.{decimals}f}")
    out["cohens_dz"] = out["cohens_dz"].map(lambda x: MISSING if not np.isfinite(x) else f"{x:+.2f}")
    out["within_noise"] = out["within_noise"].map(lambda x: MISSING if x is None else ("yes" if x else "no"))
    out = out.rename(columns={"mean_diff": "mean difference", "ci_low": "95 % CI low", "ci_high": "95 % CI high",
                              "cohens_dz": "Cohen's d_z", "within_noise": "within noise"})
    out = out.set_index(["speaker", "comparison"])
    out.attrs["html_classes"] = "ccnce-text-last"  # the verdict is prose
    return out


def to_html(table: pd.DataFrame, caption: str | None = None) -> str:
    """HTML for a table of :func:`metric_table`, :func:`paper_table` or :func:`side_by_side`: best in bold.

    Deterministic (no random element ids), no external resources. Cells are HTML-escaped.
    """
    best = table.attrs.get("best")
    cells = table.astype(str).map(html.escape)
    if best is not None:
        mask = best.reindex(index=table.index, columns=table.columns, fill_value=False).astype(bool)
        cells = cells.mask(mask, "<strong>" + cells + "</strong>")
    # variant names as in the paper, and the index name in the header's corner instead of a second row
    if cells.index.nlevels == 1:
        cells.index = pd.Index([VARIANT_LABEL.get(i, i) for i in cells.index])
        cells.columns.name = table.index.name
    else:
        cells.index = cells.index.set_levels([VARIANT_LABEL.get(i, i) for i in cells.index.levels[0]], level=0)
    body = cells.to_html(escape=False, border=0, classes="ccnce-table", na_rep=MISSING)
    caption = caption if caption is not None else table.attrs.get("caption")
    if caption:
        body = body.replace('class="dataframe ccnce-table">',
                            f'class="dataframe ccnce-table">\n  <caption>{html.escape(caption)}</caption>', 1)
    return body


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


def _footer(fig: Figure, paths: Iterable[str | Path], note: str = "") -> None:
    labels = sorted({run_label(p) for p in paths})
    text = "from results/: " + "; ".join(labels) if labels else ""
    fig.supxlabel((note + "  " if note else "") + text, x=0.005, ha="left", fontsize=6.5, color="#666666")


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.get_layout_engine().set(h_pad=0.04, w_pad=0.04)
    return fig


def metric_figure(runs: pd.DataFrame, metric: str, data_source: str = "synthetic") -> Figure:
    """A table of :func:`metric_table` as a picture: per speaker, each variant's seeds (dots) and mean ± std
    (bar); for L1 and FID a second panel with the paper's values (real PATS) on the same layout."""
    info = _info(metric)
    values = _per_seed(runs, metric, data_source)
    if not any(len(v) for v in values.values()):
        raise MissingResults(f"no run under results/{data_source}/ records {metric}")
    paper = metric.lower() in ("l1", "fid")
    fig = _new_figure(8.6, 2.9 * (2 if paper else 1) + 0.3)
    axes = fig.subplots(2 if paper else 1, 1, squeeze=False)[:, 0]
    colors = dict(zip(VARIANT_ORDER, _palette(len(VARIANT_ORDER))))
    offsets = np.linspace(-0.27, 0.27, len(VARIANT_ORDER))
    x = np.arange(len(SPEAKERS))
    for k, v in enumerate(VARIANT_ORDER):
        for i, speaker in enumerate(SPEAKERS):
            vals = values.get((speaker, v), pd.Series(dtype=float))
            if not len(vals):
                continue
            mean, std = _mean_std(vals)
            axes[0].errorbar(x[i] + offsets[k], mean, yerr=std if np.isfinite(std) else None, fmt="o",
                             color=colors[v], markersize=5, capsize=3, label=VARIANT_LABEL[v] if i == 0 else None)
            axes[0].scatter(np.full(len(vals), x[i] + offsets[k] + 0.05), vals, s=6, color=colors[v], alpha=0.5)
    axes[0].set_title(f"{info.label}, {SOURCE_LABEL.get(data_source, data_source)}: mean ± std over seeds "
                      f"(small dots: single seeds)", fontsize=8.5)
    if paper:
        table = load_paper_tables()
        table = table[(table["metric"] == _paper_metric(metric))]
        for k, v in enumerate(VARIANT_ORDER):
            rows = table[table["model"] == v].set_index("speaker")
            ys = [rows.loc[s, "mean"] if s in rows.index else np.nan for s in SPEAKERS]
            es = [rows.loc[s, "std"] if s in rows.index else np.nan for s in SPEAKERS]
            axes[1].errorbar(x + offsets[k], ys, yerr=es, fmt="s", color=colors[v], markersize=4.5, capsize=3,
                             label=VARIANT_LABEL[v])
        axes[1].set_title(f"{info.label}, {PAPER_LABEL}: the paper's mean ± its ± value", fontsize=8.5)
    for ax in axes:
        ax.set_xticks(x, SPEAKERS, fontsize=8)
        ax.tick_params(labelsize=7.5)
        ax.set_ylabel(f"{info.label} ({info.better} is better)" if info.better in ("lower", "higher")
                      else info.label, fontsize=8)
        ax.grid(axis="y", color="#eeeeee")
    axes[0].legend(fontsize=7, frameon=False, ncol=4, loc="best")
    _footer(fig, [], note=f"{sum(len(v) for v in values.values())} runs under results/{data_source}/")
    return fig


# ---------------------------------------------------------------------------------- training curves
CURVE_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "rec": (("rec",), "reconstruction L1 (train)"),
    "adv": (("adv_g", "adv_d"), "adversarial (G solid, D dashed)"),
    "ce": (("ce",), "pose-cluster cross-entropy"),
    "contrastive": (("contrastive",), "contrastive term"),
    "dev_l1": (("dev_l1",), "dev L1 (early stopping)"),
}
CLUSTER_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "clusters": (("n_global_clusters", "n_batch_clusters"), "clusters: global (solid), per batch (dashed)"),
    "threshold": (("threshold",), "similarity threshold μ̂ + σ̂"),
    "nonsingleton": (("frac_nonsingleton",), "share of batch clusters with > 1 member"),
}
QUALITY_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "nmi": (("nmi",), "NMI vs. true gestures"),
    "ari": (("ari",), "ARI vs. true gestures"),
    "purity": (("purity",), "purity vs. true gestures"),
}


def _curves(paths: Mapping[str, Path], panels: Mapping[str, tuple[tuple[str, ...], str]], title: str) -> Figure:
    if not paths:
        raise MissingResults(f"no run to draw {title.lower()} from")
    histories = {label: read_history(p) for label, p in paths.items()}
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = _new_figure(3.0 * ncols + 1.4, 2.5 * nrows + 0.4)
    grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in grid[len(panels):]:
        ax.set_axis_off()
    axes = grid[:len(panels)]
    colors = _palette(len(paths))
    for ax, (_, (columns, name)) in zip(axes, panels.items()):
        drawn = False
        for (label, hist), color in zip(histories.items(), colors):
            for col, style in zip(columns, ("-", "--")):
                if col in hist.columns and hist[col].notna().any():
                    ax.plot(hist["epoch"], hist[col], style, color=color, label=label if style == "-" else None,
                            marker="o", markersize=2.5, linewidth=1.2)
                    drawn = True
        ax.set_title(name, fontsize=8.5)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        if not drawn:
            ax.text(0.5, 0.5, "not recorded\n(not applicable to\nthese runs)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8, color="#888888")
    handles, labels = [], []
    for ax in axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h), labels.append(l)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=7.5, frameon=False)
    fig.suptitle(title, fontsize=10)
    _footer(fig, paths.values())
    return fig


def _palette(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _variant_runs(runs: pd.DataFrame, data_source: str, speaker: str | None, seed: int | None,
                  variants: Sequence[str] = VARIANT_ORDER, needs: str = "history.csv") -> dict[str, Path]:
    pick = pick_speaker_seed(runs, data_source, variants, needs) if speaker is None or seed is None else None
    speaker = speaker if speaker is not None else (pick[0] if pick else None)
    seed = seed if seed is not None else (pick[1] if pick else None)
    out = {}
    for v in variants:
        p = find_run(runs, data_source, v, speaker, seed, needs=needs)
        if p is not None:
            out[VARIANT_LABEL[v]] = p
    return out


def _seed_runs(runs: pd.DataFrame, data_source: str, variant: str, speaker: str | None,
               needs: str = "history.csv") -> dict[str, Path]:
    first = find_run(runs, data_source, variant, speaker, needs=needs)
    if first is None:
        return {}
    speaker = Path(first).parts[-3]
    sub = runs[(runs["data_source"] == data_source) & (runs["variant"] == variant) & (runs["speaker"] == speaker)]
    return {f"{variant} seed {int(r.seed)}": Path(r.path) for r in sub.sort_values("seed").itertuples()
            if (Path(r.path) / needs).exists()}


def training_curves(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                    seed: int | None = None) -> Figure:
    """Losses per epoch for every variant of one speaker and seed (default: :data:`DEFAULT_SPEAKER`, seed 0)."""
    paths = _variant_runs(runs, data_source, speaker, seed)
    where = _where(paths)
    return _curves(paths, CURVE_PANELS, f"Training curves ({data_source}{where})")


def clustering_curves(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None) -> Figure:
    """CC-NCE's online clustering over training for every seed of one speaker: number of clusters,
    the threshold μ̂+σ̂, and the share of non-singleton batch clusters."""
    paths = _seed_runs(runs, data_source, "ccnce", speaker)
    return _curves(paths, CLUSTER_PANELS, f"CC-NCE online clustering over training ({data_source}{_where(paths)})")


def cluster_quality_curves(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None) -> Figure:
    """NMI, ARI and purity of CC-NCE's online clusters against the true gesture classes, per epoch and seed
    (only the synthetic data has true classes)."""
    paths = _seed_runs(runs, data_source, "ccnce", speaker)
    return _curves(paths, QUALITY_PANELS,
                   f"Online clusters vs. true gesture classes over training ({data_source}{_where(paths)})")


def _where(paths: Mapping[str, Path]) -> str:
    speakers = sorted({Path(p).parts[-3] for p in paths.values()})
    return f", {', '.join(speakers)}" if speakers else ""


# ------------------------------------------------------------------------ Figure 2 left: heatmaps
def _arm_rows() -> tuple[np.ndarray, np.ndarray]:
    """Indices into the 48 kept joints of the right-arm and left-arm joints (each in skeleton order)."""
    kept = list(KEPT_JOINTS)
    return (np.array([kept.index(j) for j in RIGHT_ARM if j in kept]),
            np.array([kept.index(j) for j in LEFT_ARM if j in kept]))


def joint_displacement(window: np.ndarray) -> np.ndarray:
    """(T, 96) pixel window → (T, 48): distance of each kept joint from its position in the first frame."""
    w = np.asarray(window, dtype=float)
    n = w.shape[-1] // 2
    xy = np.stack([w[:, :n], w[:, n:]], axis=-1)
    return np.linalg.norm(xy - xy[:1], axis=-1)


def _two_tone(values: np.ndarray, right: np.ndarray, left: np.ndarray, vmax: float) -> np.ndarray:
    """(48, T) magnitudes → RGB image: right-arm rows in reds, then left-arm rows in blues."""
    import matplotlib

    v = np.clip(values / max(vmax, 1e-9), 0, 1)
    reds, blues = matplotlib.colormaps["Reds"], matplotlib.colormaps["Blues"]
    return np.concatenate([reds(v[right])[..., :3], np.ones((1, v.shape[1], 3)), blues(v[left])[..., :3]], axis=0)


def _valid_members(poses: np.ndarray) -> list[np.ndarray]:
    return [m for m in poses if np.isfinite(m).all() and np.abs(m).sum() > 0]


def cluster_heatmaps(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                     seed: int | None = None, n_clusters: int = 4, n_members: int = 3) -> Figure:
    """Figure 2 (left): for a few of CC-NCE's global clusters, ~3 member sequences each.

    Per cluster, one row: first the members overlaid in the image plane (where the right-arm joints
    (red) and left-arm joints (blue) went during the 64 frames: a density, darker = more time spent),
    then one heatmap per member of joint motion over time: each joint's distance from its position in
    the first frame (pixels), right-arm joints in reds above the white line, left-arm joints in blues
    below. Clusters with the most stored members are shown.
    """
    path = find_run(runs, data_source, "ccnce", speaker, seed, needs="clusters.npz")
    if path is None:
        raise MissingResults(f"no CC-NCE run with clusters.npz under results/{data_source}/")
    data = _load_npz(path, "clusters", ("poses", "cluster_ids"))
    poses, ids = np.asarray(data["poses"], dtype=float), np.asarray(data["cluster_ids"])
    members = [_valid_members(p) for p in poses]
    order = sorted(range(len(members)), key=lambda c: (-min(len(members[c]), n_members), c))
    chosen = [c for c in order if members[c]][:n_clusters]
    if not chosen:
        raise MissingResults(f"{run_label(path)}: clusters.npz has no stored member sequences")
    right, left = _arm_rows()
    fig = _new_figure(2.6 + 2.5 * n_members, 2.3 * len(chosen) + 0.5)
    axes = fig.subplots(len(chosen), 1 + n_members, squeeze=False,
                        gridspec_kw={"width_ratios": [1.1] + [1.0] * n_members})
    for row, c in zip(axes, chosen):
        seqs = members[c][:n_members]
        _overlay(row[0], seqs)
        row[0].set_title(f"cluster {int(ids[c])}: {len(seqs)} members overlaid", fontsize=8)
        disp = [joint_displacement(s).T for s in seqs]
        vmax = float(np.percentile(np.concatenate([d.ravel() for d in disp]), 99)) or 1.0
        for k, ax in enumerate(row[1:]):
            ax.set_xticks([]), ax.set_yticks([])
            if k >= len(disp):
                ax.set_axis_off()
                continue
            img = _two_tone(disp[k], right, left, vmax)
            ax.imshow(img, aspect="auto", interpolation="nearest", extent=(0, img.shape[1], img.shape[0], 0))
            ax.set_title(f"member {k + 1}: joint displacement", fontsize=8)
            ax.set_xlabel("frame (15 fps)", fontsize=7)
            ax.set_xticks([0, 32, 64])
            ax.set_yticks([len(right) / 2, len(right) + 1 + len(left) / 2], ["right arm", "left arm"], fontsize=7)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"Figure 2 (left), re-made: CC-NCE global clusters ({data_source}; colour scale per cluster "
                 f"up to its 99th percentile of displacement)", fontsize=9)
    _footer(fig, [path])
    return fig


def _overlay(ax, seqs: Sequence[np.ndarray], bins: int = 64) -> None:
    from ccnce.plots import draw_skeleton

    joints = [from_kept(s) for s in seqs]  # (T, 52, 2) each
    allxy = np.concatenate([j.reshape(-1, 2) for j in joints])
    lo, hi = np.percentile(allxy, 0.5, axis=0), np.percentile(allxy, 99.5, axis=0)
    pad = 0.08 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    side = (hi - lo).max()
    lo, hi = (lo + hi) / 2 - side / 2, (lo + hi) / 2 + side / 2

    def density(group: Sequence[int]) -> np.ndarray:
        pts = np.concatenate([j[:, list(group)].reshape(-1, 2) for j in joints])
        h, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=bins, range=[[lo[1], hi[1]], [lo[0], hi[0]]])
        h = np.log1p(h)
        return h / h.max() if h.max() > 0 else h

    r, b = density(RIGHT_ARM), density(LEFT_ARM)
    img = np.stack([(1 - b * 0.85), (1 - r * 0.85) * (1 - b * 0.6), (1 - r * 0.85)], axis=-1).clip(0, 1)
    ax.imshow(img, extent=(lo[0], hi[0], hi[1], lo[1]), interpolation="bilinear")
    conf = np.ones(N_JOINTS)
    conf[[7, 8, 9]] = 0  # nose and eyes are not predicted (they would sit on the neck)
    draw_skeleton(ax, joints[0][0], color="#777777", confidence=conf, linewidth=0.8, alpha=0.6)
    ax.set_xlim(lo[0], hi[0]), ax.set_ylim(hi[1], lo[1])
    ax.set_xticks([]), ax.set_yticks([])


# --------------------------------------------------------------------------- Figure 2 right: t-SNE
def tsne_embedding(z: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of row-normalised embeddings (scikit-learn, PCA initialisation, fixed seed)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    z = np.asarray(z, dtype=float)
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    perplexity = float(min(30.0, max(2.0, (len(z) - 1) / 3)))
    # one thread: a few hundred points take seconds, and OpenMP threads that wait for busy cores (a shared
    # 2-core machine) once made the same call take a minute
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z)


def _gesture_names() -> dict[int, str]:
    try:
        from ccnce.data.synth.lexicon import GESTURES
    except ImportError:
        return {}
    return {g.id: g.name for g in GESTURES}


def tsne_figure(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                seed: int | None = None, variants: Sequence[str] = ("ccnce", "none"), max_points: int = 600,
                top_clusters: int = 10) -> Figure:
    """Figure 2 (right): t-SNE of the pooled language embeddings ``z`` of test windows, one row per variant,
    coloured by CC-NCE's online cluster (the ``top_clusters`` largest; others grey) and by true gesture
    class (synthetic data). Same speaker and seed for every row; at most ``max_points`` windows (fixed
    subsample)."""
    pick = pick_speaker_seed(runs, data_source, variants, "embeddings.npz")
    if pick is None:
        raise MissingResults(f"no {' or '.join(variants)} run with embeddings.npz under results/{data_source}/")
    speaker = speaker or pick[0]
    seed = pick[1] if seed is None else seed
    paths = {v: find_run(runs, data_source, v, speaker, seed, needs="embeddings.npz") for v in variants}
    names = _gesture_names()
    fig = _new_figure(8.2, 3.5 * len(variants) + 0.4)
    axes = fig.subplots(len(variants), 2, squeeze=False)
    for row, v in zip(axes, variants):
        path = paths[v]
        if path is None:
            for ax in row:
                ax.set_axis_off()
                ax.text(0.5, 0.5, f"no {v} run for {speaker} seed {seed}", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8)
            continue
        emb = _load_npz(path, "embeddings", ("z",))
        z = emb["z"]
        n = len(z)
        cluster = np.asarray(emb.get("cluster", np.full(n, -1)))
        gesture = np.asarray(emb.get("gesture", np.full(n, UNLABELLED)))
        keep = np.sort(np.random.default_rng(0).permutation(n)[:max_points])
        xy = tsne_embedding(z[keep])
        metrics = _metrics(path)
        knn = metrics.get("knn_acc")
        knn_text = f", k-NN acc. {knn:.2f}" if isinstance(knn, (int, float)) else ""
        _scatter_clusters(row[0], xy, cluster[keep], top_clusters)
        row[0].set_title(f"{VARIANT_LABEL[v]}: coloured by online cluster", fontsize=8.5)
        _scatter_gestures(row[1], xy, gesture[keep], names)
        row[1].set_title(f"{VARIANT_LABEL[v]}: coloured by true gesture{knn_text}", fontsize=8.5)
    fig.suptitle(f"Figure 2 (right), re-made: t-SNE of language embeddings z, test windows ({data_source}, "
                 f"{speaker}, seed {seed})", fontsize=9)
    _footer(fig, [p for p in paths.values() if p is not None])
    return fig


def _metrics(path: Path) -> dict[str, Any]:
    try:
        return read_json(path / "metrics.json")
    except (OSError, json.JSONDecodeError):
        return {}


def _scatter_clusters(ax, xy: np.ndarray, cluster: np.ndarray, top: int) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    valid = cluster >= 0
    if not valid.any():
        ax.scatter(xy[:, 0], xy[:, 1], s=5, color="#999999", linewidths=0)
        ax.text(0.02, 0.02, "no online clusters recorded for this variant", transform=ax.transAxes, fontsize=7)
        return
    ids, counts = np.unique(cluster[valid], return_counts=True)
    largest = ids[np.argsort(-counts, kind="stable")[:top]]
    other = ~np.isin(cluster, largest)
    ax.scatter(xy[other, 0], xy[other, 1], s=4, color="#cccccc", linewidths=0, label="other / none")
    for color, c in zip(_palette(len(largest)), largest):
        m = cluster == c
        ax.scatter(xy[m, 0], xy[m, 1], s=7, color=color, linewidths=0, label=f"cluster {int(c)}")
    ax.legend(fontsize=5.5, markerscale=1.5, frameon=False, loc="best", ncol=2)


def _scatter_gestures(ax, xy: np.ndarray, gesture: np.ndarray, names: Mapping[int, str]) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    unknown = gesture == UNLABELLED
    ax.scatter(xy[unknown, 0], xy[unknown, 1], s=4, color="#cccccc", linewidths=0, label="unknown")
    classes = np.unique(gesture[~unknown])
    for color, g in zip(_palette(len(classes)), classes):
        m = gesture == g
        ax.scatter(xy[m, 0], xy[m, 1], s=7, color=color, linewidths=0, label=names.get(int(g), f"class {int(g)}"))
    if not len(classes):
        ax.text(0.02, 0.02, "no true gesture labels (real data)", transform=ax.transAxes, fontsize=7)
    ax.legend(fontsize=5.5, markerscale=1.5, frameon=False, loc="best", ncol=2)


# --------------------------------------------------------------------------------- k-NN grounding
CHANCE_OF = {"knn_acc": "knn_chance", "knn_probe": "knn_probe_chance"}


def chance_level(runs: pd.DataFrame, data_source: str = "synthetic", metric: str = "knn_acc") -> float:
    """Chance level of a grounding ``metric``, averaged over the runs that record it: for ``knn_acc`` the
    test majority class's share, for ``knn_probe`` the probe with permuted reference classes."""
    column = CHANCE_OF[metric]
    if column not in runs:
        return math.nan
    recorded = runs.loc[runs["data_source"] == data_source, column].dropna()
    return float(recorded.mean()) if len(recorded) else math.nan


def grounding_table(runs: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """Per variant: the grounding measures of z and their chance levels, mean ± std over all runs
    (speakers × seeds)."""
    sub = runs[runs["data_source"] == data_source]
    columns = {METRICS["knn_probe"].label: "knn_probe", "probe chance": "knn_probe_chance",
               METRICS["knn_acc"].label: "knn_acc", "test-only chance": "knn_chance",
               METRICS["silhouette"].label: "silhouette"}
    rows = []
    for v in VARIANT_ORDER:
        r = sub[sub["variant"] == v]
        row = {"variant": v}
        for label, column in columns.items():
            vals = r[column].dropna().to_numpy() if column in r else np.array([])
            mean, std = _mean_std(pd.Series(vals))
            row[label] = (MISSING if not len(vals) else
                          f"{mean:.3f}" + (f" ± {std:.3f}" if len(vals) > 1 else "") + f" ({len(vals)} runs)")
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def cluster_quality_table(runs: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """CC-NCE's final online clusters vs. true gestures: NMI, ARI, purity (rows) per speaker and mean,
    mean ± std over seeds; only CC-NCE has online clusters."""
    rows, best = {}, {}
    for metric in ("cluster_nmi", "cluster_ari", "cluster_purity"):
        table = metric_table(runs, metric, data_source)
        rows[METRICS[metric].label] = table.loc["ccnce"]
    out = pd.DataFrame(rows).T
    out.index.name = "CC-NCE"
    out.attrs["caption"] = (f"Online global clusters of CC-NCE at the end of training vs. the true gesture classes "
                            f"({SOURCE_LABEL.get(data_source, data_source)}, test windows): mean ± std over seeds "
                            f"(n). Higher is better; 1 = the clusters are the classes.")
    return out


def knn_figure(runs: pd.DataFrame, data_source: str = "synthetic") -> Figure:
    """Grounding of ``z`` per variant: probe k-NN accuracy, test-only k-NN accuracy and silhouette; one
    dot per run (colour = speaker), bar = mean over runs, dashed line = the measure's chance level."""
    sub = runs[runs["data_source"] == data_source]
    if sub["knn_acc"].notna().sum() == 0:
        raise MissingResults(f"no run under results/{data_source}/ records knn_acc")
    fig = _new_figure(11.0, 3.0)
    axes = fig.subplots(1, 3)
    colors = dict(zip(SPEAKERS, _palette(len(SPEAKERS))))
    jitter = np.linspace(-0.18, 0.18, len(SPEAKERS))
    for ax, metric in zip(axes, ("knn_probe", "knn_acc", "silhouette")):
        for i, v in enumerate(VARIANT_ORDER):
            r = sub[(sub["variant"] == v) & sub[metric].notna()]
            if len(r):
                ax.bar(i, r[metric].mean(), color="#e8e8e8", edgecolor="#999999", width=0.6)
            for k, speaker in enumerate(SPEAKERS):
                rs = r[r["speaker"] == speaker]
                ax.scatter(np.full(len(rs), i + jitter[k]), rs[metric], s=12, color=colors[speaker],
                           label=speaker if i == 0 else None, zorder=3)
        ax.set_xticks(range(len(VARIANT_ORDER)), [VARIANT_LABEL[v] for v in VARIANT_ORDER], fontsize=7.5)
        ax.set_title(METRICS[metric].label + " of z", fontsize=8.5)
        ax.tick_params(labelsize=7)
        chance = chance_level(runs, data_source, metric) if metric in CHANCE_OF else math.nan
        if np.isfinite(chance):
            ax.axhline(chance, linestyle="--", color="#444444", linewidth=1, label="chance")
    axes[0].legend(fontsize=6.5, frameon=False, loc="best")
    fig.suptitle(f"Grounding of the language embeddings: how well z predicts the true gesture ({data_source})",
                 fontsize=9)
    _footer(fig, [], note=f"{int(sub['knn_acc'].notna().sum())} runs under results/{data_source}/")
    return fig


# ------------------------------------------------------------------------- Figure 4: qualitative
_NO_FACE = np.ones(N_JOINTS)
_NO_FACE[[7, 8, 9]] = 0  # nose and eyes are not predicted


def _qualitative_inputs(runs: pd.DataFrame, data_source: str, speaker: str | None, seed: int | None,
                        window: int) -> tuple[dict[str, Path], dict[str, dict[str, np.ndarray]], str, int]:
    pick = pick_speaker_seed(runs, data_source, VARIANT_ORDER, "generated.npz")
    if pick is None:
        raise MissingResults(f"no run with generated.npz under results/{data_source}/")
    speaker = speaker or pick[0]
    seed = pick[1] if seed is None else seed
    paths = {v: p for v in VARIANT_ORDER
             if (p := find_run(runs, data_source, v, speaker, seed, needs="generated.npz")) is not None}
    if not paths:
        raise MissingResults(f"no run with generated.npz for {speaker} seed {seed} under results/{data_source}/")
    data = {v: _load_npz(p, "generated", ("pred", "true")) for v, p in paths.items()}
    for v, d in data.items():
        if not 0 <= window < len(d["pred"]):
            raise MissingResults(f"{run_label(paths[v])}: generated.npz has {len(d['pred'])} windows, no window {window}")
    return paths, data, speaker, seed


def qualitative_figure(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                       seed: int | None = None, window: int = 0, n_frames: int = 6) -> Figure:
    """Figure 4: one row per variant; ``n_frames`` frames across one test window, the generated skeleton
    (right arm red, left arm blue) drawn over the true one (grey) at the same frames."""
    from ccnce.plots import draw_skeleton

    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, window)
    fig = _new_figure(1.35 * n_frames + 1.0, 1.25 * len(paths) + 0.6)
    axes = fig.subplots(len(paths), 1, squeeze=False)[:, 0]
    for ax, (v, d) in zip(axes, data.items()):
        pred, true = from_kept(np.asarray(d["pred"][window], float)), from_kept(np.asarray(d["true"][window], float))
        frames = np.linspace(0, len(true) - 1, n_frames).round().astype(int)
        width = np.ptp(np.concatenate([true[:, :, 0], pred[:, :, 0]]))
        step = 1.15 * width
        for k, t in enumerate(frames):
            draw_skeleton(ax, true[t], color=TRUE_COLOR, confidence=_NO_FACE * plausible(true[t]),
                          offset=(k * step, 0), linewidth=2.2)
            draw_skeleton(ax, pred[t], confidence=_NO_FACE * plausible(pred[t]), offset=(k * step, 0), linewidth=1.2)
        ax.set_xticks([k * step for k in range(n_frames)], [f"frame {t}" for t in frames], fontsize=6.5)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel(VARIANT_LABEL[v], fontsize=8)
    fig.suptitle(f"Figure 4, re-made: generated (colour) over true (grey), test window {window} "
                 f"({data_source}, {speaker}, seed {seed})", fontsize=9)
    _footer(fig, paths.values())
    return fig


def _segments(joints: np.ndarray) -> np.ndarray:
    """(52, 2) joints → (n_bones, 2, 2) line segments child–parent; face bones and bones to a dropped
    keypoint (:func:`ccnce.plots.plausible`) collapse to a point at the parent."""
    ok = plausible(joints)
    return np.array([[joints[p], joints[j] if ok[j] and ok[p] else joints[p]]
                     for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]])


def _segment_colors() -> list[str]:
    return [RIGHT_COLOR if j in RIGHT_ARM else LEFT_COLOR if j in LEFT_ARM else BODY_COLOR
            for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]]


def animation_gif(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                  seed: int | None = None, window: int = 0, fps: int = 15, dpi: int = 80,
                  frames: int | None = None) -> bytes:
    """An animated GIF (bytes) of one test window: one panel per variant, generated over true (grey), at
    the data's 15 fps (matplotlib.animation + PillowWriter); ``frames`` limits it to the first frames."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, window)
    fig = Figure(figsize=(2.3 * len(paths), 2.9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(paths), squeeze=False)[0]
    seqs = {v: (from_kept(np.asarray(d["pred"][window], float)), from_kept(np.asarray(d["true"][window], float)))
            for v, d in data.items()}
    allxy = np.concatenate([np.concatenate([p, t])[plausible(np.concatenate([p, t])) > 0] for p, t in seqs.values()])
    lo, hi = allxy.min(axis=0), allxy.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    colors = _segment_colors()
    lines = []
    for ax, (v, (pred, true)) in zip(axes, seqs.items()):
        true_lc = LineCollection(_segments(true[0]), colors=TRUE_COLOR, linewidths=3.0)
        pred_lc = LineCollection(_segments(pred[0]), colors=colors, linewidths=1.5)
        ax.add_collection(true_lc), ax.add_collection(pred_lc)
        ax.set_xlim(lo[0] - pad, hi[0] + pad), ax.set_ylim(hi[1] + pad, lo[1] - pad)
        ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(VARIANT_LABEL[v], fontsize=9)
        lines.append((true_lc, pred_lc, pred, true))
    label = fig.text(0.5, 0.02, "", ha="center", fontsize=7, color="#555555")
    fig.suptitle(f"{data_source} · {speaker} · seed {seed} · test window {window}: generated (colour), true (grey)",
                 fontsize=7.5)
    n_frames = min(len(t) for _, _, _, t in lines)
    n_frames = min(n_frames, frames) if frames else n_frames

    def update(t: int):
        for true_lc, pred_lc, pred, true in lines:
            true_lc.set_segments(_segments(true[t]))
            pred_lc.set_segments(_segments(pred[t]))
        label.set_text(f"frame {t + 1}/{n_frames} (15 fps)")
        return []

    anim = FuncAnimation(fig, update, frames=n_frames, blit=False)
    with tempfile.TemporaryDirectory(prefix="ccnce-gif-") as tmp:
        out = Path(tmp) / "window.gif"
        anim.save(out, writer=PillowWriter(fps=fps), dpi=dpi)
        return out.read_bytes()


def animation_html(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs: Any) -> str:
    """:func:`animation_gif` embedded as an ``<img>`` with a data URI (self-contained, works offline)."""
    gif = animation_gif(runs, data_source, **kwargs)
    return (f'<img class="ccnce-animation" alt="animated test window: generated over true skeletons" '
            f'src="data:image/gif;base64,{base64.b64encode(gif).decode()}"/>')


def show_animation(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs: Any) -> None:
    """Display :func:`animation_html` in a notebook, or say what is missing."""
    from IPython.display import HTML, display

    try:
        display(HTML(animation_html(runs, data_source, **kwargs)))
    except MissingResults as e:
        show(f"*Animation not available: {e}.*")


# ------------------------------------------------------------------------------- the idea, drawn
def idea_figure() -> Figure:
    """A schematic of CC-NCE for the introduction: phrases with unrelated meanings that share a gesture
    are pulled together in embedding space; which phrases share a gesture comes from clustering the
    ground-truth gestures online, not from labels."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    fig = Figure(figsize=(9.6, 3.6))
    ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
    ax.set_xlim(0, 10.4), ax.set_ylim(0, 4.2), ax.set_axis_off()
    groups = ((RIGHT_COLOR, 3.0, ("“someone gave me a gift”", "“my heart is beating so fast”"), "pointing at oneself"),
              (LEFT_COLOR, 1.25, ("“the entire bottom row”", "“molecules expand and decay”"), "spreading both hands"))
    headers = ((1.65, "speech + transcript"), (4.75, "ground-truth gestures y"), (8.55, "language embeddings z"))
    for x, text in headers:
        ax.text(x, 4.0, text, ha="center", fontsize=9, weight="bold")
    for color, y, phrases, gesture in groups:
        for dy, phrase in zip((0.33, -0.33), phrases):
            ax.add_patch(FancyBboxPatch((0.2, y + dy - 0.2), 2.9, 0.4, boxstyle="round,pad=0.03",
                                        facecolor="white", edgecolor=color, linewidth=1.1))
            ax.text(1.65, y + dy, phrase, ha="center", va="center", fontsize=8)
            ax.add_patch(FancyArrowPatch((3.15, y + dy), (4.05, y), arrowstyle="-|>", mutation_scale=8,
                                         color=color, linewidth=0.8))
        _glyph(ax, 4.75, y + 0.2, 0.75, spread=color == LEFT_COLOR)
        ax.text(4.75, y - 0.6, gesture, ha="center", fontsize=7.5, color=color)
    ax.text(4.75, 2.12, "clustered online (Alg. 1–2):\nsimilar iff Sim(y, y′) ≥ μ̂ + σ̂", ha="center",
            va="center", fontsize=7, color="#444444")
    ax.add_patch(FancyArrowPatch((5.7, 2.12), (6.45, 2.12), arrowstyle="-|>", mutation_scale=10, color="#444444"))
    rng = np.random.default_rng(3)
    for x0, label, tight in ((7.55, "without: meaning decides", False), (9.55, "CC-NCE: gesture decides", True)):
        ax.add_patch(Rectangle((x0 - 0.8, 0.55), 1.6, 3.1, facecolor="#f7f7f7", edgecolor="#dddddd"))
        ax.text(x0, 0.3, label, ha="center", fontsize=7.5)
        for color, cy in ((RIGHT_COLOR, 2.75), (LEFT_COLOR, 1.45)):
            pts = (rng.normal(0, 0.1, size=(5, 2)) + (x0, cy) if tight
                   else rng.uniform((x0 - 0.65, 0.75), (x0 + 0.65, 3.45), size=(5, 2)))
            ax.scatter(pts[:, 0], pts[:, 1], s=20, color=color, alpha=0.9, zorder=3)
    ax.text(9.55, 3.5, "pull: same cluster\npush: other clusters", ha="center", va="top", fontsize=6.5,
            color="#444444")
    return fig


def _glyph(ax, x: float, y: float, size: float, spread: bool) -> None:
    """A stick figure facing the viewer (its right arm on our left): pointing at itself or spreading."""
    from matplotlib.patches import Circle

    s = size
    right = [(-0.22, 0), (-0.5, -0.05), (-0.72, 0.02)] if spread else [(-0.22, 0), (-0.3, -0.32), (-0.04, -0.15)]
    left = [(0.22, 0), (0.5, -0.05), (0.72, 0.02)] if spread else [(0.22, 0), (0.26, -0.32), (0.25, -0.58)]
    for pts, color in ((right, RIGHT_COLOR), (left, LEFT_COLOR)):
        xy = np.array([(0, 0), *pts]) * s + (x, y)
        ax.plot(xy[:, 0], xy[:, 1], color=color, linewidth=1.6, solid_capstyle="round")
    ax.plot([x, x], [y, y - 0.6 * s], color=BODY_COLOR, linewidth=1.6)
    ax.add_patch(Circle((x, y + 0.16 * s), 0.1 * s, facecolor="white", edgecolor=BODY_COLOR, linewidth=1.2))


# ------------------------------------------------------------------------------------- performance
BENCHMARKS: dict[str, str] = {
    "clustering": "vectorised online clustering (Algorithms 1–2) vs. the plain-Python reference: speed-up",
    "step": "milliseconds per training step (D + G) per variant, and the ratio to the backbone alone",
    "cache": "what the window cache costs to build and what it buys when reading",
}
"""Benchmarks the Performance page expects as ``results/bench/<name>.json`` (``ccnce bench NAME --json``)."""


def load_bench(results: str | Path | None = None) -> dict[str, Any]:
    """Every ``results/bench/*.json`` (benchmark outputs), by file stem; unreadable files are reported as
    a string."""
    root = (Path(results) if results is not None else results_dir()) / "bench"
    out: dict[str, Any] = {}
    for f in sorted(root.glob("*.json")):
        try:
            out[f.stem] = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            out[f.stem] = f"unreadable: {e}"
    return out


def bench_table(result: Any) -> pd.DataFrame:
    """One benchmark's JSON as a table: a mapping of mappings becomes rows × fields, a flat mapping two
    columns (quantity, value); nested values are shown as JSON text."""
    def cell(x: Any) -> Any:
        if isinstance(x, float):
            return f"{x:,.4g}"
        return json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else x

    if isinstance(result, dict) and result and all(isinstance(v, dict) for v in result.values()):
        df = pd.DataFrame.from_dict(result, orient="index")
        return df.map(cell)
    if isinstance(result, dict):
        return pd.DataFrame({"quantity": list(result), "value": [cell(v) for v in result.values()]}).set_index("quantity")
    return pd.DataFrame({"value": [cell(result)]})


def sweep_time_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Wall time of the runs (from provenance): per data source and variant, runs, total hours, median
    minutes per run, and the devices used."""
    if runs.empty:
        return pd.DataFrame(columns=["runs", "total hours", "median min/run", "device"])
    rows = []
    for (source, variant), g in runs.groupby(["data_source", "variant"], sort=False):
        w = g["wall_seconds"].astype(float).dropna()
        rows.append({"data_source": source, "variant": variant, "runs": len(g),
                     "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                     "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING,
                     "device": "; ".join(sorted({str(d) for d in g["device"].dropna()})) or MISSING})
    w = runs["wall_seconds"].astype(float).dropna()
    rows.append({"data_source": "all", "variant": "all", "runs": len(runs),
                 "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                 "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING, "device": ""})
    return pd.DataFrame(rows).set_index(["data_source", "variant"])


# ------------------------------------------------------------------------------ synthetic dataset
def lexicon_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic lexicon as two tables: gesture classes, and phrase families with their classes."""
    from ccnce.data.synth.lexicon import FAMILIES, GESTURES

    names = {g.id: g.name for g in GESTURES}
    gestures = pd.DataFrame([{"id": g.id, "gesture": g.name, "motion": g.description,
                              "phrase families": ", ".join(f.name for f in FAMILIES if g.id in dict(f.classes))}
                             for g in GESTURES]).set_index("id")
    families = pd.DataFrame([{"family": f.name,
                              "gesture(s)": ", ".join(f"{names[c]} ({p:.0%})" if f.ambiguous else names[c]
                                                      for c, p in f.classes),
                              "phrasings": " / ".join(f.phrasings)} for f in FAMILIES])
    families.index.name = "id"
    gestures.attrs["html_classes"] = families.attrs["html_classes"] = "ccnce-text"
    return gestures, families


def dataset_summary(root: str | Path) -> pd.DataFrame:
    """Intervals and hours per speaker and split of a PATS-layout root (from ``cmu_intervals_df.csv``)."""
    df = pd.read_csv(Path(root) / "cmu_intervals_df.csv", dtype={"interval_id": str})
    g = df.groupby(["speaker", "dataset"])["delta_time"]
    out = pd.DataFrame({"intervals": g.size(), "hours": (g.sum() / 3600).round(2)}).unstack("dataset")
    return out


def separability_tables(result: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables of ``ccnce.data.separability.measure_separability``: per speaker and similarity, the μ̂+σ̂
    threshold scored as a classifier of "same gesture class" over window pairs; and per speaker and class,
    the recall of the dot-product threshold (share of same-class pairs it calls similar)."""
    rows = []
    for speaker, r in result["speakers"].items():
        for kind in ("dot", "cosine"):
            m = r[kind]
            rows.append({"speaker": speaker, "Sim": kind, "windows": r["windows"], "labelled": r["labelled"],
                         "mean Sim, same class": f"{m['within_mean']:.3g}",
                         "mean Sim, different": f"{m['across_mean']:.3g}", "μ̂+σ̂": f"{m['threshold']:.3g}",
                         "same-class pairs": f"{m['base_rate']:.3f}", "precision": f"{m['precision']:.3f}",
                         "recall": f"{m['recall']:.3f}", "ROC AUC": f"{m['auc']:.3f}"})
    summary = pd.DataFrame(rows).set_index(["speaker", "Sim"])
    names = list(result.get("classes", []))
    per_class = pd.DataFrame({speaker: {names[int(c)] if int(c) < len(names) else f"class {c}":
                                        f"{v['recall']:.2f} ({v['windows']})" for c, v in r["dot"]["per_class"].items()}
                              for speaker, r in result["speakers"].items()}).T
    per_class.index.name = "speaker"
    return summary, per_class


# ------------------------------------------------------------------------------------ notebook glue
def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show(obj: Any) -> None:
    """Display in a notebook: a Figure as PNG (closing it if pyplot made it), a table of this module as
    HTML with its caption and bold best, another DataFrame as HTML (CSS classes from
    ``attrs["html_classes"]``), a string as Markdown."""
    import sys

    from IPython.display import HTML, Image, Markdown, display

    if isinstance(obj, Figure):
        display(Image(data=figure_png(obj)))
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(obj)
    elif isinstance(obj, pd.DataFrame):
        classes = f"ccnce-table {obj.attrs.get('html_classes', '')}".strip()
        display(HTML(to_html(obj) if "best" in obj.attrs else obj.to_html(border=0, classes=classes, na_rep=MISSING)))
    else:
        display(Markdown(str(obj)))


def show_figure(make: Callable[..., Figure], *args: Any, **kwargs: Any) -> None:
    """``show(make(*args, **kwargs))``, or a sentence saying what is missing (:class:`MissingResults`)."""
    try:
        fig = make(*args, **kwargs)
    except MissingResults as e:
        show(f"*Figure not available: {e}. It appears once the runs exist (see the coverage statement).*")
        return
    show(fig)


__all__ = [
    "collect_runs", "coverage", "metric_summary", "metric_table", "paper_table", "side_by_side",
    "paired_comparisons", "paired_summary", "format_paired", "to_html", "paper_mean_note", "paper_gap_note", "metric_figure", "cluster_quality_table",
    "show_animation", "training_curves", "clustering_curves",
    "cluster_quality_curves", "cluster_heatmaps", "tsne_figure", "knn_figure", "grounding_table",
    "qualitative_figure", "animation_gif", "animation_html", "idea_figure", "load_bench", "bench_table",
    "sweep_time_table", "lexicon_tables", "dataset_summary", "separability_tables", "show", "show_figure", "MissingResults",
]

"""Tables and figures for the Data page: the synthetic lexicon, a dataset's intervals and hours, the
synthetic speakers' pose statistics beside the real PATS ones they were derived from, and how well the
clustering threshold separates gesture classes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.figures import _footer, _new_figure
from ccnce.report.runs import MissingResults

REAL, SYNTHETIC = "real PATS", "synthetic"
# pose/data: 52 x values then 52 y values, joints relative to the neck (joint 0, absolute); OpenPose order
_R_SHOULDER, _R_ELBOW, _R_WRIST, _L_SHOULDER, _L_ELBOW, _L_WRIST = 1, 2, 3, 4, 5, 6
POSE_QUANTITIES = ("shoulder half-width (px)", "upper arm (px)", "right wrist spread (std / half-width)",
                   "left wrist spread (std / half-width)")


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


def pose_quantities(mean: np.ndarray, var: np.ndarray) -> dict[str, float]:
    """What :mod:`ccnce.data.synth.speakers` takes from a speaker's ``pose/data`` statistics (104-vectors,
    x block then y block, pixels): shoulder half-width, upper-arm length (both from the mean pose) and
    each wrist's spread (its x and y standard deviations, averaged, over the half-width)."""
    mean, var = np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64)
    xy = np.stack([mean[:52], mean[52:]], axis=1)
    half_width = 0.5 * (np.linalg.norm(xy[_R_SHOULDER]) + np.linalg.norm(xy[_L_SHOULDER]))
    upper = 0.5 * (np.linalg.norm(xy[_R_ELBOW] - xy[_R_SHOULDER]) + np.linalg.norm(xy[_L_ELBOW] - xy[_L_SHOULDER]))
    std = np.sqrt(var)
    spread = {j: 0.5 * (std[j] + std[52 + j]) / half_width for j in (_R_WRIST, _L_WRIST)}
    return dict(zip(POSE_QUANTITIES, (float(half_width), float(upper), float(spread[_R_WRIST]),
                                      float(spread[_L_WRIST]))))


def synthetic_pose_stats(root: str | Path, speaker: str, max_intervals: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Per-value mean and variance of ``pose/data`` over the frames of (at most ``max_intervals``, evenly
    spaced) training intervals of ``speaker`` in a PATS-layout root."""
    import h5py

    from ccnce.data.pats import PatsRoot

    pats = PatsRoot(root)
    ids = pats.intervals(speaker, "train")
    if not ids:
        raise MissingResults(f"no training intervals of {speaker} in {root}")
    ids = [ids[i] for i in np.unique(np.linspace(0, len(ids) - 1, min(max_intervals, len(ids))).astype(int))]
    frames = []
    for interval_id in ids:
        with h5py.File(pats.path(speaker, interval_id), "r") as f:
            frames.append(np.asarray(f["pose/data"], dtype=np.float64))
    pose = np.concatenate(frames)
    return pose.mean(axis=0), pose.var(axis=0)


def speaker_stats_table(root: str | Path | None, speakers: list[str] | None = None) -> pd.DataFrame:
    """Long table (speaker, source, quantity, value) of :func:`pose_quantities` for the real PATS
    statistics in ``ccnce/assets/pats_stats`` and, when ``root`` holds a synthetic dataset, for the
    synthetic speakers' training poses."""
    from ccnce.config import SPEAKERS
    from ccnce.data.synth.speakers import stats

    have_synthetic = root is not None and (Path(root) / "cmu_intervals_df.csv").exists()
    rows = []
    for speaker in speakers or list(SPEAKERS):
        real = stats(speaker)
        sources = {REAL: (real["pose/data/mean"], real["pose/data/var"])}
        if have_synthetic:
            sources[SYNTHETIC] = synthetic_pose_stats(root, speaker)
        for source, (mean, var) in sources.items():
            rows += [{"speaker": speaker, "source": source, "quantity": q, "value": v}
                     for q, v in pose_quantities(mean, var).items()]
    return pd.DataFrame(rows, columns=["speaker", "source", "quantity", "value"])


def speaker_stats_figure(table: pd.DataFrame) -> Figure:
    """:func:`speaker_stats_table` as grouped bars (seaborn): one panel per quantity, speakers along x,
    real PATS beside synthetic."""
    import seaborn as sns

    if table.empty:
        raise MissingResults("no speaker statistics")
    quantities = list(dict.fromkeys(table["quantity"]))
    fig = _new_figure(3.0 * len(quantities), 2.9)
    axes = fig.subplots(1, len(quantities), squeeze=False)[0]
    palette = {REAL: "#7f7f7f", SYNTHETIC: "#1f77b4"}
    for ax, quantity in zip(axes, quantities):
        d = table[table["quantity"] == quantity]
        sns.barplot(data=d, x="speaker", y="value", hue="source", ax=ax, palette=palette,
                    hue_order=[s for s in (REAL, SYNTHETIC) if s in set(d["source"])], legend=ax is axes[0])
        ax.set_title(quantity, fontsize=8)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=30)
    if axes[0].get_legend() is not None:
        axes[0].legend(loc="lower left", fontsize=6.5, framealpha=0.85)
    _footer(fig, [], note="real: ccnce/assets/pats_stats (PATS training statistics, Ahuja et al. 2020); "
                          "synthetic: pose/data of training intervals of the dataset in this build")
    return fig


def separability_figure(result: Mapping[str, Any], kind: str = "dot") -> Figure:
    """Histograms of ``Sim`` (``kind``: "dot" or "cosine") over pairs of labelled training windows, same
    gesture class vs different classes, each normalised to its own area, with the μ̂ + σ̂ threshold; one
    panel per speaker of :func:`ccnce.data.separability.measure_separability`."""
    speakers = [s for s, r in result["speakers"].items() if "histogram" in r[kind]]
    if not speakers:
        raise MissingResults("the separability result has no histograms (measured by an older ccnce)")
    fig = _new_figure(2.6 * len(speakers), 2.6)
    axes = fig.subplots(1, len(speakers), squeeze=False)[0]
    for ax, speaker in zip(axes, speakers):
        m = result["speakers"][speaker][kind]
        h = m["histogram"]
        edges = np.asarray(h["edges"])
        for key, label, color in (("different", "different class", "#9a9a9a"), ("same", "same class", "#c0392b")):
            counts = np.asarray(h[key], dtype=np.float64)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            ax.stairs(density, edges, fill=True, alpha=0.45, color=color, label=f"{label} ({int(counts.sum()):,})")
        ax.axvline(m["threshold"], color="#222222", linewidth=1.0, linestyle="--", label="μ̂ + σ̂")
        ax.set_title(f"{speaker}: recall {m['recall']:.2f}, precision {m['precision']:.2f}", fontsize=7.5)
        ax.set_xlabel(f"Sim ({kind})", fontsize=7.5)
        ax.set_yticks([])
        ax.tick_params(labelsize=6.5)
    axes[0].set_ylabel("density (pairs)", fontsize=7.5)
    axes[0].legend(fontsize=6.5, frameon=False)
    _footer(fig, [], note="pairs of labelled training windows of the synthetic dataset in this build "
                          "(ccnce separability); the threshold is estimated over all pairs")
    return fig

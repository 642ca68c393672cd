"""Training curves from each run's ``history.csv``: the losses per variant, CC-NCE's online clustering per
seed, and its clusters against the true gesture classes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.figures import _footer, _new_figure, _palette
from ccnce.report.runs import VARIANT_LABEL, VARIANT_ORDER, MissingResults, find_run, pick_speaker_seed, read_history

CURVE_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "rec": (("rec",), "reconstruction L1 (train)"),
    "adv": (("adv_g", "loss_d"), "adversarial: G (solid), D loss (dashed)"),
    "mix": (("mix",), "pose-cluster cross-entropy"),
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

"""What the figures share (size and layout, palette, arm colours, a footer naming the runs drawn from)
and :func:`metric_figure`, a table of :func:`~ccnce.report.tables.metric_table` as a picture."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.runs import PAPER_LABEL, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER, MissingResults, run_label
from ccnce.report.tables import _info, _mean_std, _paper_metric, _per_seed, load_paper_tables

RIGHT_COLOR = "#c0392b"  # right arm red, left arm blue, as in ccnce.plots and the paper's Figure 2
LEFT_COLOR = "#2e6fba"
BODY_COLOR = "#555555"
TRUE_COLOR = "#b8b8b8"


def _footer(fig: Figure, paths: Iterable[str | Path], note: str = "") -> None:
    labels = sorted({run_label(p) for p in paths})
    text = "from results/: " + "; ".join(labels) if labels else ""
    fig.supxlabel((note + "  " if note else "") + text, x=0.005, ha="left", fontsize=6.5, color="#666666")


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.get_layout_engine().set(h_pad=0.04, w_pad=0.04)
    return fig


def _palette(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


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

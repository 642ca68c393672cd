"""What the figures share (size and layout, palette, arm colours, a footer naming the runs drawn from)
and :func:`metric_figure`, a table of :func:`~ccnce.report.tables.metric_table` as a picture."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.runs import PAPER_LABEL, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER, MissingResults, run_label
from ccnce.report.tables import _info, _paper_metric, _per_seed, load_paper_tables

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
    """A table of :func:`metric_table` as a picture (seaborn): per speaker, each variant's seeds (small dots)
    and mean ± std (marker and bar); for L1 and FID a second panel with the paper's values (real PATS) on
    the same layout."""
    import seaborn as sns

    info = _info(metric)
    values = _per_seed(runs, metric, data_source)
    if not any(len(v) for v in values.values()):
        raise MissingResults(f"no run under results/{data_source}/ records {metric}")
    paper = metric.lower() in ("l1", "fid")
    fig = _new_figure(8.6, 2.9 * (2 if paper else 1) + 0.3)
    axes = fig.subplots(2 if paper else 1, 1, squeeze=False)[:, 0]
    labels = [VARIANT_LABEL[v] for v in VARIANT_ORDER]
    layout = {"x": "speaker", "y": "value", "hue": "variant", "order": SPEAKERS, "hue_order": labels,
           "palette": dict(zip(labels, _palette(len(labels))))}
    seeds = pd.DataFrame([{"speaker": s, "variant": VARIANT_LABEL[v], "value": x}
                          for (s, v), vals in values.items() if v in VARIANT_LABEL for x in vals],
                         columns=["speaker", "variant", "value"])
    sns.pointplot(data=seeds, **layout, ax=axes[0], dodge=0.6, errorbar="sd", linestyle="none", markers="o",
                  markersize=5, capsize=0.08, err_kws={"linewidth": 1.2})
    sns.stripplot(data=seeds, **layout, ax=axes[0], dodge=True, jitter=0.24, size=3, alpha=0.8, linewidth=0.5,
                  edgecolor="white", zorder=4, legend=False)
    axes[0].set_title(f"{info.label}, {SOURCE_LABEL.get(data_source, data_source)}: mean ± std over seeds "
                      f"(small dots: single seeds)", fontsize=8.5)
    if paper:
        table = load_paper_tables()
        table = table[(table["metric"] == _paper_metric(metric)) & table["model"].isin(VARIANT_LABEL)]
        table = table.assign(variant=table["model"].map(VARIANT_LABEL), std=table["std"].fillna(0.0))
        # each published value as the two ends of its ± interval: their mean is the value, their range the ±
        ends = pd.concat([table.assign(value=table["mean"] - table["std"]),
                          table.assign(value=table["mean"] + table["std"])], ignore_index=True)
        sns.pointplot(data=ends, **layout, ax=axes[1], dodge=0.6, errorbar=("pi", 100), linestyle="none",
                      markers="s", markersize=4.5, capsize=0.08, err_kws={"linewidth": 1.2}, legend=False)
        axes[1].set_title(f"{info.label}, {PAPER_LABEL}: the paper's mean ± its ± value", fontsize=8.5)
    for ax in axes:
        ax.set_xlabel("")
        ax.tick_params(axis="x", labelsize=8)
        ax.tick_params(axis="y", labelsize=7.5)
        ax.set_ylabel(f"{info.label} ({info.better} is better)" if info.better in ("lower", "higher")
                      else info.label, fontsize=8)
        ax.grid(axis="y", color="#eeeeee")
        ax.set_axisbelow(True)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", fontsize=7, frameon=False, ncol=4)
    axes[0].get_legend().remove()
    _footer(fig, [], note=f"{sum(len(v) for v in values.values())} runs under results/{data_source}/")
    return fig

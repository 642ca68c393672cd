"""Grounding of the language embeddings z: how well they predict the true gesture (k-NN accuracies,
silhouette, chance levels) per variant, and how CC-NCE's final online clusters match the classes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.figures import _footer, _new_figure, _palette
from ccnce.report.runs import METRICS, MISSING, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER, MissingResults
from ccnce.report.tables import _mean_std, metric_table

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
    """Grounding of ``z`` per variant (seaborn): probe k-NN accuracy, test-only k-NN accuracy and silhouette;
    one dot per run (colour = speaker), bar = mean over runs, dashed line = the measure's chance level."""
    import seaborn as sns

    sub = runs[runs["data_source"] == data_source]
    if sub["knn_acc"].notna().sum() == 0:
        raise MissingResults(f"no run under results/{data_source}/ records knn_acc")
    sub = sub.assign(variant=sub["variant"].map(VARIANT_LABEL))
    labels = [VARIANT_LABEL[v] for v in VARIANT_ORDER]
    fig = _new_figure(11.0, 3.0)
    axes = fig.subplots(1, 3)
    for ax, metric in zip(axes, ("knn_probe", "knn_acc", "silhouette")):
        sns.barplot(data=sub, x="variant", y=metric, order=labels, ax=ax, errorbar=None, color="#e8e8e8",
                    edgecolor="#999999", saturation=1, width=0.8)
        sns.stripplot(data=sub, x="variant", y=metric, order=labels, hue="speaker", hue_order=SPEAKERS, ax=ax,
                      palette=dict(zip(SPEAKERS, _palette(len(SPEAKERS)))), dodge=True, jitter=False, size=3.5,
                      zorder=3, legend=ax is axes[0])
        ax.set_title(METRICS[metric].label + " of z", fontsize=8.5)
        ax.set_xlabel(""), ax.set_ylabel("")
        ax.tick_params(axis="x", labelsize=7.5)
        ax.tick_params(axis="y", labelsize=7)
        chance = chance_level(runs, data_source, metric) if metric in CHANCE_OF else math.nan
        if np.isfinite(chance):
            ax.axhline(chance, linestyle="--", color="#444444", linewidth=1, label="chance")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=6.5, frameon=False)
    axes[0].get_legend().remove()
    fig.suptitle(f"Grounding of the language embeddings: how well z predicts the true gesture ({data_source})",
                 fontsize=9)
    _footer(fig, [], note=f"{int(sub['knn_acc'].notna().sum())} runs under results/{data_source}/")
    return fig

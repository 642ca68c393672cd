"""Forest plots of the paired comparisons: per speaker (and the Mean column), CC-NCE minus each other
variant over the seeds both have, with a t-based 95 % interval and Holm-corrected p-values.

Why not :func:`ccnce.metrics.paired_comparison` (a percentile bootstrap): with 5 seeds the bootstrap has
few distinct resamples and is too narrow; the paired t interval ``d̄ ± t₀.₉₇₅,ₙ₋₁ · s_d / √n`` is the
textbook interval for a mean difference of n paired seeds. Many comparisons are read at once (6 rows ×
3 baselines per metric), so the p-values of the paired t-tests are adjusted by Holm's step-down method
across that family (family-wise error 5 %); the intervals themselves are per comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.figures import _footer, _new_figure
from ccnce.report.runs import MEAN, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER, MissingResults
from ccnce.report.tables import _info, _per_seed, seed_average

CI_LEVEL = 0.95
ALPHA = 0.05


def t_interval(d: Sequence[float], level: float = CI_LEVEL) -> tuple[float, float]:
    """Two-sided t interval of the mean of ``d`` (n ≥ 2): ``mean ± t_{(1+level)/2, n−1} · sd / √n``."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    n = d.size
    if n < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + level) / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
    return float(d.mean() - half), float(d.mean() + half)


def paired_t(d: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test that the mean of the differences ``d`` is 0 (n ≥ 2); 1 when
    every difference is 0, 0 when they are all equal and non-zero."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    if d.size < 2:
        return math.nan
    if d.std(ddof=1) == 0:
        return 1.0 if d.mean() == 0 else 0.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted in the family).

    Sorted ascending, the i-th smallest of m p-values becomes ``max_{j ≤ i} min(1, (m − j + 1) p_(j))``;
    rejecting where the adjusted value is ≤ α controls the family-wise error rate at α.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, math.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def paired_differences(runs: pd.DataFrame, metric: str, data_source: str = "synthetic", variant: str = "ccnce",
                       baselines: Sequence[str] | None = None) -> pd.DataFrame:
    """Long form: one row per (speaker, comparison, seed) with ``difference`` = variant − baseline on a seed
    both have. Row ``Mean``: the per-seed average over the five speakers (seeds all five have, per variant)."""
    _info(metric)
    baselines = [v for v in VARIANT_ORDER if v != variant] if baselines is None else list(baselines)
    values = _per_seed(runs, metric, data_source)
    seed_avg = lambda v: seed_average(values, v)  # noqa: E731

    rows = []
    for speaker in [*SPEAKERS, MEAN]:
        a = seed_avg(variant) if speaker == MEAN else values.get((speaker, variant), pd.Series(dtype=float))
        for b in baselines:
            bv = seed_avg(b) if speaker == MEAN else values.get((speaker, b), pd.Series(dtype=float))
            for seed in sorted(set(a.index) & set(bv.index)):
                rows.append({"speaker": speaker, "comparison": f"{VARIANT_LABEL[variant]} − {VARIANT_LABEL[b]}",
                             "seed": int(seed), "difference": float(a[seed] - bv[seed])})
    return pd.DataFrame(rows, columns=["speaker", "comparison", "seed", "difference"])


def forest_table(runs: pd.DataFrame, metric: str, data_source: str = "synthetic",
                 variant: str = "ccnce") -> pd.DataFrame:
    """One row per (speaker, comparison): ``n`` seeds, ``mean_diff``, the t-based 95 % interval
    (``ci_low``, ``ci_high``), the paired t-test's ``p`` and its Holm-adjusted ``p_holm`` across every row
    with n ≥ 2, and ``significant`` (p_holm ≤ 0.05)."""
    diffs = paired_differences(runs, metric, data_source, variant)
    rows = []
    for (speaker, comparison), g in diffs.groupby(["speaker", "comparison"], sort=False):
        d = g["difference"].to_numpy()
        low, high = t_interval(d)
        rows.append({"speaker": speaker, "comparison": comparison, "n": d.size, "mean_diff": float(d.mean()),
                     "ci_low": low, "ci_high": high, "p": paired_t(d)})
    out = pd.DataFrame(rows, columns=["speaker", "comparison", "n", "mean_diff", "ci_low", "ci_high", "p"])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] <= ALPHA
    return out


def forest_figure(runs: pd.DataFrame, metric: str, data_source: str = "synthetic", variant: str = "ccnce") -> Figure:
    """Forest plot (seaborn): one panel per comparison, one line per speaker and the Mean; dot = mean
    per-seed difference, bar = t-based 95 % interval, small dots = single seeds; a filled diamond marks a
    difference that survives Holm's correction across all comparisons of the figure."""
    import seaborn as sns

    info = _info(metric)
    diffs = paired_differences(runs, metric, data_source, variant)
    table = forest_table(runs, metric, data_source, variant)
    table = table[table["n"] >= 2]
    if table.empty:
        raise MissingResults(f"no speaker has two seeds of {VARIANT_LABEL[variant]} and another variant for "
                             f"{info.label} under results/{data_source}/")
    comparisons = list(dict.fromkeys(table["comparison"]))
    order = [s for s in [*SPEAKERS, MEAN] if s in set(table["speaker"])]
    fig = _new_figure(3.3 * len(comparisons) + 0.6, 0.42 * len(order) + 1.9)
    axes = fig.subplots(1, len(comparisons), sharex=True, sharey=True, squeeze=False)[0]
    for ax, comparison in zip(axes, comparisons):
        d = diffs[(diffs["comparison"] == comparison) & diffs["speaker"].isin(order)]
        sns.stripplot(data=d, x="difference", y="speaker", order=order, ax=ax, color="#9a9a9a", size=3,
                      jitter=0.12, zorder=1)
        sns.pointplot(data=d, x="difference", y="speaker", order=order, ax=ax, errorbar=t_interval,
                      color="#222222", linestyle="none", markers="o", markersize=4, capsize=0.25,
                      err_kws={"linewidth": 1.2})
        rows = table[table["comparison"] == comparison].set_index("speaker")
        for y, speaker in enumerate(order):
            if speaker in rows.index and rows.loc[speaker, "significant"]:
                ax.plot(rows.loc[speaker, "mean_diff"], y, marker="D", color="#c0392b", markersize=6, zorder=4)
            if speaker in rows.index:
                ax.annotate(f"p_Holm {rows.loc[speaker, 'p_holm']:.2g}", (1.0, y), xycoords=("axes fraction", "data"),
                            xytext=(3, 0), textcoords="offset points", fontsize=6.5, va="center", color="#555555")
        ax.axvline(0, color="#444444", linewidth=0.8, linestyle="--")
        ax.set_title(comparison, fontsize=8.5)
        ax.set_xlabel(f"difference in {info.label}" + (f" ({info.better} is better)" if info.better in
                                                        ("lower", "higher") else ""), fontsize=7.5)
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
    seeds = int(table["n"].max())
    fig.suptitle(f"{info.label}, {SOURCE_LABEL.get(data_source, data_source)}: {VARIANT_LABEL[variant]} minus each "
                 f"other variant, paired over seeds (up to n = {seeds})", fontsize=9)
    _footer(fig, [], note=(f"Bars: t-based 95 % intervals (t with n−1 df; per comparison). Red diamond: the paired "
                           f"t-test rejects 0 after Holm's correction across the {len(table)} comparisons of this "
                           f"figure (family-wise α = 0.05); p_Holm beside each row."))
    return fig


def forest_caption(runs: pd.DataFrame, metric: str, data_source: str = "synthetic", variant: str = "ccnce") -> str:
    """The caption of :func:`forest_figure`: what the bars are and how the family was corrected."""
    table = forest_table(runs, metric, data_source, variant)
    family = table[table["n"] >= 2]
    survive = int(family["significant"].sum())
    return (f"{_info(metric).label} ({SOURCE_LABEL.get(data_source, data_source)}): per-seed differences "
            f"{VARIANT_LABEL[variant]} minus each other variant, paired on the seeds both have (n = "
            f"{int(family['n'].min())}–{int(family['n'].max())}). Bars are t-based 95 % intervals "
            f"(mean ± t₀.₉₇₅,ₙ₋₁ · s/√n, per comparison). p-values of paired t-tests are Holm-corrected "
            f"across the family of the {len(family)} comparisons shown; {survive} of them reject a zero "
            f"difference at family-wise α = 0.05 (red diamonds).")


def show_forest(runs: pd.DataFrame, metric: str, data_source: str = "synthetic", variant: str = "ccnce") -> None:
    """Display :func:`forest_figure` as an HTML figure with :func:`forest_caption`, or say what is missing."""
    import base64
    import html

    from IPython.display import HTML, display

    from ccnce.report.notebook import figure_png, show

    try:
        fig = forest_figure(runs, metric, data_source, variant)
    except MissingResults as e:
        show(f"*Forest plot not available: {e}.*")
        return
    png = base64.b64encode(figure_png(fig)).decode()
    caption = forest_caption(runs, metric, data_source, variant)
    display(HTML(f'<figure class="ccnce-forest"><img alt="forest plot: {html.escape(caption)}" '
                 f'src="data:image/png;base64,{png}"/><figcaption>{html.escape(caption)}</figcaption></figure>'))

"""The book's tables: ours in the paper's layout (:func:`metric_table`), the paper's Tables 1–2 with their
Mean column recomputed (:func:`paper_table`), both together (:func:`side_by_side`), paired comparisons of
variants over seeds (:func:`paired_comparisons`), and their HTML (:func:`to_html`). Pure, tested."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccnce.config import SPEAKERS
from ccnce.errors import CcnceError
from ccnce.metrics import mean_std, paired_comparison
from ccnce.report.runs import (BASELINE_LABEL, BASELINE_ORDER, MEAN, METRICS, MISSING, PAPER_LABEL, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER,
                               MetricInfo)

PAPER_TABLES = Path(__file__).parents[1] / "assets" / "paper_tables.csv"
PAPER_MEAN_RTOL = 0.01
"""Relative difference above which the paper's reported Mean and the mean of its five per-speaker values
disagree. Rounding the per-speaker values to the printed digits moves their mean by well under 0.1 %;
the inconsistencies in the paper are 4–14 %."""


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


def metric_summary(runs: pd.DataFrame, metric: str, data_source: str = "synthetic",
                   rows: Sequence[str] = VARIANT_ORDER) -> pd.DataFrame:
    """Numbers behind :func:`metric_table`: one row per (variant, column) with ``n, mean, std, n_speakers``.

    Per speaker: mean and sample std (ddof 1, :func:`ccnce.metrics.mean_std`) over the seeds that have the
    metric. Column ``mean``: the mean over speakers of the per-speaker means (the paper's Mean column);
    its std is the std over seeds of the per-seed average over speakers, on the seeds that every
    contributing speaker has (``n`` counts those seeds); ``n_speakers`` says how many speakers contribute.
    """
    _info(metric)
    values = _per_seed(runs, metric, data_source)
    names, rows = rows, []
    for variant in names:
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


def seed_average(values: dict[tuple[str, str], pd.Series], variant: str) -> pd.Series:
    """Per seed, ``variant``'s metric averaged over the five speakers, on the seeds all five have (empty
    when a speaker has none); ``values`` as :func:`_per_seed` returns them."""
    parts = [values.get((s, variant), pd.Series(dtype=float)) for s in SPEAKERS]
    if any(len(p) == 0 for p in parts):
        return pd.Series(dtype=float)
    return pd.concat(parts, axis=1, join="inner").mean(axis=1)


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


def metric_table(runs: pd.DataFrame, metric: str, data_source: str = "synthetic",
                 baselines: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's table layout for one metric: variants × (five speakers + ``mean``), as text.

    ``baselines`` (:func:`~ccnce.report.runs.collect_baselines`): reference rows under the variants, for
    the baselines that have the metric; they calibrate the numbers and are never marked best.

    Cells read ``mean ± std (n)`` over seeds, ``mean (1)`` for one seed, ``—`` for none; the ``mean``
    column is marked ``[k/5 speakers]`` when speakers are missing. ``attrs``: ``best`` (bool frame: best
    per column, by the metric's direction; rounding ties are all best), ``summary``
    (:func:`metric_summary`), ``metric``, ``data_source``, ``caption``.
    """
    info = _info(metric)
    extra: list[str] = []
    if baselines is not None and not baselines.empty:
        has = baselines[(baselines["data_source"] == data_source) & baselines[metric].notna()]
        extra = [b for b in BASELINE_ORDER if (has["variant"] == b).any()]
        runs = pd.concat([runs, has], ignore_index=True)
    order = [*VARIANT_ORDER, *extra]
    summary = metric_summary(runs, metric, data_source, rows=order)
    columns = [*SPEAKERS, MEAN]
    text = pd.DataFrame(MISSING, index=pd.Index(order, name="variant"), columns=columns)
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
    means.loc[extra] = np.nan  # reference rows are never best
    text.attrs.update(best=_best_mask(means, info.better, info.decimals), summary=summary, metric=metric,
                      data_source=data_source, caption=table_caption(metric, data_source))
    return text


GLANCE_METRICS: tuple[str, ...] = ("l1", "fid", "gesture_acc", "fgd", "knn_probe")


def glance_table(runs: pd.DataFrame, data_source: str = "synthetic",
                 metrics: Sequence[str] = GLANCE_METRICS, baselines: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``mean`` column of :func:`metric_table` for a few metrics side by side: variants (and
    ``baselines``) × metrics, best in bold (the book's results at a glance)."""
    tables = {m: metric_table(runs, m, data_source, baselines) for m in metrics}
    order = list(dict.fromkeys(v for t in tables.values() for v in t.index))
    text = pd.DataFrame({METRICS[m].label: t[MEAN] for m, t in tables.items()}).reindex(order).fillna(MISSING)
    text.index.name = "variant"
    best = pd.DataFrame({METRICS[m].label: t.attrs["best"][MEAN] for m, t in tables.items()}).reindex(order)
    best = best.fillna(False).astype(bool)
    names = ", ".join(f"{METRICS[m].label} {'↓' if METRICS[m].better == 'lower' else '↑'}" for m in metrics)
    text.attrs.update(best=best, data_source=data_source,
                      caption=f"Mean over the five speakers, ± std over seeds (n seeds); {names}; "
                              f"{SOURCE_LABEL.get(data_source, data_source)}, test split. Best in bold.")
    return text


def headline(runs: pd.DataFrame, data_source: str = "synthetic", metrics: Sequence[str] = ("l1", "knn_probe"),
             baseline: str = "none") -> str:
    """CC-NCE against ``baseline`` on the mean over speakers, one sentence per metric (Markdown), from
    :func:`paired_comparisons`."""
    lines = []
    for metric in metrics:
        row = paired_comparisons(runs, metric, data_source, baseline=baseline).set_index("speaker").loc[MEAN]
        info = _info(metric)
        numbers = ("" if row["n"] < 2 else f"{row['mean_diff']:+.{info.decimals}f} "
                   f"(95 % CI {row['ci_low']:+.{info.decimals}f} to {row['ci_high']:+.{info.decimals}f}, "
                   f"{int(row['n'])} seeds); ")
        lines.append(f"- **{info.label}**, CC-NCE − {VARIANT_LABEL.get(baseline, baseline)}: {numbers}{row['verdict']}.")
    return "\n".join(lines)


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
    seeds_avg = lambda v: seed_average(values, v)  # noqa: E731

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
        cells.index = pd.Index([VARIANT_LABEL.get(i, BASELINE_LABEL.get(i, i)) for i in cells.index])
        cells.columns.name = table.index.name
    else:
        cells.index = cells.index.set_levels([VARIANT_LABEL.get(i, i) for i in cells.index.levels[0]], level=0)
    body = cells.to_html(escape=False, border=0, classes="ccnce-table", na_rep=MISSING)
    caption = caption if caption is not None else table.attrs.get("caption")
    if caption:
        body = body.replace('class="dataframe ccnce-table">',
                            f'class="dataframe ccnce-table">\n  <caption>{html.escape(caption)}</caption>', 1)
    return body


def backbone_targets(runs: pd.DataFrame, baselines: pd.DataFrame, data_source: str = "synthetic",
                     variant: str = "none", warmup: int = 2, after: int = 3) -> pd.DataFrame:
    """Does the backbone learn? The four targets it must meet before comparing variants on it means much.

    Each on the mean over speakers of the per-speaker means (the tables' Mean column), baselines from
    :func:`~ccnce.report.runs.collect_baselines`:

    - L1 at most 0.85 × the mean pose's;
    - FID at most 2 × a random real window's;
    - gesture accuracy at least halfway from chance to the classifier's bound on true motion;
    - dev L1 still improving well after the warm-up: the best epoch at least ``after`` epochs after the
      ``warmup`` epochs, in most runs.

    Rows: target; columns ``value``, ``threshold``, ``met`` as text (yes / no / — where numbers are
    missing); ``attrs["numbers"]`` holds them as numbers (``met``: True / False / None).
    """
    def mean_of(name: str, metric: str) -> float:
        both = pd.concat([runs, baselines], ignore_index=True) if baselines is not None else runs
        summary = metric_summary(both, metric, data_source, rows=[name])
        row = summary[(summary["column"] == MEAN)].iloc[0]
        return float(row["mean"]) if row["n_speakers"] == len(SPEAKERS) else math.nan

    l1, fid, acc = mean_of(variant, "l1"), mean_of(variant, "fid"), mean_of(variant, "gesture_acc")
    chance, bound = mean_of("chance", "gesture_acc"), mean_of("true_motion", "gesture_acc")
    own = runs[(runs["data_source"] == data_source) & (runs["variant"] == variant)]
    best = own["best_epoch"].dropna().astype(float)
    late = float(np.mean(best >= warmup + after)) if len(best) else math.nan
    rows = [
        ("L1 ≤ 0.85 × mean pose", l1, 0.85 * mean_of("mean_pose", "l1"), "lower"),
        ("FID ≤ 2 × random real window", fid, 2 * mean_of("random_window", "fid"), "lower"),
        ("gesture accuracy ≥ halfway from chance to true motion", acc, chance + (bound - chance) / 2, "higher"),
        (f"share of runs whose best dev-L1 epoch is ≥ {warmup + after} (most: > 0.5)", late, 0.5, "above"),
    ]
    out = []
    for target, value, threshold, kind in rows:
        ok = None
        if np.isfinite(value) and np.isfinite(threshold):
            ok = bool(value <= threshold) if kind == "lower" else bool(value >= threshold if kind == "higher"
                                                                        else value > threshold)
        out.append({"target": target, "value": value, "threshold": threshold, "met": ok})
    numbers = pd.DataFrame(out).set_index("target")
    table = numbers.copy()
    for col in ("value", "threshold"):
        table[col] = numbers[col].map(lambda x: MISSING if not np.isfinite(x) else f"{x:.3f}")
    table["met"] = numbers["met"].map(lambda x: MISSING if x is None else ("yes" if x else "no"))
    table.attrs["numbers"] = numbers
    table.attrs["caption"] = (f"The backbone ({VARIANT_LABEL.get(variant, variant)}) against the targets it must meet "
                              f"({SOURCE_LABEL.get(data_source, data_source)}, test split; mean over the five "
                              f"speakers of the per-speaker means over seeds; {len(best)} runs).")
    return table

"""The CC-NCE study's training arms (``make study``): each arm against the backbone, the gradient every
loss term sends to the shared parameters, and which explanation of the findings the evidence supports.

Every arm trains CC-NCE with one change (:data:`ARMS`) on two speakers × five seeds (the ``paper`` arm,
kept for its gradient norms only: seed 0), under
``results/studies/ccnce/<arm>/``, logging ``‖∇_θ L_i‖₂`` of each weighted term of Eq. 6 on the shared
generator parameters (:mod:`ccnce.gradnorms`) every 10 batches. The default sweep's CC-NCE (the paper's
clustering) on the same speakers and seeds is the ``default`` row. Each is paired with the default sweep's
backbone on (speaker, seed).

**The reading** (:func:`explanation`), by fixed rules, separately for the two grounding metrics: the
k-NN probe of ``z`` (is the language embedding grounded?) and gesture accuracy (does the motion perform
the gesture?). An arm *helps* on a metric when its paired 95 % interval against the backbone excludes 0
on the good side. For each metric:

- the oracle helps and the default does not → the clustering is the bottleneck (explanation 2);
- the oracle and the default both help → CC-NCE helps with either clustering;
- the oracle does not help, and Eq. 7's gradient on the shared parameters (median after the warm-up) is
  under :data:`DROWNED` × the reconstruction's → the term is drowned out (explanation 1, the machinery);
- the oracle does not help, and that gradient is over :data:`DOMINANT` × the reconstruction's → the term
  dominates what the encoder and ``F`` learn, at the expense of generation (explanation 4, its weight);
- otherwise → the method does not ground that on this data at this scale (explanation 3);
- fewer than two oracle pairs → inconclusive.

**The test of explanation 4** (arm ``oracle_balanced``): the oracle clusters with Eq. 7's weight lowered
until its gradient on the shared parameters is about the reconstruction's. Where the oracle *hurts* a
metric (interval excludes 0 on the bad side) and the balanced oracle does not, the harm goes with the
weight (explanation 4 supported); where the balanced oracle still hurts it, the harm does not go with
the weight (explanation 4 not supported).

**The oracle by weight** (arms :data:`WEIGHTED_ORACLES`: weight 1, ``oracle_mid`` at the geometric mean
of 1 and the balanced weight, and the balanced oracle): if one of them grounds ``z`` (its k-NN probe
helps) without costing the motion (its gesture accuracy does not hurt), the reading names the first
such weight, heaviest first; if ``z`` is grounded only where the motion is harmed, it names the trade-off.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.figures import _footer, _new_figure
from ccnce.report.runs import MISSING, METRICS, MissingResults, collect_runs, read_history, results_dir

STUDY_DIR = Path("studies") / "ccnce"
ARMS: dict[str, str] = {
    "paper": "the paper's clustering, seed 0, for its gradient norms",
    "oracle": "clusters = the true gesture (synthetic only)",
    "kmeans": "clusters = k-means on pose windows",
    "best_replay": "the best non-oracle replay setting",
    "decoupled_head": "Eq. 7 on a window-level head of F(h)",
    "original": "the original code's threshold, loss form and bank encoding",
    "oracle_balanced": "oracle clusters, Eq. 7 weighted down to the reconstruction's gradient",
    "oracle_mid": "oracle clusters, Eq. 7 at a weight between the oracle's and the balanced one's",
}
BALANCED_ARM = "oracle_balanced"
WEIGHTED_ORACLES: tuple[str, ...] = ("oracle", "oracle_mid", BALANCED_ARM)
"""The oracle at several weights of Eq. 7: is there a weight that grounds ``z`` without costing the motion?"""
GRADIENTS_ONLY: tuple[str, ...] = ("paper",)
"""Arms trained only for their gradient norms: logging them leaves the weights unchanged, so on the machine
that trained the default sweep their metrics are its (the ``default`` row); they are not compared again."""
DEFAULT_ARM = "default"
GROUNDING: tuple[str, ...] = ("knn_probe", "gesture_acc")
ARM_METRICS: tuple[str, ...] = ("l1", *GROUNDING)
GRAD_TERMS: dict[str, str] = {"grad_rec": "reconstruction", "grad_mix": "mixture", "grad_adv": "adversarial (λ·)",
                              "grad_contrastive": "contrastive (Eq. 7, weighted)"}
DROWNED = 0.05
"""Eq. 7 counts as drowned out when its gradient norm is under this share of the reconstruction's."""
DOMINANT = 1.0
"""Eq. 7 counts as dominant when its gradient norm is over this multiple of the reconstruction's."""


def study_runs(results: str | Path | None = None) -> pd.DataFrame:
    """The CC-NCE runs of every arm under ``results/studies/ccnce/<arm>/`` with an ``arm`` column (no rows
    before ``make study``)."""
    root = (Path(results) if results is not None else results_dir()) / STUDY_DIR
    frames = [collect_runs(root / arm).assign(arm=arm) for arm in ARMS if (root / arm).is_dir()]
    frames = [f[f["variant"] == "ccnce"] for f in frames if not f.empty]
    if not frames:
        return collect_runs(root / "_none").assign(arm=pd.Series(dtype=str))
    return pd.concat(frames, ignore_index=True)


def arm_comparisons(runs: pd.DataFrame, study: pd.DataFrame, data_source: str = "synthetic",
                    metrics: tuple[str, ...] = ARM_METRICS) -> pd.DataFrame:
    """One row per (arm, metric): the paired difference arm − backbone over the arm's (speaker, seed) pairs
    (``n``, ``mean_diff``, ``ci_low``, ``ci_high``), ``helps`` (the interval excludes 0 on the good side)
    and ``hurts`` (it excludes 0 on the bad side).
    The ``default`` arm is the default sweep's CC-NCE on the speakers the study trained."""
    from ccnce.metrics import paired_comparison

    mine = runs[runs["data_source"] == data_source]
    backbone = mine[mine["variant"] == "none"].set_index(["speaker", "seed"])
    study = study[study["data_source"] == data_source]
    default = mine[(mine["variant"] == "ccnce") & mine["speaker"].isin(set(study["speaker"]))]
    arms = [(DEFAULT_ARM, default)] + [(arm, study[study["arm"] == arm]) for arm in ARMS if arm not in GRADIENTS_ONLY]
    rows = []
    for arm, arm_runs in arms:
        if arm_runs.empty:
            continue
        arm_runs = arm_runs.set_index(["speaker", "seed"])
        shared = arm_runs.index.intersection(backbone.index)
        for metric in metrics:
            a, b = arm_runs.loc[shared, metric].astype(float), backbone.loc[shared, metric].astype(float)
            ok = (a.notna() & b.notna()).to_numpy()
            row = {"arm": arm, "metric": metric, "n": int(ok.sum()), "mean_diff": math.nan, "ci_low": math.nan,
                   "ci_high": math.nan, "helps": None, "hurts": None}
            if ok.sum() >= 2:
                res = paired_comparison(a.to_numpy()[ok], b.to_numpy()[ok])
                lower = METRICS[metric].better == "lower"
                row.update(mean_diff=res["mean_diff"], ci_low=res["ci_low"], ci_high=res["ci_high"],
                           helps=bool(res["ci_high"] < 0 if lower else res["ci_low"] > 0),
                           hurts=bool(res["ci_low"] > 0 if lower else res["ci_high"] < 0))
            rows.append(row)
    return pd.DataFrame(rows, columns=["arm", "metric", "n", "mean_diff", "ci_low", "ci_high", "helps", "hurts"])


def arms_table(runs: pd.DataFrame, results: str | Path | None = None, data_source: str = "synthetic",
               metrics: tuple[str, ...] = ARM_METRICS) -> pd.DataFrame:
    """:func:`arm_comparisons` as text: per arm, the pairs and ``mean difference [95 % interval]`` per metric."""
    study = study_runs(results)
    if study.empty:
        raise MissingResults(f"no study arm under {STUDY_DIR}/ yet (make study trains them: 2 speakers × 5 seeds each)")
    numbers = arm_comparisons(runs, study, data_source, metrics)
    rows = []
    for arm, group in numbers.groupby("arm", sort=False):
        row = {"arm": arm, "what": ARMS.get(arm, "the default sweep's CC-NCE (the paper's clustering)"),
               "pairs": int(group["n"].max())}
        for _, r in group.iterrows():
            d = METRICS[r["metric"]].decimals
            row[METRICS[r["metric"]].label] = (MISSING if r["helps"] is None else
                                               f"{r['mean_diff']:+.{d}f} [{r['ci_low']:+.{d}f}, {r['ci_high']:+.{d}f}]")
        rows.append(row)
    table = pd.DataFrame(rows).set_index("arm")
    table.attrs["caption"] = ("CC-NCE arm − the backbone of the default sweep, paired on (speaker, seed): mean "
                              "difference [95 % bootstrap interval]. — : fewer than two pairs.")
    return table


def gradient_norms(study: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """Long form of the logged gradient norms: one row per (arm, speaker, seed, epoch, term) with ``norm``
    (the epoch's mean over the probed batches) and ``warmup`` (Eq. 7 is off in the warm-up epochs)."""
    rows = []
    for _, run in study[study["data_source"] == data_source].iterrows():
        history = read_history(run["path"])
        terms = [t for t in GRAD_TERMS if t in history.columns]
        if not terms:
            continue
        long = history.melt(id_vars=["epoch"], value_vars=terms, var_name="term", value_name="norm").dropna()
        warmup = _warmup_epochs(run["path"])
        rows.append(long.assign(arm=run["arm"], speaker=run["speaker"], seed=run["seed"],
                                warmup=long["epoch"] < warmup))
    if not rows:
        raise MissingResults(f"no study run under {STUDY_DIR}/ logged gradient norms (make study)")
    return pd.concat(rows, ignore_index=True)


def _warmup_epochs(path: str | Path) -> int:
    return int(_run_config(path).get("warmup_epochs", 0))


def _run_config(path: str | Path) -> dict:
    config = Path(path) / "config.json"
    return json.loads(config.read_text()) if config.exists() else {}


def contrastive_share(norms: pd.DataFrame) -> pd.Series:
    """Per arm: the median over runs and post-warm-up epochs of ‖∇ Eq. 7‖ / ‖∇ reconstruction‖."""
    after = norms[~norms["warmup"]].pivot_table(index=["arm", "speaker", "seed", "epoch"], columns="term",
                                                values="norm")
    if not {"grad_contrastive", "grad_rec"} <= set(after.columns):
        return pd.Series(dtype=float)
    ratio = (after["grad_contrastive"] / after["grad_rec"]).replace([np.inf, -np.inf], np.nan)
    return ratio.groupby(level="arm").median()


def grad_norm_figure(study: pd.DataFrame, data_source: str = "synthetic") -> Figure:
    """Per arm, the gradient norm of each weighted loss term on the shared parameters over epochs (mean over
    runs, band = their range, log scale); the shaded epochs are the warm-up, without Eq. 7."""
    import seaborn as sns

    norms = gradient_norms(study, data_source)
    arms = [a for a in ARMS if a in set(norms["arm"])]
    cols = min(4, len(arms))  # at most four panels a row: seven arms fit a page
    rows = math.ceil(len(arms) / cols)
    fig = _new_figure(max(6.5, 2.4 * cols + 1.6), 2.6 * rows + 0.4)
    grid = fig.subplots(rows, cols, sharey=True, squeeze=False)
    for ax in grid.flat[len(arms):]:
        ax.remove()
    axes = list(grid.flat[:len(arms)])
    for ax, arm in zip(axes, arms):
        data = norms[(norms["arm"] == arm) & (norms["norm"] > 0)]  # Eq. 7 is off (0) in the warm-up
        data = data.assign(term=data["term"].map(GRAD_TERMS))
        sns.lineplot(data=data, x="epoch", y="norm", hue="term", hue_order=list(GRAD_TERMS.values()),
                     estimator="mean", errorbar=("pi", 100), ax=ax, legend=ax is axes[-1])
        warm = norms.loc[(norms["arm"] == arm) & norms["warmup"], "epoch"]
        if len(warm):
            ax.axvspan(warm.min() - 0.5, warm.max() + 0.5, color="#eeeeee", zorder=0)
        ax.set_yscale("log")
        ax.set_title(f"{arm} ({data[['speaker', 'seed']].drop_duplicates().shape[0]} runs)", fontsize=8.5)
        ax.set_ylabel("‖∇θ term‖₂ (shared parameters)" if ax in grid[:, 0] else "", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].legend(fontsize=6.5, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"Gradient of each loss term on the encoder and F ({data_source}; grey: warm-up)", fontsize=9)
    _footer(fig, [], note=f"history.csv of the runs under results/{STUDY_DIR}/")
    return fig


def explanation(runs: pd.DataFrame, study: pd.DataFrame, data_source: str = "synthetic") -> str:
    """Which explanation the arms support, for ``z`` and for the motion, by the rules of the module
    docstring (Markdown, every number computed)."""
    numbers = arm_comparisons(runs, study, data_source, metrics=GROUNDING)
    oracle = numbers[numbers["arm"] == "oracle"]
    if oracle.empty or oracle["helps"].isna().all():
        pairs = int(oracle["n"].max()) if len(oracle) else 0
        return f"**Inconclusive**: the oracle arm has {pairs} (speaker, seed) pairs with the backbone; it needs 2 (make study)."
    shares = _shares(study, data_source)
    share = shares.get("oracle", math.nan)

    def result(arm: str, metric: str) -> pd.Series | None:
        r = numbers[(numbers["arm"] == arm) & (numbers["metric"] == metric)]
        return None if r.empty or r.iloc[0]["helps"] is None else r.iloc[0]

    def cite(r: pd.Series) -> str:
        return f"{r['mean_diff']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}], {int(r['n'])} pairs"

    sentences = []
    for metric, what in (("knn_probe", "For z (k-NN probe)"), ("gesture_acc", "For the motion (gesture accuracy)")):
        o, d = result("oracle", metric), result(DEFAULT_ARM, metric)
        if o is None:
            sentences.append(f"**{what}: inconclusive** (fewer than two oracle pairs record it).")
            continue
        default = f"; the paper's clusters: {cite(d)}" if d is not None else ""
        if o["helps"] and d is not None and not d["helps"]:
            verdict = "explanation 2, the clustering"
        elif o["helps"]:
            verdict = "CC-NCE helps with either clustering" if d is not None else "the oracle helps"
        elif np.isfinite(share) and share < DROWNED:
            verdict = "explanation 1, Eq. 7 is drowned out"
        elif np.isfinite(share) and share > DOMINANT:
            verdict = "explanation 4, Eq. 7 dominates the shared parameters"
        elif np.isfinite(share):
            verdict = "explanation 3, no grounding at this scale"
        else:
            verdict = "explanation 1 or 3 (no gradient norms logged)"
        sentences.append(f"**{what}: {verdict}**: oracle − backbone {cite(o)}{default}.")
    if np.isfinite(share):
        paper = shares.get("paper", math.nan)
        paper = f"; with the paper's clusters, {paper:.3g}×" if np.isfinite(paper) else ""
        sentences.append(f"After the warm-up, Eq. 7's gradient on the encoder and F is {share:.3g}× the "
                         f"reconstruction's (median over the oracle arm's runs and epochs{paper}).")
    sentences += _balanced_reading(study, data_source, shares.get(BALANCED_ARM, math.nan), result, cite)
    sentences += _weight_reading(study, data_source, result, cite)
    others = sorted({a for a in numbers.loc[numbers["helps"].fillna(False).astype(bool), "arm"]}
                    - {DEFAULT_ARM, *WEIGHTED_ORACLES})
    sentences.append(f"Other arms that help on a grounding metric: {', '.join(others)}." if others
                     else "No other arm helps on a grounding metric.")
    return " ".join(sentences)


def _shares(study: pd.DataFrame, data_source: str) -> pd.Series:
    try:
        return contrastive_share(gradient_norms(study, data_source))
    except MissingResults:
        return pd.Series(dtype=float)


def _balanced_reading(study: pd.DataFrame, data_source: str, share: float, result, cite) -> list[str]:
    """The test of explanation 4 (module docstring): the balanced oracle beside the oracle, per metric."""
    arm = study[(study["arm"] == BALANCED_ARM) & (study["data_source"] == data_source)]
    if arm.empty:
        return [f"**The test of explanation 4** (arm `{BALANCED_ARM}`): not trained yet (`make study-arms`)."]
    weights = sorted({float(_run_config(p).get("contrastive_weight", math.nan)) for p in arm["path"]})
    heard = f", its gradient then {share:.3g}× the reconstruction's" if np.isfinite(share) else ""
    sentences = [f"**The test of explanation 4**: the oracle with Eq. 7 weighted "
                 f"{' / '.join(f'{w:g}' for w in weights)}{heard}."]
    for metric, what in (("knn_probe", "z (k-NN probe)"), ("gesture_acc", "the motion (gesture accuracy)")):
        o, b = result("oracle", metric), result(BALANCED_ARM, metric)
        if b is None:
            sentences.append(f"For {what}: inconclusive (fewer than two balanced pairs).")
            continue
        if o is not None and o["hurts"]:
            reading = ("the harm goes with the weight: explanation 4 supported" if not b["hurts"] else
                       "the harm stays at the lower weight: explanation 4 not supported")
        elif b["helps"]:
            reading = "the balanced oracle helps"
        elif b["hurts"]:
            reading = "the balanced oracle hurts"
        else:
            reading = "no difference from the backbone beyond noise"
        sentences.append(f"For {what}: {reading} (balanced oracle − backbone {cite(b)}).")
    return sentences


def _weight_reading(study: pd.DataFrame, data_source: str, result, cite) -> list[str]:
    """The oracle arms of :data:`WEIGHTED_ORACLES`, by weight of Eq. 7: does one ground ``z`` (k-NN probe
    helps) without costing the motion (gesture accuracy does not hurt)? Said when at least two of them
    have both readings (module docstring); the arms without them are left out."""
    arms = {}
    for arm in WEIGHTED_ORACLES:
        runs = study[(study["arm"] == arm) & (study["data_source"] == data_source)]
        z, motion = result(arm, "knn_probe"), result(arm, "gesture_acc")
        if not runs.empty and z is not None and motion is not None:
            weight = {float(_run_config(p).get("contrastive_weight", 1.0)) for p in runs["path"]}
            arms[arm] = (max(weight), z, motion)
    if len(arms) < 2:
        return []
    by_weight = sorted(arms.values(), key=lambda a: -a[0])
    tried = ", ".join(f"{w:g}" for w, _, _ in by_weight)
    free = [(w, z, m) for w, z, m in by_weight if z["helps"] and not m["hurts"]]
    if free:
        w, z, m = free[0]
        return [f"**A weight that grounds z without costing the motion**: {w:g} (z: {cite(z)}; motion: "
                f"{cite(m)}; weights tried: {tried}, each fixed before training, all reported here)."]
    grounded = [f"{w:g}" for w, z, _ in by_weight if z["helps"]]
    if grounded:
        return [f"**A trade-off, not a free gain**: even with the true gestures, Eq. 7 grounds z only at a weight "
                f"at which it costs the motion (weights tried: {tried}; z is grounded at {', '.join(grounded)}, "
                f"and the motion is harmed there)."]
    return []


def arms_figure(runs: pd.DataFrame, study: pd.DataFrame, data_source: str = "synthetic",
                metrics: tuple[str, ...] = ARM_METRICS) -> Figure:
    """Forest plot of :func:`arm_comparisons`: per metric, each arm's mean paired difference with the
    backbone and its 95 % interval; green: it helps, red: it hurts, grey: neither (interval contains 0)."""
    numbers = arm_comparisons(runs, study, data_source, metrics).dropna(subset=["mean_diff"])
    if numbers.empty:
        raise MissingResults(f"no study arm under {STUDY_DIR}/ has two pairs with the backbone yet (make study)")
    arms = list(dict.fromkeys(numbers["arm"]))
    fig = _new_figure(8.6, 0.42 * len(arms) + 1.3)
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        rows = numbers[numbers["metric"] == metric].set_index("arm").reindex(arms)
        for y, (arm, r) in enumerate(rows.iterrows()):
            if not np.isfinite(r["mean_diff"]):
                continue
            color = "#2a9d55" if r["helps"] else "#c0392b" if r["hurts"] else "#7f7f7f"
            ax.errorbar(r["mean_diff"], y, xerr=[[r["mean_diff"] - r["ci_low"]], [r["ci_high"] - r["mean_diff"]]],
                        fmt="o", color=color, ms=4, capsize=2, lw=1.2)
        ax.axvline(0, color="black", lw=0.8)
        better = "← better" if METRICS[metric].better == "lower" else "better →"
        ax.set_xlabel(f"{METRICS[metric].label}: arm − backbone ({better})", fontsize=7.5)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(arms)), [f"{a} ({int(numbers.loc[numbers['arm'] == a, 'n'].max())})" for a in arms])
    axes[0].invert_yaxis()
    fig.suptitle(f"The CC-NCE arms against the backbone, paired on (speaker, seed) ({data_source}; "
                 "in brackets: pairs; bars: 95 % bootstrap interval)", fontsize=8.5)
    _footer(fig, [], note=f"runs under results/{STUDY_DIR}/ and the default sweep")
    return fig

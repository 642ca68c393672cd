"""Why the backbone misses its FID and gesture-accuracy targets: it beside true motion spoiled in known ways.

``ccnce study probes`` (:mod:`ccnce.probes`; ``make regime`` writes ``results/studies/probes/<speaker>.json``)
scores the true test windows of every speaker shrunk towards the mean pose, delayed, and blended with
other windows. This module sets the backbone (``none``, mean over its seeds) beside those curves: which
single kind of error, and how much of it, gives true motion the backbone's gesture accuracy, and what FID
true motion has at that point.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.figures import _footer, _new_figure
from ccnce.probes import METRICS as PROBE_METRICS
from ccnce.report.runs import MEAN, METRICS, MISSING, MissingResults, results_dir

PROBE_DIR = Path("studies") / "probes"
KINDS: dict[str, str] = {
    "shrink": "shrunk: a · x (a = expressiveness)",
    "delay": "delayed by d frames (15 fps)",
    "smooth": "smoothed over w frames (no jitter)",
    "blend": "mean of k windows (hedging)",
}
PANEL_METRICS: tuple[str, ...] = ("gesture_acc", "fid")


def load_probes(results: str | Path | None = None) -> pd.DataFrame:
    """One row per (speaker, kind, amount) of ``results/studies/probes/*.json``, with the probe metrics
    (no rows before ``make regime``: the table and the figure then say what is missing)."""
    root = (Path(results) if results is not None else results_dir()) / PROBE_DIR
    rows = []
    for path in sorted(root.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # an empty or partial file (a study in progress)
        rows += [{"speaker": record["speaker"], "data_source": record["data_source"], **p} for p in record["probes"]]
    return pd.DataFrame(rows, columns=["speaker", "data_source", "kind", "amount", "k", *PROBE_METRICS])


def _of_source(probes: pd.DataFrame, data_source: str) -> pd.DataFrame:
    probes = probes[probes["data_source"] == data_source]
    if probes.empty:
        raise MissingResults(f"no probe study of {data_source} data under {PROBE_DIR}/ (make regime, or ccnce "
                             "study probes)")
    return probes


def _backbone(runs: pd.DataFrame, data_source: str) -> pd.DataFrame:
    """Per speaker: the backbone's mean over seeds of the probe metrics."""
    own = runs[(runs["data_source"] == data_source) & (runs["variant"] == "none")]
    if own.empty:
        raise MissingResults(f"no backbone (none) run under results/{data_source}/")
    return own.groupby("speaker")[["gesture_acc", "fid", "expressiveness", "l1", "w1_vel"]].mean()


def first_crossing(amounts: np.ndarray, values: np.ndarray, target: float) -> float:
    """The smallest amount at which the piecewise-linear curve ``values(amounts)`` (amounts ascending)
    reaches ``target``; NaN when it never does."""
    for i in range(len(amounts) - 1):
        (x0, x1), (y0, y1) = amounts[i:i + 2], values[i:i + 2]
        if min(y0, y1) <= target <= max(y0, y1):
            return float(x0 if y1 == y0 else x0 + (target - y0) * (x1 - x0) / (y1 - y0))
    return math.nan


def _curve(probes: pd.DataFrame, speaker: str, kind: str, metric: str, k: int | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    c = probes[(probes["speaker"] == speaker) & (probes["kind"] == kind)]
    if k is not None:
        c = c[c["k"] == k]
    c = c.sort_values("amount")
    return c["amount"].to_numpy(float), c[metric].to_numpy(float)


def _blended_and_smoothed_fid(probes: pd.DataFrame, speaker: str, k: float, w1_vel: float) -> float:
    """FID of true motion blended from ``k`` windows and smoothed until its W1 velocity is ``w1_vel``:
    per measured blend size, the smoothing that reaches ``w1_vel``; then linear in ``k`` between sizes."""
    ks, fids = [], []
    for size in sorted(probes.loc[(probes["speaker"] == speaker) & (probes["kind"] == "blend_smooth"), "k"].unique()):
        w = first_crossing(*_curve(probes, speaker, "blend_smooth", "w1_vel", size), w1_vel)
        if np.isfinite(w):
            ks.append(size), fids.append(np.interp(w, *_curve(probes, speaker, "blend_smooth", "fid", size)))
    if not np.isfinite(k) or not ks or not ks[0] <= k <= ks[-1]:
        return math.nan
    return float(np.interp(k, ks, fids))


def probe_table(runs: pd.DataFrame, probes: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """Per speaker (and the mean over speakers): the backbone's gesture accuracy, expressiveness and FID;
    the blend size ``k`` and the delay ``d`` at which true motion falls to that gesture accuracy, and the FID
    of true motion there; the gesture accuracy and FID of true motion shrunk to the backbone's
    expressiveness; the smoothing ``w`` at which true motion's W1 velocity reaches the backbone's, and its
    FID there; and the FID of the blend of ``k`` windows smoothed to the backbone's W1 velocity (both errors
    at once). Numbers, NaN where a curve never reaches the backbone's value."""
    probes = _of_source(probes, data_source)
    backbone = _backbone(runs, data_source)
    rows = []
    for speaker in [s for s in SPEAKERS if s in backbone.index and s in set(probes["speaker"])]:
        b = backbone.loc[speaker]
        k = first_crossing(*_curve(probes, speaker, "blend", "gesture_acc"), b["gesture_acc"])
        d = first_crossing(*_curve(probes, speaker, "delay", "gesture_acc"), b["gesture_acc"])
        a, fid_a = _curve(probes, speaker, "shrink", "fid")
        _, acc_a = _curve(probes, speaker, "shrink", "gesture_acc")
        blend_k, blend_fid = _curve(probes, speaker, "blend", "fid")
        w = first_crossing(*_curve(probes, speaker, "smooth", "w1_vel"), b["w1_vel"])
        smooth_w, smooth_fid = _curve(probes, speaker, "smooth", "fid")
        rows.append({"speaker": speaker,
                     "backbone gesture accuracy": b["gesture_acc"], "backbone expressiveness": b["expressiveness"],
                     "backbone FID": b["fid"],
                     "blend k with its gesture accuracy": k,
                     "FID of that blend": np.interp(k, blend_k, blend_fid) if np.isfinite(k) else math.nan,
                     "delay d with its gesture accuracy": d,
                     "shrunk to its expressiveness: gesture accuracy": np.interp(b["expressiveness"], a, acc_a),
                     "shrunk to its expressiveness: FID": np.interp(b["expressiveness"], a, fid_a),
                     "smoothing w with its W1 velocity": w,
                     "FID of that smoothing": np.interp(w, smooth_w, smooth_fid) if np.isfinite(w) else math.nan,
                     "that blend, smoothed to its W1 velocity: FID": _blended_and_smoothed_fid(probes, speaker, k,
                                                                                               b["w1_vel"])})
    if not rows:
        raise MissingResults(f"no speaker has both a probe study and a backbone run ({data_source})")
    table = pd.DataFrame(rows).set_index("speaker")
    table.loc[MEAN] = table.mean(skipna=False)
    table.attrs["caption"] = (f"The backbone (mean over seeds, {data_source} test split) beside true test motion "
                              "spoiled one way at a time (ccnce study probes). Blank: the probe's curve never "
                              "falls to the backbone's value in the range measured.")
    return table


def probe_figure(runs: pd.DataFrame, probes: pd.DataFrame, data_source: str = "synthetic") -> Figure:
    """Gesture accuracy and FID of spoiled true motion against the amount of each spoiling (mean over
    speakers, band = the speakers' range), with the backbone's mean over speakers as a dashed line."""
    import seaborn as sns

    probes = _of_source(probes, data_source)
    backbone = _backbone(runs, data_source)
    backbone = backbone[backbone.index.isin(set(probes["speaker"]))]
    if backbone.empty:
        raise MissingResults(f"no speaker has both a probe study and a backbone run ({data_source})")
    fig = _new_figure(13.0, 5.2)
    axes = fig.subplots(len(PANEL_METRICS), len(KINDS), sharey="row", squeeze=False)
    for col, (kind, label) in enumerate(KINDS.items()):
        data = probes[probes["kind"] == kind]
        for row, metric in enumerate(PANEL_METRICS):
            ax = axes[row, col]
            sns.lineplot(data=data, x="amount", y=metric, estimator="mean", errorbar=("pi", 100), marker="o",
                         color="#333333", ax=ax, label="true motion, spoiled" if (row, col) == (0, 0) else None)
            ax.axhline(backbone[metric].mean(), linestyle="--", color="#d62728", linewidth=1.3,
                       label="backbone (none)" if (row, col) == (0, 0) else None)
            ax.axhspan(backbone[metric].min(), backbone[metric].max(), color="#d62728", alpha=0.08)
            ax.set_xlabel(label if row == len(PANEL_METRICS) - 1 else "", fontsize=8)
            ax.set_ylabel(METRICS[metric].label if col == 0 else "", fontsize=8)
            ax.tick_params(labelsize=7)
            if kind == "shrink":
                ax.invert_xaxis()
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(f"True test motion spoiled one way at a time vs the backbone ({data_source}): mean over "
                 f"{probes['speaker'].nunique()} speakers, bands = the speakers' range", fontsize=9)
    _footer(fig, [], note="results/studies/probes/ (ccnce study probes) and the backbone runs under "
                          f"results/{data_source}/")
    return fig


def probe_summary(runs: pd.DataFrame, probes: pd.DataFrame, data_source: str = "synthetic") -> str:
    """The table's Mean row in words (Markdown)."""
    t = probe_table(runs, probes, data_source).loc[MEAN]
    acc, fid = METRICS["gesture_acc"].decimals, METRICS["fid"].decimals

    def num(x: float, decimals: int) -> str:
        return MISSING if not np.isfinite(x) else f"{x:.{decimals}f}"

    max_delay = probes["amount"][probes["kind"] == "delay"].max()
    smoothing = (f"Smoothed over w = {num(t['smoothing w with its W1 velocity'], 1)} frames, true motion is as slow "
                 f"as the backbone (W1 velocity), at an FID of {num(t['FID of that smoothing'], fid)}."
                 if np.isfinite(t["smoothing w with its W1 velocity"])
                 else "No smoothing measured makes true motion as slow as the backbone (W1 velocity).")
    delay = (f"delaying true motion by {num(t['delay d with its gesture accuracy'], 1)} frames"
             if np.isfinite(t["delay d with its gesture accuracy"])
             else f"even a delay of {max_delay:g} frames ({max_delay / 15:.1f} s) leaves true motion more accurate")
    return (f"Mean over speakers: the backbone's gesture accuracy is {num(t['backbone gesture accuracy'], acc)}, "
            f"its expressiveness {num(t['backbone expressiveness'], 3)}, its FID {num(t['backbone FID'], fid)}. "
            f"True motion shrunk to that expressiveness keeps a gesture accuracy of "
            f"{num(t['shrunk to its expressiveness: gesture accuracy'], acc)} at an FID of "
            f"{num(t['shrunk to its expressiveness: FID'], fid)}; {delay}. Averaging "
            f"k = {num(t['blend k with its gesture accuracy'], 1)} windows gives true motion the backbone's gesture "
            f"accuracy, at an FID of {num(t['FID of that blend'], fid)}. {smoothing} " + _reading(t))


def _reading(t: pd.Series) -> str:
    """What the Mean row says, by rules: a single error explains a metric of the backbone when true motion
    spoiled that way reaches the backbone's value (gesture accuracy within 0.05; FID within 25 %)."""
    acc, shrunk_acc = t["backbone gesture accuracy"], t["shrunk to its expressiveness: gesture accuracy"]
    explained = []
    if np.isfinite(shrunk_acc) and abs(shrunk_acc - acc) <= 0.05:
        explained.append("moving too little")
    if np.isfinite(t["delay d with its gesture accuracy"]):
        explained.append("moving late")
    if np.isfinite(t["blend k with its gesture accuracy"]):
        explained.append("hedging between gestures")
    accuracy = ("Its gesture accuracy is explained by " + " or ".join(explained) if explained
                else "No single error explains its gesture accuracy")
    single = np.nanmax([t["FID of that blend"], t["shrunk to its expressiveness: FID"], t["FID of that smoothing"]])
    both = t["that blend, smoothed to its W1 velocity: FID"]
    share = single / t["backbone FID"] if np.isfinite(single) and t["backbone FID"] > 0 else math.nan
    fid = (f"one error alone accounts for at most {share:.0%} of its FID" if np.isfinite(share) else
           "its FID cannot be compared")
    if np.isfinite(both) and t["backbone FID"] > 0:
        fid += (f"; hedging and slowness together (the blend, smoothed to the backbone's W1 velocity) for "
                f"{both / t['backbone FID']:.0%}")
    return f"{accuracy}; {fid}."

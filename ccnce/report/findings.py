"""Does CC-NCE ground language in gesture? The paper's claims, each with its evidence and a verdict.

The verdicts are computed, never written by hand, from the runs of the default sweep (paired over seeds,
:func:`~ccnce.report.tables.paired_comparisons` on the mean over speakers) and from the clustering replay
(``ccnce study clustering``, written by ``make study`` to ``results/studies/ccnce/replay/<speaker>.json``).
The rule: a claim is **reproduced** when CC-NCE is better than the backbone with a 95 % interval that
excludes 0, **not reproduced** when the interval excludes 0 the other way or contains 0 (the claim is a
gain; a difference within noise is not one), and **inconclusive** with fewer than 2 shared seeds. "Clusters
are gestures" compares the paper's online clustering with the two yardsticks of the replay: k-means on
the same pose windows (k = the number of true classes, an unsupervised method that knows how many gestures
there are) and the oracle (NMI 1): reproduced when the paper's NMI reaches k-means' on every speaker.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ccnce.config import SPEAKERS
from ccnce.report.figures import _new_figure
from ccnce.report.runs import MEAN, METRICS, MissingResults, results_dir
from ccnce.report.tables import paired_comparisons

REPLAY_DIR = Path("studies") / "ccnce" / "replay"
REPLAY_FIGURES: tuple[str, ...] = ("nmi", "ari", "purity", "positive_purity", "negative_same_class", "loss_floor",
                                   "loss_collapse")
CLAIMS: tuple[tuple[str, str], ...] = (
    ("L1 improves (Table 1)", "l1"),
    ("FID improves (Table 2)", "fid"),
    ("z is grounded: it predicts the gesture (Fig. 2, t-SNE)", "knn_probe"),
    ("the many-to-one mapping is learned: the motion performs the phrase's gesture", "gesture_acc"),
)


def load_replay(results: str | Path | None = None) -> pd.DataFrame:
    """One row per (speaker, setting) of the replay JSON files, with the six figures and ``loss_collapse``."""
    root = (Path(results) if results is not None else results_dir()) / REPLAY_DIR
    rows = []
    for path in sorted(root.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # an empty or partial file (a replay in progress)
        for setting in record.get("settings", []):
            rows.append({"speaker": record["speaker"], "setting": setting["name"],
                         **{k: float(setting[k]) for k in REPLAY_FIGURES if k in setting}})
    if not rows:
        raise MissingResults(f"no clustering replay under {REPLAY_DIR}/ (make study, or ccnce study clustering)")
    return pd.DataFrame(rows)


def _paired_verdict(runs: pd.DataFrame, metric: str, data_source: str) -> tuple[str, str]:
    row = paired_comparisons(runs, metric, data_source).set_index("speaker").loc[MEAN]
    info = METRICS[metric]
    if row["n"] < 2:
        return "inconclusive", f"{int(row['n'])} shared seed(s) on all five speakers; a paired comparison needs 2"
    evidence = (f"CC-NCE − backbone on the mean over speakers: {row['mean_diff']:+.{info.decimals}f} "
                f"(95 % CI {row['ci_low']:+.{info.decimals}f} to {row['ci_high']:+.{info.decimals}f}, "
                f"{int(row['n'])} seeds; {'lower' if info.better == 'lower' else 'higher'} is better)")
    caveat = f" ({int(row['n'])} seeds: a hint, not a test)" if row["n"] <= 3 else ""
    if row["within_noise"]:
        return "not reproduced", evidence + ": within noise" + caveat
    better = (row["mean_diff"] < 0) == (info.better == "lower")
    return ("reproduced", evidence + caveat) if better else ("not reproduced", evidence + ": CC-NCE is worse" + caveat)


def _cluster_verdict(replay: pd.DataFrame | None) -> tuple[str, str]:
    if replay is None or replay.empty:
        return "inconclusive", "no clustering replay yet (make study)"
    nmi = replay.pivot_table(index="speaker", columns="setting", values="nmi")
    if not {"paper", "kmeans"} <= set(nmi.columns):
        return "inconclusive", "the replay lacks the paper or the k-means setting"
    nmi = nmi.dropna(subset=["paper", "kmeans"])
    wins = int((nmi["paper"] >= nmi["kmeans"]).sum())
    evidence = (f"NMI of the online clusters vs the true gestures: paper {nmi['paper'].mean():.2f}, k-means "
                f"{nmi['kmeans'].mean():.2f}, oracle 1 (mean over {len(nmi)} speakers; the paper's clustering "
                f"reaches k-means on {wins} of {len(nmi)})")
    return ("reproduced" if wins == len(nmi) else "not reproduced"), evidence


def claims_table(runs: pd.DataFrame, replay: pd.DataFrame | None = None,
                 data_source: str = "synthetic") -> pd.DataFrame:
    """Claim → evidence → verdict, for each claim of the paper (module docstring for the rules)."""
    rows = []
    for claim, metric in CLAIMS[:2]:
        rows.append((claim, *_paired_verdict(runs, metric, data_source)[::-1]))
    rows.append(("the online clusters are gestures (Fig. 2)", *_cluster_verdict(replay)[::-1]))
    for claim, metric in CLAIMS[2:]:
        rows.append((claim, *_paired_verdict(runs, metric, data_source)[::-1]))
    table = pd.DataFrame(rows, columns=["claim", "evidence", "verdict"]).set_index("claim")
    table.attrs["caption"] = (f"The paper's claims on our {data_source} data. Verdicts are computed from the runs "
                              "and the clustering replay by the rules stated above the table.")
    table.attrs["html_classes"] = "ccnce-text-last"
    return table


def findings_box(runs: pd.DataFrame, replay: pd.DataFrame | None = None, data_source: str = "synthetic",
                 study: pd.DataFrame | None = None) -> str:
    """The verdicts in a few Markdown lines (for the Introduction); with the study arms (``study``), the
    reading of why (:func:`ccnce.report.arms.explanation`) under them."""
    from ccnce.report.arms import explanation

    table = claims_table(runs, replay, data_source)
    lines = [f"- **{verdict}**: {claim}." for claim, verdict in table["verdict"].items()]
    if study is not None:
        lines.append(f"- **Why** (the training arms): {explanation(runs, study, data_source)}")
    return "**Findings** (computed; see [Findings](findings.ipynb)):\n\n" + "\n".join(lines)


def replay_figure(replay: pd.DataFrame) -> Figure:
    """The replay grid: for every setting and speaker, how well the clusters match the gestures (NMI)
    against the best Eq. 7 value its positives and negatives allow (``loss_floor``), beside the value of
    an encoder that learns nothing (``loss_collapse``, open marks). Lower-right is where CC-NCE could learn."""
    import seaborn as sns

    fig = _new_figure(9.0, 4.6)
    ax = fig.subplots()
    means = replay.groupby("setting")[["nmi", "loss_floor", "loss_collapse"]].mean()
    sns.scatterplot(data=replay, x="nmi", y="loss_floor", hue="setting", style="speaker", ax=ax, s=36, legend="brief")
    for name, r in means.iterrows():
        ax.annotate(name, (r["nmi"], r["loss_floor"]), fontsize=6.5, xytext=(3, 3), textcoords="offset points")
    ax.scatter(means["nmi"], means["loss_collapse"], facecolors="none", edgecolors="#888888", s=30,
               label="learns nothing (mean)")
    ax.set_xlabel("NMI of the clusters vs the true gestures (1: the oracle)")
    ax.set_ylabel("Eq. 7: best attainable (filled), learns nothing (open)")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, ncol=2)
    ax.set_title(f"Clustering replay: {replay['setting'].nunique()} settings × {replay['speaker'].nunique()} "
                 "speakers (training windows only)", fontsize=9)
    return fig


def replay_summary(replay: pd.DataFrame) -> str:
    """What the replay says, in two sentences computed from it: how well the paper's clusters match the
    gestures against k-means and the oracle, and how much Eq. 7 can teach with them (``loss_collapse −
    loss_floor``, nats) against the setting that leaves it the most room."""
    means = replay.groupby("setting")[["nmi", "positive_purity", "loss_floor", "loss_collapse"]].mean()
    room = (means["loss_collapse"] - means["loss_floor"]).drop("oracle", errors="ignore")
    best = room.idxmax()
    p = means.loc["paper"]
    text = (f"Over {replay['speaker'].nunique()} speakers, the paper's online clusters match the true gestures "
            f"with NMI {p['nmi']:.2f}")
    if "kmeans" in means.index:
        text += f" (k-means on the same windows: {means.loc['kmeans', 'nmi']:.2f}; the oracle: 1)"
    text += (f", and only {p['positive_purity']:.0%} of an anchor's positives share its gesture. With these "
             f"positives the best attainable Eq. 7 ({p['loss_floor']:.2f}) is {room['paper']:.2f} nats below the "
             f"value of an encoder that learns nothing ({p['loss_collapse']:.2f})"
             f"{': the term has almost nothing to teach' if room['paper'] < 0.05 * p['loss_collapse'] else ''}. "
             f"Of the non-oracle settings, `{best}` leaves the most room ({room[best]:.2f} nats); "
             "`make study` trains it as the best replay arm.")
    return text


def replay_table(replay: pd.DataFrame) -> pd.DataFrame:
    """The replay figures per setting, mean over speakers (the number of speakers in a column)."""
    table = replay.groupby("setting")[[k for k in REPLAY_FIGURES if k in replay.columns]].mean()
    order = ["paper", "oracle", "kmeans"] + sorted(set(table.index) - {"paper", "oracle", "kmeans"})
    table = table.reindex([s for s in order if s in table.index]).round(3)
    table["speakers"] = replay.groupby("setting")["speaker"].nunique().reindex(table.index)
    table.attrs["caption"] = ("The clustering replay (one epoch of training batches through Algorithms 1–2, no "
                              f"training), mean over the speakers replayed so far (of {len(SPEAKERS)}).")
    return table

"""The training-budget check: would the default ``cpu`` runs look different if trained longer?

``make budget`` trains a few (speaker, variant, seed) triples of the default sweep again with the same
config except more epochs and no early stopping, under ``results/studies/budget/``. This module sets
them beside their default runs: final metrics side by side, and the curves over all epochs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.curves import _curves
from ccnce.report.runs import (METRICS, MISSING, VARIANT_LABEL, MissingResults, collect_runs, read_history,
                               results_dir)

BUDGET_DIR = Path("studies") / "budget"
BUDGET_METRICS: tuple[str, ...] = ("l1", "fid", "knn_probe", "knn_probe_chance", "cluster_nmi")
BUDGET_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "rec": (("rec",), "reconstruction L1 (train)"),
    "dev_l1": (("dev_l1",), "dev L1"),
    "adv": (("loss_d",), "discriminator loss"),
    "contrastive": (("contrastive",), "contrastive term (dotted: log candidates)"),
    "nmi": (("nmi",), "online clusters: NMI vs. true gestures"),
}


def budget_runs(results: str | Path | None = None) -> pd.DataFrame:
    """The runs of the budget study (``results/studies/budget/``), as :func:`collect_runs` rows."""
    return collect_runs((Path(results) if results is not None else results_dir()) / BUDGET_DIR)


def budget_table(runs: pd.DataFrame, budget: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """One row per budget run: its final metrics beside those of the default run with the same speaker,
    variant and seed ("—" where that run does not exist), and the epochs each trained."""
    rows = []
    for r in budget[budget["data_source"] == data_source].sort_values(["speaker", "variant", "seed"]).itertuples():
        same = runs[(runs["data_source"] == data_source) & (runs["speaker"] == r.speaker)
                    & (runs["variant"] == r.variant) & (runs["seed"] == r.seed)]
        default = same.iloc[0] if len(same) else None
        row = {"speaker": r.speaker, "variant": VARIANT_LABEL[r.variant], "seed": int(r.seed),
               "epochs": f"{_epochs(default)} → {_epochs(r._asdict())}"}
        for metric in BUDGET_METRICS:
            label = METRICS[metric].label if metric in METRICS else "probe chance"
            decimals = METRICS[metric].decimals if metric in METRICS else 3
            row[label] = f"{_fmt(default, metric, decimals)} → {_fmt(r._asdict(), metric, decimals)}"
        rows.append(row)
    if not rows:
        raise MissingResults(f"no budget-study run under {BUDGET_DIR}/{data_source}/ (make budget)")
    out = pd.DataFrame(rows).set_index(["speaker", "variant", "seed"])
    out.attrs["caption"] = ("Default run → the same run trained longer without early stopping "
                            f"({data_source}, test split). The default run's metrics are those of its best "
                            "dev-L1 epoch; the longer run's those of its last epoch.")
    return out


def _epochs(run) -> str:
    if run is None:
        return MISSING
    trained = run["epochs_run"]
    return MISSING if trained is None or pd.isna(trained) else str(int(trained))


def _fmt(run, metric: str, decimals: int) -> str:
    value = None if run is None else run.get(metric)
    return MISSING if value is None or not np.isfinite(value) else f"{value:.{decimals}f}"


def budget_curves(budget: pd.DataFrame, data_source: str = "synthetic") -> Figure:
    """Per epoch, for every budget run: training and dev L1, the discriminator loss, CC-NCE's contrastive
    term and its clusters' NMI against the true gestures.

    The contrastive panel also shows log(candidates) (dotted): Eq. 7's value when all similarities are
    equal is log(1 + negatives), just below it, so a term near the line means ``z`` has not learnt the
    clusters."""
    sub = budget[budget["data_source"] == data_source].sort_values(["speaker", "variant", "seed"])
    paths = {f"{r.speaker} {VARIANT_LABEL[r.variant]} seed {int(r.seed)}": Path(r.path) for r in sub.itertuples()
             if (Path(r.path) / "history.csv").exists()}
    fig = _curves(paths, BUDGET_PANELS, f"Trained longer: the budget study ({data_source})")
    ax = next(a for a in fig.axes if a.get_title() == BUDGET_PANELS["contrastive"][1])
    for line in list(ax.get_lines()):  # the term is 0 in the warm-up and for the backbone: not drawn
        y = np.asarray(line.get_ydata(), dtype=float)
        y[y == 0] = np.nan
        if np.isnan(y).all():
            line.remove()
        else:
            line.set_ydata(y)
    for path in paths.values():
        hist = read_history(path)
        if "n_candidates" in hist and hist["n_candidates"].notna().any():
            ax.plot(hist["epoch"], np.log(hist["n_candidates"]), ":", color="#777777", linewidth=1)
    ax.relim()
    ax.autoscale_view()
    return fig

"""The training-regime diagnosis: why did the first regime's backbone stop learning, and what fixed it?

``make regime`` trains the backbone (``none``) of two speakers again with the default ``cpu`` config
except for one factor each, under ``results/studies/regime/<arm>/`` (:data:`REGIME_ARMS`). This module
sets each arm beside the default run with the same speaker, variant and seed: the curves over epochs
(training reconstruction, dev L1, the two adversarial losses, dev gesture accuracy) and the final test
metrics side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.curves import _curves
from ccnce.report.runs import METRICS, MISSING, MissingResults, collect_runs, results_dir

REGIME_DIR = Path("studies") / "regime"
REGIME_ARMS: dict[str, str] = {
    "paper_weight": "λ ramped 1 → 2 (the paper's adversarial weight)",
    "no_adversarial": "λ = 0 (no adversarial term)",
}
"""Arm folder → what differs from the default ``cpu`` config (the Makefile's ``regime`` target sets it)."""
REGIME_METRICS: tuple[str, ...] = ("l1", "fid", "gesture_acc", "fgd", "expressiveness")
REGIME_PANELS: dict[str, tuple[tuple[str, ...], str]] = {
    "rec": (("rec",), "reconstruction L1 (train)"),
    "dev_l1": (("dev_l1",), "dev L1 (early stopping)"),
    "loss_d": (("loss_d",), "discriminator loss"),
    "adv_g": (("adv_g",), "generator's adversarial loss"),
    "dev_gesture_acc": (("dev_gesture_acc",), "dev gesture accuracy"),
}
DEFAULT_ARM = "default (cpu profile)"


def regime_runs(results: str | Path | None = None) -> pd.DataFrame:
    """The runs of every arm under ``results/studies/regime/<arm>/`` as :func:`collect_runs` rows, with an
    ``arm`` column (no rows before ``make regime``)."""
    root = (Path(results) if results is not None else results_dir()) / REGIME_DIR
    frames = [collect_runs(root / arm).assign(arm=arm) for arm in REGIME_ARMS if (root / arm).is_dir()]
    frames = [f for f in frames if not f.empty]
    if not frames:  # the table and the curves say what is missing
        return collect_runs(root / "_none").assign(arm=pd.Series(dtype=str))
    return pd.concat(frames, ignore_index=True)


def _pairs(runs: pd.DataFrame, regime: pd.DataFrame, data_source: str):
    """(speaker, variant, seed) → {arm label: run row}, the default run first where it exists."""
    out: dict[tuple[str, str, int], dict[str, pd.Series]] = {}
    for _, r in regime[regime["data_source"] == data_source].sort_values(["speaker", "variant", "seed"]).iterrows():
        key = (r["speaker"], r["variant"], int(r["seed"]))
        if key not in out:
            out[key] = {}
            same = runs[(runs["data_source"] == data_source) & (runs["speaker"] == key[0])
                        & (runs["variant"] == key[1]) & (runs["seed"] == key[2])]
            if len(same):
                out[key][DEFAULT_ARM] = same.iloc[0]
        out[key][REGIME_ARMS[r["arm"]]] = r
    return out


def regime_table(runs: pd.DataFrame, regime: pd.DataFrame, data_source: str = "synthetic") -> pd.DataFrame:
    """Per (speaker, seed) and arm: the test metrics of the best dev-L1 epoch, and that epoch."""
    rows = []
    for (speaker, variant, seed), arms in _pairs(runs, regime, data_source).items():
        for arm, r in arms.items():
            row = {"speaker": speaker, "seed": seed, "regime": arm, "best epoch": _int(r.get("best_epoch"))}
            for metric in REGIME_METRICS:
                value = r.get(metric)
                row[METRICS[metric].label] = (MISSING if value is None or not np.isfinite(value)
                                              else f"{value:.{METRICS[metric].decimals}f}")
            rows.append(row)
    if not rows:
        raise MissingResults(f"no regime-study run for {data_source} under {REGIME_DIR}/ (make regime)")
    out = pd.DataFrame(rows).set_index(["speaker", "seed", "regime"])
    out.attrs["caption"] = (f"The backbone under the default regime and with one factor changed ({data_source}, "
                            "test split, metrics of the best dev-L1 epoch after the warm-up).")
    return out


def _int(value) -> str:
    return MISSING if value is None or pd.isna(value) else str(int(value))


def regime_curves(runs: pd.DataFrame, regime: pd.DataFrame, data_source: str = "synthetic") -> Figure:
    """Per epoch, for every regime-study run and its default counterpart: training reconstruction, dev
    L1, the discriminator's and the generator's adversarial losses, and dev gesture accuracy."""
    paths = {f"{speaker} seed {seed}: {arm}": Path(r["path"])
             for (speaker, _, seed), arms in _pairs(runs, regime, data_source).items()
             for arm, r in arms.items() if (Path(r["path"]) / "history.csv").exists()}
    return _curves(paths, REGIME_PANELS, f"The training regime, one factor at a time ({data_source})")

"""The Performance page: benchmark outputs under ``results/bench/`` and the wall time of the sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ccnce.report.runs import MISSING, results_dir

BENCHMARKS: dict[str, str] = {
    "clustering": "vectorised online clustering (Algorithms 1–2) vs. the plain-Python reference: speed-up",
    "step": "milliseconds per training step (D + G) per variant, and the ratio to the backbone alone",
    "cache": "what the window cache costs to build and what it buys when reading",
    "bank_encoding": "CC-NCE forward per batch with each way of encoding the global bank's members",
}
"""Benchmarks the Performance page expects as ``results/bench/<name>.json`` (``ccnce bench NAME --json``)."""


def load_bench(results: str | Path | None = None) -> dict[str, Any]:
    """Every ``results/bench/*.json`` (benchmark outputs), by file stem; unreadable files are reported as
    a string."""
    root = (Path(results) if results is not None else results_dir()) / "bench"
    out: dict[str, Any] = {}
    for f in sorted(root.glob("*.json")):
        try:
            out[f.stem] = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            out[f.stem] = f"unreadable: {e}"
    return out


def bench_table(result: Any) -> pd.DataFrame:
    """One benchmark's JSON as a table: a mapping of mappings becomes rows × fields, a flat mapping two
    columns (quantity, value); nested values are shown as JSON text."""
    def cell(x: Any) -> Any:
        if isinstance(x, float):
            return f"{x:,.4g}"
        return json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else x

    if isinstance(result, dict) and result and all(isinstance(v, dict) for v in result.values()):
        df = pd.DataFrame.from_dict(result, orient="index")
        return df.map(cell)
    if isinstance(result, dict):
        return pd.DataFrame({"quantity": list(result), "value": [cell(v) for v in result.values()]}).set_index("quantity")
    return pd.DataFrame({"value": [cell(result)]})


def sweep_time_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Wall time of the runs (from provenance): per data source and variant, runs, total hours, median
    minutes per run, and the devices used."""
    if runs.empty:
        return pd.DataFrame(columns=["runs", "total hours", "median min/run", "device"])
    rows = []
    for (source, variant), g in runs.groupby(["data_source", "variant"], sort=False):
        w = g["wall_seconds"].astype(float).dropna()
        rows.append({"data_source": source, "variant": variant, "runs": len(g),
                     "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                     "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING,
                     "device": "; ".join(sorted({str(d) for d in g["device"].dropna()})) or MISSING})
    w = runs["wall_seconds"].astype(float).dropna()
    rows.append({"data_source": "all", "variant": "all", "runs": len(runs),
                 "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                 "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING, "device": ""})
    return pd.DataFrame(rows).set_index(["data_source", "variant"])


# ------------------------------------------------------------------------------------ GPU-hours of the table
TRAIN_INTERVALS: dict[str, tuple[int, str]] = {
    # training intervals per speaker (PATS.md "Sizes"; mean interval ~10.7 s)
    "bee": (547, "PATS"),
    "maher": (925, "PATS"),
    "lec_cosmic": (67, "PATS: ~84 intervals in all, bee's train share (0.79)"),
    "oliver": (925, "assumed like maher (unverified)"),
    "colbert": (925, "assumed like maher (unverified)"),
}
MEAN_INTERVAL_SECONDS = 10.7


def train_windows(intervals: int, window: int = 64, hop: int = 5, fps: int = 15,
                  seconds: float = MEAN_INTERVAL_SECONDS) -> int:
    """Training windows of ``intervals`` intervals of mean length ``seconds``: ⌊(frames − window)/hop⌋ + 1 each."""
    frames = int(seconds * fps)
    return intervals * max(0, (frames - window) // hop + 1)


def table_cost(ms_per_step: dict[str, float], measured_on: str, epochs: int = 20, batch_size: int = 32,
               seeds: int = 3, window: int = 64, hop: int = 5) -> pd.DataFrame:
    """Device-hours to train the paper's full table (5 speakers × the variants of ``ms_per_step`` × ``seeds``)
    from measured milliseconds per training step (``ccnce bench step``): steps per epoch = training windows
    / batch size, ``epochs`` epochs per run (no early stop). Evaluation is not counted. ``measured_on``
    labels every row (a CPU figure is not a GPU figure)."""
    rows = []
    for speaker, (intervals, source) in TRAIN_INTERVALS.items():
        windows = train_windows(intervals, window, hop)
        steps = windows // batch_size * epochs
        for variant, ms in ms_per_step.items():
            rows.append({"speaker": speaker, "variant": variant, "train windows": windows, "size source": source,
                         "steps per run": steps, "ms/step": ms, "runs": seeds,
                         "hours": steps * ms / 3.6e6 * seeds, "measured on": measured_on})
    df = pd.DataFrame(rows)
    total = {"speaker": "all", "variant": "all", "train windows": int(df.groupby("speaker")["train windows"].first().sum()),
             "size source": "", "steps per run": int(df["steps per run"].sum()), "ms/step": float("nan"),
             "runs": int(df["runs"].sum()), "hours": float(df["hours"].sum()), "measured on": measured_on}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True).set_index(["speaker", "variant"])

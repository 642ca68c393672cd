"""What a reader needs to trust the pages: a banner for stale runs and a CSV beside every table.

:func:`stale_banner` runs :func:`ccnce.audit.audit` on the results tree and, when some runs were trained by
code the current code would not reproduce (docs/ARCHITECTURE.md, "Stale runs"), returns a warning that
lists them. :func:`csv_download` writes a table as CSV into the book's static folder
(``book/_static/downloads/``, or ``$CCNCE_DOWNLOADS_DIR``), from where the build copies it beside the
pages, and returns the link the page shows.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pandas as pd

from ccnce.report.runs import repo_root, results_dir

DOWNLOADS_ENV = "CCNCE_DOWNLOADS_DIR"
DOWNLOADS_URL = "../_static/downloads"  # from a page under book/ to the build's _static/
SHOW_STALE = 12  # runs listed by name in the banner; the rest are counted


def stale_banner(root: str | Path | None = None) -> str:
    """HTML: a warning admonition naming the stale and incomplete runs, or a one-line note that none is."""
    from ccnce.audit import audit

    report = audit(Path(root) if root is not None else results_dir())
    stale, incomplete = report.stale, report.incomplete
    if not stale and not incomplete:
        return (f'<p class="ccnce-audit">All {len(report.runs)} runs were produced by the current training code '
                f"(code fingerprint <code>{report.current_fingerprint}</code>; <code>ccnce audit</code>).</p>")
    items = [f"<li><code>{html.escape(r.path)}</code>: {html.escape(r.reason)}</li>" for r in stale[:SHOW_STALE]]
    if len(stale) > SHOW_STALE:
        items.append(f"<li>… and {len(stale) - SHOW_STALE} more (<code>ccnce audit results</code> lists them all)</li>")
    parts = [f"<p><strong>{len(stale)} of {len(report.runs)} runs are stale</strong>: the code that trained them "
             f"differs from the current training code (fingerprint <code>{report.current_fingerprint}</code>) "
             "and no reproduced run certifies the change. Their numbers below may not be what the current "
             "code gives; re-run them (<code>make sweep</code>) or certify the change "
             "(<code>ccnce reproduce --certify</code>).</p>"]
    if items:
        parts.append(f"<ul>{''.join(items)}</ul>")
    if incomplete:
        parts.append(f"<p>{len(incomplete)} run folder(s) are incomplete (no metrics) and are not shown.</p>")
    return ('<div class="admonition warning ccnce-stale"><p class="admonition-title">Stale runs</p>'
            + "".join(parts) + "</div>")


def downloads_dir() -> Path:
    env = os.environ.get(DOWNLOADS_ENV)
    return Path(env) if env else repo_root() / "book" / "_static" / "downloads"


def csv_download(table: pd.DataFrame, name: str, label: str = "Download this table as CSV") -> str:
    """Write ``table`` to ``<downloads>/<name>.csv`` and return an HTML link to it."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    out = downloads_dir() / f"{slug}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=not isinstance(table.index, pd.RangeIndex))
    return (f'<p class="ccnce-download"><a href="{DOWNLOADS_URL}/{slug}.csv" download>{html.escape(label)}</a> '
            f"(<code>{slug}.csv</code>)</p>")


def best_note(metric: str, runs: pd.DataFrame | None = None, data_source: str = "synthetic") -> str:
    """Which variant is best in which column, computed, never written as fixed prose.

    Without ``runs``: the paper's table (:func:`~ccnce.report.tables.paper_table`), its Mean column both as
    printed and recomputed from its per-speaker values. With ``runs``: our per-speaker means and Mean column
    (:func:`~ccnce.report.tables.metric_summary`).
    """
    import numpy as np

    from ccnce.config import SPEAKERS
    from ccnce.report.runs import MEAN, METRICS, PAPER_LABEL, SOURCE_LABEL, VARIANT_LABEL, VARIANT_ORDER
    from ccnce.report.tables import load_paper_tables, metric_summary, paper_table

    info = METRICS[metric]
    pick = np.nanargmin if info.better == "lower" else np.nanargmax

    def best(values: dict[str, float]) -> str | None:
        finite = {k: v for k, v in values.items() if np.isfinite(v)}
        if not finite:
            return None
        keys = list(finite)
        return keys[int(pick([finite[k] for k in keys]))]

    if runs is None:
        df = load_paper_tables()
        df = df[df["metric"] == info.label]
        columns = {s: {m: float(df[(df.model == m) & (df.speaker == s)]["mean"].iloc[0])
                       for m in VARIANT_ORDER if len(df[(df.model == m) & (df.speaker == s)])} for s in [*SPEAKERS, MEAN]}
        recomputed = paper_table(metric).attrs["recomputed"].to_dict()
        where = PAPER_LABEL
    else:
        summary = metric_summary(runs, metric, data_source)
        columns = {s: {r.variant: r.mean for r in summary[summary.column == s].itertuples()} for s in [*SPEAKERS, MEAN]}
        recomputed = None
        where = SOURCE_LABEL.get(data_source, data_source)
    mean_best = best(columns[MEAN])
    if mean_best is None:
        return f"{info.label}, {where}: no complete column yet, so no variant can be called best."
    per_speaker = {s: best(columns[s]) for s in SPEAKERS}
    wins = [s for s, b in per_speaker.items() if b == mean_best]
    others = [f"{VARIANT_LABEL[b]} for {s}" for s, b in per_speaker.items() if b not in (None, mean_best)]
    direction = "lowest" if info.better == "lower" else "highest"
    text = (f"{info.label}, {where}: {VARIANT_LABEL[mean_best]} has the {direction} value in the Mean column"
            + (" as printed" if recomputed is not None else "")
            + f"; per speaker it is best for {', '.join(wins) if wins else 'none of the five'}"
            + (f" (best: {'; '.join(others)})" if others else "") + ".")
    if recomputed is not None:
        order = sorted((m for m in VARIANT_ORDER if np.isfinite(recomputed.get(m, np.nan))),
                       key=lambda m: recomputed[m], reverse=info.better != "lower")
        text += (" With the Mean recomputed from the five per-speaker values, the order is "
                 + " < ".join(f"{VARIANT_LABEL[m]} ({recomputed[m]:.{info.decimals}f})" for m in order)
                 if info.better == "lower" else
                 " With the Mean recomputed from the five per-speaker values, the order is "
                 + " > ".join(f"{VARIANT_LABEL[m]} ({recomputed[m]:.{info.decimals}f})" for m in order))
        text += "."
    return text

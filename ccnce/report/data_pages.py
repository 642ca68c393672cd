"""Tables for the Data page: the synthetic lexicon, a dataset's intervals and hours, and how well the
clustering threshold separates gesture classes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def lexicon_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic lexicon as two tables: gesture classes, and phrase families with their classes."""
    from ccnce.data.synth.lexicon import FAMILIES, GESTURES

    names = {g.id: g.name for g in GESTURES}
    gestures = pd.DataFrame([{"id": g.id, "gesture": g.name, "motion": g.description,
                              "phrase families": ", ".join(f.name for f in FAMILIES if g.id in dict(f.classes))}
                             for g in GESTURES]).set_index("id")
    families = pd.DataFrame([{"family": f.name,
                              "gesture(s)": ", ".join(f"{names[c]} ({p:.0%})" if f.ambiguous else names[c]
                                                      for c, p in f.classes),
                              "phrasings": " / ".join(f.phrasings)} for f in FAMILIES])
    families.index.name = "id"
    gestures.attrs["html_classes"] = families.attrs["html_classes"] = "ccnce-text"
    return gestures, families


def dataset_summary(root: str | Path) -> pd.DataFrame:
    """Intervals and hours per speaker and split of a PATS-layout root (from ``cmu_intervals_df.csv``)."""
    df = pd.read_csv(Path(root) / "cmu_intervals_df.csv", dtype={"interval_id": str})
    g = df.groupby(["speaker", "dataset"])["delta_time"]
    out = pd.DataFrame({"intervals": g.size(), "hours": (g.sum() / 3600).round(2)}).unstack("dataset")
    return out


def separability_tables(result: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables of ``ccnce.data.separability.measure_separability``: per speaker and similarity, the μ̂+σ̂
    threshold scored as a classifier of "same gesture class" over window pairs; and per speaker and class,
    the recall of the dot-product threshold (share of same-class pairs it calls similar)."""
    rows = []
    for speaker, r in result["speakers"].items():
        for kind in ("dot", "cosine"):
            m = r[kind]
            rows.append({"speaker": speaker, "Sim": kind, "windows": r["windows"], "labelled": r["labelled"],
                         "mean Sim, same class": f"{m['within_mean']:.3g}",
                         "mean Sim, different": f"{m['across_mean']:.3g}", "μ̂+σ̂": f"{m['threshold']:.3g}",
                         "same-class pairs": f"{m['base_rate']:.3f}", "precision": f"{m['precision']:.3f}",
                         "recall": f"{m['recall']:.3f}", "ROC AUC": f"{m['auc']:.3f}"})
    summary = pd.DataFrame(rows).set_index(["speaker", "Sim"])
    names = list(result.get("classes", []))
    per_class = pd.DataFrame({speaker: {names[int(c)] if int(c) < len(names) else f"class {c}":
                                        f"{v['recall']:.2f} ({v['windows']})" for c, v in r["dot"]["per_class"].items()}
                              for speaker, r in result["speakers"].items()}).T
    per_class.index.name = "speaker"
    return summary, per_class

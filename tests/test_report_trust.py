"""The report's trust helpers: the stale-run banner, CSV downloads, best-variant statements computed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ccnce import provenance, report
from results_fixture import make_results_tree


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_results_tree(tmp_path_factory.mktemp("results"), speakers=("maher", "bee"), variants=("ccnce", "none"))


def test_banner_lists_stale_runs_and_is_quiet_when_none(fx, tmp_path):
    banner = report.stale_banner(fx.root)  # fixture runs name an unknown commit: stale
    assert "admonition warning" in banner and "runs are stale" in banner and "synthetic/bee/ccnce/seed0" in banner
    current = tmp_path / "synthetic" / "bee" / "ccnce" / "seed0"
    current.mkdir(parents=True)
    for name in ("config.json", "metrics.json"):
        (current / name).write_text((fx.root / "synthetic" / "bee" / "ccnce" / "seed0" / name).read_text())
    (current / "provenance.json").write_text(json.dumps({"code_fingerprint": provenance.code_fingerprint()}))
    quiet = report.stale_banner(tmp_path)
    assert "warning" not in quiet and "All 1 runs were produced by the current training code" in quiet


def test_csv_download_writes_the_table_and_links_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CCNCE_DOWNLOADS_DIR", str(tmp_path))
    table = pd.DataFrame({"variant": ["ccnce", "none"], "mean": [0.5, 0.6]})
    link = report.csv_download(table, "results l1/synthetic")
    assert 'href="../_static/downloads/results-l1-synthetic.csv"' in link
    assert pd.read_csv(tmp_path / "results-l1-synthetic.csv").equals(table)


def test_best_note_for_the_paper_is_computed_from_its_table():
    note = report.best_note("l1")
    # the paper's Table 1: CC-NCE leads the printed Mean but is best only for maher and bee, and the
    # recomputed Mean puts MoCo ahead of the backbone
    assert "CC-NCE has the lowest value in the Mean column as printed" in note
    assert "best for maher, bee (" in note
    assert note.index("MoCo (0.712)") < note.index("none (backbone) (0.716)")


def test_best_note_for_our_runs_follows_the_numbers(fx):
    runs = report.collect_runs(fx.root)
    summary = report.metric_summary(runs, "l1", "synthetic")
    mean = summary[summary.column == report.MEAN].set_index("variant")["mean"].dropna()
    best = report.VARIANT_LABEL[mean.idxmin()]
    assert report.best_note("l1", runs, "synthetic").startswith(f"L1, ours (synthetic): {best} has the lowest")

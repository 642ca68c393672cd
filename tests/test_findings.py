"""The findings chapter: verdicts computed from runs and the clustering replay by the stated rules."""

import json

import pandas as pd
import pytest

from ccnce import report
from ccnce.config import SPEAKERS
from results_fixture import make_results_tree


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_results_tree(tmp_path_factory.mktemp("results"))


def _with_l1(fx, shift: float) -> pd.DataFrame:
    """The fixture's runs with CC-NCE's L1 set to the backbone's plus ``shift`` (seed-dependent noise kept)."""
    runs = report.collect_runs(fx.root)
    for (speaker, seed), group in runs[runs.variant == "none"].groupby(["speaker", "seed"]):
        mask = (runs.speaker == speaker) & (runs.seed == seed) & (runs.variant == "ccnce")
        runs.loc[mask, "l1"] = group["l1"].iloc[0] + shift + 0.001 * seed
    return runs


def _write_replay(root, paper_nmi: float, kmeans_nmi: float) -> pd.DataFrame:
    folder = root / report.findings.REPLAY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for speaker in SPEAKERS:
        settings = [{"name": name, "nmi": nmi, "positive_purity": 0.3, "loss_floor": 3.0, "loss_collapse": 3.5}
                    for name, nmi in (("paper", paper_nmi), ("kmeans", kmeans_nmi), ("oracle", 1.0))]
        (folder / f"{speaker}.json").write_text(json.dumps({"speaker": speaker, "settings": settings}))
    (folder / "partial.json").write_text("")  # a replay still being written is skipped
    return report.load_replay(root)


def test_a_gain_beyond_noise_is_reproduced_and_a_loss_is_not(fx):
    table = report.claims_table(_with_l1(fx, -0.05))
    assert table.loc["L1 improves (Table 1)", "verdict"] == "reproduced"
    worse = report.claims_table(_with_l1(fx, +0.05))
    assert worse.loc["L1 improves (Table 1)", "verdict"] == "not reproduced"
    assert "CC-NCE is worse" in worse.loc["L1 improves (Table 1)", "evidence"]


def test_claims_without_numbers_are_inconclusive(fx):
    table = report.claims_table(report.collect_runs(fx.root))  # the fixture runs record no gesture accuracy
    claim = [c for c in table.index if c.startswith("the many-to-one")][0]
    assert table.loc[claim, "verdict"] == "inconclusive"
    assert table.loc["the online clusters are gestures (Fig. 2)", "verdict"] == "inconclusive"


def test_clusters_are_gestures_when_the_paper_reaches_kmeans_on_every_speaker(fx, tmp_path):
    runs = report.collect_runs(fx.root)
    good = report.claims_table(runs, _write_replay(tmp_path / "a", 0.6, 0.5))
    assert good.loc["the online clusters are gestures (Fig. 2)", "verdict"] == "reproduced"
    replay = _write_replay(tmp_path / "b", 0.2, 0.5)
    bad = report.claims_table(runs, replay)
    assert bad.loc["the online clusters are gestures (Fig. 2)", "verdict"] == "not reproduced"
    assert "on 0 of 5" in bad.loc["the online clusters are gestures (Fig. 2)", "evidence"]
    assert list(report.replay_table(replay).index[:3]) == ["paper", "oracle", "kmeans"]
    assert "not reproduced" in report.findings_box(runs, replay)
    assert report.replay_figure(replay).axes
    summary = report.replay_summary(replay)
    assert "NMI 0.20 (k-means on the same windows: 0.50" in summary and "0.50 nats below" in summary


def test_arms_are_missing_until_make_study(fx):
    with pytest.raises(report.MissingResults, match="make study"):
        report.arms_table(report.collect_runs(fx.root), fx.root)

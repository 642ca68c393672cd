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


# ------------------------------------------------------------------------------------ the study arms
def _arm_frames(tmp_path, oracle_gain: float, default_gain: float, share: float | None, oracle_motion: float = 0.0,
                balanced_motion: float | None = None, balanced_gain: float | None = None):
    """Backbone and default CC-NCE runs, and an oracle arm whose k-NN probe is the backbone's + gain (seed
    noise 0.005) and gesture accuracy the backbone's + ``oracle_motion``, with histories whose Eq. 7
    gradient is ``share`` × the reconstruction's after 2 warm-up epochs (``None``: no gradient norms
    logged); with ``balanced_motion``, also a balanced oracle arm (weight 0.035, k-NN gain ``balanced_gain``,
    by default the oracle's)."""
    rows, study = [], []
    for speaker in ("lec_cosmic", "maher"):
        for seed in range(5):
            base = {"data_source": "synthetic", "speaker": speaker, "seed": seed, "l1": 0.5, "fid": 50.0,
                    "gesture_acc": 0.4}
            noise = 0.005 * ((seed * 7 + len(speaker)) % 5 - 2)
            rows.append({**base, "variant": "none", "knn_probe": 0.45})
            rows.append({**base, "variant": "ccnce", "knn_probe": 0.45 + default_gain + noise})
            run = tmp_path / speaker / f"seed{seed}"
            run.mkdir(parents=True)
            (run / "config.json").write_text(json.dumps({"warmup_epochs": 2}))
            epochs = pd.DataFrame({"epoch": range(6)})
            if share is not None:
                epochs["grad_rec"] = 1.0
                epochs["grad_contrastive"] = [0.0, 0.0] + [share] * 4
            epochs.to_csv(run / "history.csv", index=False)
            study.append({**base, "variant": "ccnce", "arm": "oracle", "knn_probe": 0.45 + oracle_gain + noise,
                          "gesture_acc": 0.4 + oracle_motion + noise, "path": str(run)})
            if balanced_motion is not None:
                balanced = tmp_path / "balanced" / speaker / f"seed{seed}"
                balanced.mkdir(parents=True)
                (balanced / "config.json").write_text(json.dumps({"warmup_epochs": 2, "contrastive_weight": 0.035}))
                study.append({**base, "variant": "ccnce", "arm": "oracle_balanced", "path": str(balanced),
                              "knn_probe": 0.45 + (oracle_gain if balanced_gain is None else balanced_gain) + noise,
                              "gesture_acc": 0.4 + balanced_motion + noise})
    return pd.DataFrame(rows), pd.DataFrame(study)


def test_an_arm_helps_only_beyond_noise(tmp_path):
    runs, study = _arm_frames(tmp_path, oracle_gain=0.1, default_gain=0.0, share=0.5)
    numbers = report.arm_comparisons(runs, study).set_index(["arm", "metric"])
    assert numbers.loc[("oracle", "knn_probe"), "helps"] in (True,)  # not None (too few pairs), not False
    assert numbers.loc[("oracle", "knn_probe"), "n"] == 10
    assert numbers.loc[("oracle", "knn_probe"), "mean_diff"] == pytest.approx(0.1, abs=0.005)
    assert numbers.loc[("default", "knn_probe"), "helps"] in (False,)


@pytest.mark.parametrize("oracle_gain, share, z, motion", [
    (0.1, 0.5, "explanation 2, the clustering", "explanation 3, no grounding at this scale"),
    (0.0, 0.01, "explanation 1, Eq. 7 is drowned out", "explanation 1, Eq. 7 is drowned out"),
    (0.0, 0.5, "explanation 3, no grounding at this scale", "explanation 3, no grounding at this scale"),
    (0.0, 5.0, "explanation 4, Eq. 7 dominates the shared parameters",
     "explanation 4, Eq. 7 dominates the shared parameters"),
    (0.0, None, "explanation 1 or 3 (no gradient norms logged)", "explanation 1 or 3 (no gradient norms logged)"),
])
def test_the_reading_follows_the_stated_rules(tmp_path, oracle_gain, share, z, motion):
    runs, study = _arm_frames(tmp_path, oracle_gain=oracle_gain, default_gain=0.0, share=share)
    text = report.explanation(runs, study)  # gesture accuracy: every arm equals the backbone (no help)
    assert f"**For z (k-NN probe): {z}**" in text
    assert f"**For the motion (gesture accuracy): {motion}**" in text
    assert f"- **Why** (the training arms): {text}" in report.findings_box(runs, None, study=study)
    if share is not None:
        assert f"{share:.3g}× the reconstruction's" in text
    assert "**The test of explanation 4** (arm `oracle_balanced`): not trained yet" in text


def test_no_oracle_pairs_is_inconclusive(tmp_path):
    runs, study = _arm_frames(tmp_path, oracle_gain=0.1, default_gain=0.0, share=0.5)
    assert report.explanation(runs, study.iloc[:1]).startswith("**Inconclusive**: the oracle arm has 1")


def test_gradient_norms_skip_the_warm_up_and_draw(tmp_path):
    _, study = _arm_frames(tmp_path, oracle_gain=0.0, default_gain=0.0, share=0.2)
    norms = report.gradient_norms(study)
    assert set(norms["term"]) == {"grad_rec", "grad_contrastive"} and norms["warmup"].sum() == 2 * 2 * 10
    assert report.contrastive_share(norms)["oracle"] == pytest.approx(0.2)
    assert len(report.grad_norm_figure(study).axes) == 1
    seven = pd.concat([study.assign(arm=arm) for arm in list(report.ARMS)[:7]], ignore_index=True)
    fig = report.grad_norm_figure(seven)  # four panels a row
    assert len(fig.axes) == 7 and len({round(ax.get_position().y0, 3) for ax in fig.axes}) == 2


@pytest.mark.parametrize("balanced_motion, reading", [
    (0.0, "the harm goes with the weight: explanation 4 supported"),
    (-0.07, "the harm stays at the lower weight: explanation 4 not supported"),
])
def test_the_balanced_oracle_tests_explanation_4(tmp_path, balanced_motion, reading):
    runs, study = _arm_frames(tmp_path, oracle_gain=0.1, default_gain=0.0, share=5.0, oracle_motion=-0.07,
                              balanced_motion=balanced_motion)
    numbers = report.arm_comparisons(runs, study).set_index(["arm", "metric"])
    assert numbers.loc[("oracle", "gesture_acc"), "hurts"] in (True,)
    assert numbers.loc[("oracle", "knn_probe"), "hurts"] in (False,)
    text = report.explanation(runs, study)
    assert "weighted 0.035" in text
    assert f"For the motion (gesture accuracy): {reading}" in text
    assert "For z (k-NN probe): the balanced oracle helps" in text
    assert text.endswith("No other arm helps on a grounding metric.")  # the balanced oracle is read above
    paper = study[study.arm == "oracle"].assign(arm="paper")  # gradient norms only: not compared again
    with_paper = pd.concat([study, paper], ignore_index=True)
    assert "paper" not in set(report.arm_comparisons(runs, with_paper)["arm"])
    assert "epochs; with the paper's clusters, 5×)" in report.explanation(runs, with_paper)


def _with_mid_arm(tmp_path, study: pd.DataFrame, gain: float, motion: float) -> pd.DataFrame:
    """``study`` plus an ``oracle_mid`` arm (weight 0.19): k-NN probe and gesture accuracy of the backbone
    + ``gain`` / + ``motion``, with the oracle arm's seed noise."""
    oracle = study[study["arm"] == "oracle"]
    rows = []
    for r in oracle.itertuples():
        run = tmp_path / "mid" / r.speaker / f"seed{r.seed}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"warmup_epochs": 2, "contrastive_weight": 0.19}))
        noise = r.knn_probe - 0.45 - 0.1  # the oracle arm's gain is 0.1 in these tests
        rows.append({**r._asdict(), "arm": "oracle_mid", "path": str(run), "knn_probe": 0.45 + gain + noise,
                     "gesture_acc": 0.4 + motion + noise})
    return pd.concat([study, pd.DataFrame(rows).drop(columns="Index")], ignore_index=True)


@pytest.mark.parametrize("balanced_gain, mid, reading", [
    (0.0, None, "**A trade-off, not a free gain**: even with the true gestures, Eq. 7 grounds z only at a weight at "
                "which it costs the motion (weights tried: 1, 0.035; z is grounded at 1, and the motion is harmed there)."),
    (0.0, (0.05, -0.05), "(weights tried: 1, 0.19, 0.035; z is grounded at 1, 0.19, and the motion is harmed there)."),
    (0.0, (0.05, 0.0), "**A weight that grounds z without costing the motion**: 0.19 (z: +0.050"),
    (0.1, None, "**A weight that grounds z without costing the motion**: 0.035 (z: +0.100"),
])
def test_the_reading_weighs_the_oracle_by_its_weight(tmp_path, balanced_gain, mid, reading):
    runs, study = _arm_frames(tmp_path, oracle_gain=0.1, default_gain=0.0, share=5.0, oracle_motion=-0.07,
                              balanced_motion=0.0, balanced_gain=balanced_gain)
    if mid is not None:
        study = _with_mid_arm(tmp_path, study, *mid)
    text = report.explanation(runs, study)
    assert reading in text
    assert text.endswith("No other arm helps on a grounding metric.")  # the weighted oracles are read above


def test_the_arms_forest_colours_help_and_harm(tmp_path):
    runs, study = _arm_frames(tmp_path, oracle_gain=0.1, default_gain=0.0, share=5.0, oracle_motion=-0.07,
                              balanced_motion=0.0)
    fig = report.arms_figure(runs, study, metrics=("knn_probe", "gesture_acc"))
    knn, motion = fig.axes
    assert [t.get_text() for t in knn.get_yticklabels()] == ["default (10)", "oracle (10)", "oracle_balanced (10)"]
    colour = lambda ax: [line.get_color() for line in ax.lines if line.get_marker() == "o"]  # noqa: E731
    assert colour(knn) == ["#7f7f7f", "#2a9d55", "#2a9d55"]
    assert colour(motion) == ["#7f7f7f", "#c0392b", "#7f7f7f"]
    with pytest.raises(report.MissingResults, match="make study"):
        report.arms_figure(runs[runs.variant == "none"], study.iloc[:1], metrics=("knn_probe",))  # 1 pair only

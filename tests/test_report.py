"""ccnce.report: aggregation of a (fake) results tree into the book's tables, and its figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ccnce import report
from ccnce.config import SPEAKERS
from results_fixture import make_results_tree

MISSING_RUNS = (("colbert", "patchnce", 0), ("colbert", "patchnce", 1), ("colbert", "patchnce", 2),
                ("bee", "moco", 2))


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_results_tree(tmp_path_factory.mktemp("results"), missing=MISSING_RUNS)


@pytest.fixture(scope="module")
def runs(fx):
    return report.collect_runs(fx.root)


# ------------------------------------------------------------------------------------- collection
def test_collect_runs_has_one_row_per_run_with_metrics_and_provenance(fx, runs):
    assert len(runs) == 60 - len(MISSING_RUNS)
    row = runs[(runs.speaker == "bee") & (runs.variant == "ccnce") & (runs.seed == 1)].iloc[0]
    assert row["l1"] == pytest.approx(fx.metrics[("bee", "ccnce", 1)]["l1"])
    assert row["device"] == "test fixture (no training)" and row["wall_seconds"] == 61.0
    assert row["path"].endswith("synthetic/bee/ccnce/seed1")
    # a null metric (no online clusters outside CC-NCE) is NaN, not an error
    assert runs.loc[runs.variant == "none", "cluster_nmi"].isna().all()
    assert runs.loc[runs.variant == "ccnce", "cluster_nmi"].notna().all()


def test_collect_runs_of_an_empty_or_missing_tree_has_the_columns(tmp_path):
    for root in (tmp_path, tmp_path / "nothing-here"):
        df = report.collect_runs(root)
        assert df.empty and {"l1", "fid", "speaker", "variant", "seed", "path"} <= set(df.columns)


def test_collect_runs_skips_runs_in_progress_and_unreadable_metrics(tmp_path):
    make_results_tree(tmp_path, speakers=("bee",), variants=("none",), seeds=(0, 1, 2))
    (tmp_path / "synthetic/bee/none/seed1/metrics.json").write_text("{not json")
    (tmp_path / "synthetic/bee/none/seed2/metrics.json").unlink()  # a run still training
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench/step.json").write_text("{}")
    df = report.collect_runs(tmp_path)
    assert df["seed"].tolist() == [0]


def test_coverage_counts_the_expected_grid(runs):
    cov = report.coverage(runs, "synthetic")
    unrun = {(s, v, k) for s in SPEAKERS for v in report.VARIANT_ORDER for k in (3, 4)}  # the fixture has seeds 0-2
    assert (cov.found, cov.expected) == (56, 100) and set(cov.missing) == set(MISSING_RUNS) | unrun
    text = cov.statement()
    assert "56 of the 100 expected runs" in text and "Seed(s) 3, 4 have not been run yet" in text
    assert "Also missing: " in text and "colbert/patchnce (seed 0, 1, 2)" in text
    assert "bee/moco (seed 2)" in text and "All were made with the `fixture` profile." in text
    assert "0 of the 100" in report.coverage(runs, "pats").statement()


# ----------------------------------------------------------------------------------------- tables
def test_metric_table_cells_are_mean_std_n_over_seeds(fx, runs):
    table = report.metric_table(runs, "l1", "synthetic")
    assert list(table.columns) == [*SPEAKERS, "mean"] and list(table.index) == ["ccnce", "none", "moco", "patchnce"]
    for speaker in SPEAKERS:
        for variant in table.index:
            values = np.array(list(fx.values("l1", speaker, variant).values()))
            if (speaker, variant) == ("colbert", "patchnce"):
                assert table.loc[variant, speaker] == "—"
                continue
            expected = f"{values.mean():.3f} ± {values.std(ddof=1):.3f} ({len(values)})"
            assert table.loc[variant, speaker] == expected
    assert table.loc["moco", "bee"].endswith("(2)")


def test_mean_column_is_the_mean_of_per_speaker_means(fx, runs):
    summary = report.metric_summary(runs, "fid", "synthetic").set_index(["variant", "column"])
    per_speaker = [np.mean(list(fx.values("fid", s, "moco").values())) for s in SPEAKERS]
    assert summary.loc[("moco", "mean"), "mean"] == pytest.approx(np.mean(per_speaker))
    # std over seeds of the per-seed speaker average, on the seeds every speaker has (bee/moco lacks seed 2)
    seed_avgs = [np.mean([fx.values("fid", s, "moco")[k] for s in SPEAKERS]) for k in (0, 1)]
    assert summary.loc[("moco", "mean"), "std"] == pytest.approx(np.std(seed_avgs, ddof=1))
    assert summary.loc[("moco", "mean"), "n"] == 2
    # patchnce lacks colbert: its mean covers 4 speakers, says so, and is never marked best
    table = report.metric_table(runs, "fid", "synthetic")
    assert table.loc["patchnce", "mean"].endswith("[4/5 speakers]")
    assert not table.attrs["best"].loc["patchnce", "mean"]


@pytest.mark.parametrize("metric, better", [("l1", min), ("fid", min), ("w1_vel", min), ("pck", max),
                                            ("f1", max), ("knn_acc", max)])
def test_best_per_column_follows_the_metric_direction(fx, runs, metric, better):
    table = report.metric_table(runs, metric, "synthetic")
    best = table.attrs["best"]
    for speaker in SPEAKERS:
        means = {v: np.mean(list(fx.values(metric, speaker, v).values())) for v in table.index
                 if fx.values(metric, speaker, v)}
        winner = better(means, key=means.get)
        assert best.loc[winner, speaker]
        assert best[speaker].sum() == 1
    html = report.to_html(table)
    assert html.count("<strong>") == int(best.to_numpy().sum())


def test_table_of_nothing_is_all_dashes(tmp_path):
    table = report.metric_table(report.collect_runs(tmp_path), "l1", "synthetic")
    assert (table == "—").all().all() and not table.attrs["best"].to_numpy().any()
    assert "—" in report.to_html(table)


def test_one_seed_has_no_std(tmp_path):
    make_results_tree(tmp_path, speakers=("bee",), variants=("none",), seeds=(0,))
    table = report.metric_table(report.collect_runs(tmp_path), "l1", "synthetic")
    assert table.loc["none", "bee"].endswith("(1)") and "±" not in table.loc["none", "bee"]


def test_paper_table_recomputes_the_mean_and_flags_moco_and_patchnce_only():
    for metric in ("l1", "fid"):
        table = report.paper_table(metric)
        flags = table.attrs["inconsistent"]
        assert flags.to_dict() == {"ccnce": False, "none": False, "moco": True, "patchnce": True}
        assert table.loc["ccnce", "check"] == "agrees"
        assert table.loc["moco", "check"].startswith("differs by")
    l1, fid = report.paper_table("l1").attrs, report.paper_table("fid").attrs
    # the values the data README states, recomputed here from the per-speaker numbers
    assert (round(l1["reported"]["moco"], 3), round(l1["recomputed"]["moco"], 3)) == (0.771, 0.712)
    assert (round(l1["reported"]["patchnce"], 3), round(l1["recomputed"]["patchnce"], 3)) == (0.769, 0.718)
    assert (round(fid["reported"]["moco"], 2), round(fid["recomputed"]["moco"], 2)) == (39.66, 37.95)
    assert (round(fid["reported"]["patchnce"], 2), round(fid["recomputed"]["patchnce"], 2)) == (33.30, 38.12)
    assert "MoCo 0.771 reported vs. 0.712 recomputed" in report.paper_mean_note("l1")


def test_paper_table_marks_the_papers_best():
    best = report.paper_table("l1").attrs["best"]
    assert best.loc["ccnce", "maher"] and best.loc["patchnce", "lec_cosmic"] and best.loc["moco", "colbert"]
    assert best.loc["ccnce", "Mean (paper)"]
    with pytest.raises(report.CcnceError, match="only L1"):
        report.paper_table("pck")


def test_side_by_side_puts_paper_rows_under_ours(runs):
    table = report.side_by_side(runs, "l1", "synthetic")
    assert table.loc[("moco", "paper (real PATS)"), "maher"] == "0.983 ± 0.028"
    assert table.loc[("moco", "paper (real PATS)"), "mean"] == "0.771 ± 0.086 †"
    assert table.loc[("ccnce", "paper (real PATS)"), "mean"] == "0.682 ± 0.007"
    assert table.loc[("ccnce", "ours (synthetic)"), "maher"] == report.metric_table(runs, "l1").loc["ccnce", "maher"]
    html = report.to_html(table)
    assert "paper (real PATS)" in html and "ours (synthetic)" in html and "CC-NCE" in html


# ---------------------------------------------------------------------------------- paired stats
def test_paired_comparisons_use_shared_seeds(fx, runs):
    df = report.paired_comparisons(runs, "l1", "synthetic", baseline="all")
    assert set(df["comparison"]) == {"ccnce − none", "ccnce − moco", "ccnce − patchnce"}
    row = df[(df.speaker == "bee") & (df.comparison == "ccnce − moco")].iloc[0]
    a, b = fx.values("l1", "bee", "ccnce"), fx.values("l1", "bee", "moco")
    diffs = [a[k] - b[k] for k in (0, 1)]  # moco has no seed 2 for bee
    assert row["n"] == 2 and row["mean_diff"] == pytest.approx(np.mean(diffs))
    assert row["cohens_dz"] == pytest.approx(np.mean(diffs) / np.std(diffs, ddof=1))
    missing = df[(df.speaker == "colbert") & (df.comparison == "ccnce − patchnce")].iloc[0]
    assert missing["n"] == 0 and math.isnan(missing["mean_diff"]) and "not enough shared seeds" in missing["verdict"]


def test_paired_verdicts_say_noise_or_direction_in_words(runs):
    df = report.paired_comparisons(runs, "knn_acc", "synthetic", baseline="none")
    assert list(df["comparison"].unique()) == ["ccnce − none"]
    # the fixture's CC-NCE is far better at k-NN: never within noise, called better, with the seed caveat
    for verdict, noise in zip(df["verdict"], df["within_noise"]):
        assert noise is False and "ccnce better than none" in verdict and "hint, not a test" in verdict
    fid = report.paired_comparisons(runs, "fid", "synthetic", baseline="none")
    assert all("worse" in v or "within noise" in v for v in fid["verdict"])  # fixture: CC-NCE has higher FID
    noisy = report.paired_comparisons(runs, "pck", "synthetic", baseline="all")
    assert any(v.startswith("within noise") for v in noisy["verdict"])
    summary = report.paired_summary(noisy)
    assert "within noise" in summary and "lack the seeds" in summary
    shown = report.format_paired(noisy)
    assert shown.index.names == ["speaker", "comparison"] and "—" in shown["mean difference"].tolist()


def test_glance_table_and_headline_come_from_the_metric_tables(runs):
    glance = report.glance_table(runs, "synthetic")
    for metric in report.GLANCE_METRICS:
        table = report.metric_table(runs, metric, "synthetic")
        label = report.METRICS[metric].label
        assert glance[label].tolist() == table["mean"].tolist()
        assert glance.attrs["best"][label].tolist() == table.attrs["best"]["mean"].tolist()
    assert "<strong>" in report.to_html(glance)
    lines = report.headline(runs, "synthetic").splitlines()
    row = report.paired_comparisons(runs, "l1", "synthetic").set_index("speaker").loc["mean"]
    assert len(lines) == 2 and lines[0].startswith("- **L1**, CC-NCE − none (backbone): ")
    assert f"{row['mean_diff']:+.3f}" in lines[0] and row["verdict"] in lines[0]


def test_grounding_table_shows_both_knn_measures_with_their_chance(fx, runs):
    table = report.grounding_table(runs, "synthetic")
    assert list(table.index) == list(report.VARIANT_ORDER)
    probe = [fx.metrics[key]["knn_probe"] for key in fx.metrics if key[1] == "ccnce"]
    cell = table.loc["ccnce", report.METRICS["knn_probe"].label]
    assert cell.startswith(f"{np.mean(probe):.3f} ± {np.std(probe, ddof=1):.3f}") and f"({len(probe)} runs)" in cell
    assert table.loc["none", "probe chance"].startswith("0.250") and table.loc["none", "test-only chance"].startswith("0.300")
    assert report.chance_level(runs, "synthetic", "knn_probe") == pytest.approx(0.25)
    assert math.isnan(report.chance_level(runs, "pats", "knn_probe"))


def test_baseline_rows_sit_under_the_variants_and_are_never_best(tmp_path, runs):
    for speaker, shift in (("maher", 0.0), ("bee", 0.2)):
        record = {"baselines": {
            "mean_pose": [{"seed": 0, "l1": 0.01 + shift, "f1": 0.3, "f1_constant": 0.25, "gesture_acc": 0.1,
                           "gesture_acc_true": 0.9, "gesture_acc_chance": 0.3}],
            "random_window": [{"seed": 0, "l1": 0.8 + shift, "gesture_acc": 0.2},
                              {"seed": 1, "l1": 0.9 + shift, "gesture_acc": 0.25}]}}
        path = tmp_path / "synthetic" / speaker / "baselines.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
    baselines = report.collect_baselines(tmp_path)
    assert set(baselines["variant"]) == {"mean_pose", "random_window", "true_motion", "chance"}
    table = report.metric_table(runs, "l1", "synthetic", baselines)
    assert list(table.index) == [*report.VARIANT_ORDER, "mean_pose", "random_window"]  # no l1 for the bounds
    assert table.loc["mean_pose", "maher"] == "0.010 (1)" and table.loc["random_window", "bee"] == "1.050 ± 0.071 (2)"
    assert not table.attrs["best"].loc[["mean_pose", "random_window"]].any().any()  # lowest L1, yet not best
    acc = report.metric_table(runs, "gesture_acc", "synthetic", baselines)
    assert acc.loc["true_motion", "maher"] == "0.900 (1)" and acc.loc["chance", "bee"] == "0.300 (1)"
    f1 = report.metric_table(runs, "f1", "synthetic", baselines)
    assert f1.loc["chance", "maher"] == "0.250 (1)"  # F1's floor: every frame in one cluster
    assert "baseline: mean pose" in report.to_html(table)


def test_backbone_targets_compare_the_backbone_with_its_baselines(runs):
    rows = []
    for speaker in SPEAKERS:
        none = runs[(runs.speaker == speaker) & (runs.variant == "none")]
        rows += [dict(data_source="synthetic", speaker=speaker, variant="mean_pose", seed=0, l1=none["l1"].mean() / 0.8),
                 dict(data_source="synthetic", speaker=speaker, variant="random_window", seed=0, fid=1.0),
                 dict(data_source="synthetic", speaker=speaker, variant="chance", seed=0, gesture_acc=0.2),
                 dict(data_source="synthetic", speaker=speaker, variant="true_motion", seed=0, gesture_acc=0.9)]
    baselines = pd.DataFrame(rows)
    for metric in report.METRICS:
        baselines[metric] = baselines.get(metric, np.nan)
    numbers = report.backbone_targets(runs, baselines, "synthetic").attrs["numbers"]
    l1 = numbers.loc["L1 ≤ 0.85 × mean pose"]
    assert l1["value"] == pytest.approx(0.8 * l1["threshold"] / 0.85) and l1["met"] is True
    assert numbers.loc["FID ≤ 2 × random real window", "threshold"] == pytest.approx(2.0)
    assert numbers.loc["FID ≤ 2 × random real window", "met"] is False  # the fixture's FIDs are far above 2
    acc = numbers.loc["gesture accuracy ≥ halfway from chance to true motion"]
    assert acc["threshold"] == pytest.approx(0.55) and acc["met"] is None  # the fixture runs have no gesture_acc


def test_regime_table_sets_each_arm_beside_its_default_run(fx, runs):
    arm_root = fx.root / report.REGIME_DIR / "paper_weight"
    make_results_tree(arm_root, speakers=("maher",), variants=("none",), seeds=(0,))
    metrics_path = arm_root / "synthetic" / "maher" / "none" / "seed0" / "metrics.json"
    metrics_path.write_text(json.dumps({**json.loads(metrics_path.read_text()), "l1": 0.123, "best_epoch": 2}))
    regime = report.regime_runs(fx.root)
    assert len(regime) == 1 and regime["arm"].tolist() == ["paper_weight"]
    table = report.regime_table(runs, regime, "synthetic")
    default = table.loc[("maher", 0, "default (cpu profile)")]
    arm = table.loc[("maher", 0, report.REGIME_ARMS["paper_weight"])]
    assert default["L1"] == f"{fx.metrics[('maher', 'none', 0)]['l1']:.3f}" and arm["L1"] == "0.123"
    assert arm["best epoch"] == "2"
    lines = [ax for ax in report.regime_curves(runs, regime, "synthetic").axes
             if ax.get_title() == "dev L1 (early stopping)"][0].get_lines()
    assert len(lines) == 2  # the arm and its default run
    with pytest.raises(report.MissingResults, match="make regime"):
        report.regime_table(runs, regime, "pats")
    assert report.regime_runs(fx.root / "elsewhere").empty


# ---------------------------------------------------------------------------------------- figures
@pytest.mark.parametrize("make", [report.training_curves, report.clustering_curves, report.cluster_quality_curves,
                                  report.cluster_heatmaps, report.knn_figure, report.qualitative_figure])
def test_figures_draw_from_the_tree_and_name_their_runs(runs, make):
    fig = make(runs, "synthetic")
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))
    assert "synthetic" in texts and "not recorded" not in texts  # panels name columns the runs record
    assert report.figure_png(fig, dpi=30).startswith(b"\x89PNG")


def test_tsne_figure_and_metric_figure(runs):
    fig = report.tsne_figure(runs, "synthetic", max_points=40)
    assert len(fig.axes) == 4 and "lec_cosmic" in fig._suptitle.get_text()
    assert len(report.metric_figure(runs, "fid", "synthetic").axes) == 2


def test_figures_of_missing_runs_raise_missing_results(tmp_path):
    empty = report.collect_runs(tmp_path)
    for make in (report.training_curves, report.cluster_heatmaps, report.tsne_figure, report.knn_figure,
                 report.qualitative_figure):
        with pytest.raises(report.MissingResults):
            make(empty, "synthetic")


def test_joint_displacement_is_distance_from_the_first_frame():
    window = np.zeros((3, 96))
    window[1, 0], window[2, 48] = 3.0, 4.0  # joint 0 moves 3 px in x, then 4 px in y
    disp = report.joint_displacement(window)
    assert disp.shape == (3, 48) and disp[:, 0].tolist() == [0.0, 3.0, 4.0] and disp[:, 1:].sum() == 0


# ------------------------------------------------------------------------------------ the rest
def test_bench_and_sweep_tables(tmp_path, runs):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench/step.json").write_text(json.dumps({"none": {"ms_per_step": 50.0, "ratio_vs_none": 1.0},
                                                          "ccnce": {"ms_per_step": 65.0, "ratio_vs_none": 1.3}}))
    (tmp_path / "bench/cache.json").write_text(json.dumps({"build_s": 1.5, "windows": 300}))
    bench = report.load_bench(tmp_path)
    assert set(bench) == {"step", "cache"}
    assert report.bench_table(bench["step"]).loc["ccnce", "ratio_vs_none"] == "1.3"
    assert list(report.bench_table(bench["cache"]).index) == ["build_s", "windows"]
    sweep = report.sweep_time_table(runs)
    assert sweep.loc[("synthetic", "patchnce"), "runs"] == 12 and sweep.loc[("all", "all"), "runs"] == 56


def test_results_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CCNCE_RESULTS_DIR", str(tmp_path))
    assert report.results_dir() == tmp_path
    monkeypatch.delenv("CCNCE_RESULTS_DIR")
    assert report.results_dir().name == "results"


def test_lexicon_tables_list_every_class_and_family():
    from ccnce.data.synth.lexicon import FAMILIES, GESTURES

    gestures, families = report.lexicon_tables()
    assert len(gestures) == len(GESTURES) and len(families) == len(FAMILIES)
    assert "%" in families.loc[[f.id for f in FAMILIES if f.ambiguous][0], "gesture(s)"]


def test_paper_tables_are_packaged_with_their_source():
    assert report.PAPER_TABLES.exists()
    assert "Lee" in (report.PAPER_TABLES.parent / "PAPER_TABLES.md").read_text()
    df = report.load_paper_tables()
    assert len(df) == 48 and set(df["model"]) == set(report.VARIANT_ORDER)


def test_separability_tables_read_the_measurement():
    from ccnce.data.separability import window_separability

    rng = np.random.default_rng(0)
    gesture = np.repeat(rng.integers(0, 3, size=(30, 1)), 64, axis=1)
    pose = rng.normal(size=(30, 64, 96)) + gesture[:, :, None]
    result = {"root": "x", "min_share": 0.5, "split": "train", "classes": ["a", "b", "c"],
              "speakers": {"bee": window_separability(pose, gesture)}}
    summary, per_class = report.separability_tables(result)
    assert list(summary.index) == [("bee", "dot"), ("bee", "cosine")]
    assert summary.loc[("bee", "dot"), "windows"] == 30
    assert list(per_class.columns) == ["a", "b", "c"] and per_class.loc["bee", "a"].endswith(f"({(gesture[:, 0] == 0).sum()})")


def test_coverage_warns_when_profiles_are_mixed(tmp_path):
    make_results_tree(tmp_path, speakers=("bee",), variants=("none",), seeds=(0, 1))
    path = tmp_path / "synthetic/bee/none/seed1/metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "profile": "smoke"}))
    text = report.coverage(report.collect_runs(tmp_path), "synthetic").statement()
    assert "mix profiles (`fixture` (1), `smoke` (1))" in text


def test_coverage_names_seeds_that_were_not_run_at_all(tmp_path):
    make_results_tree(tmp_path, seeds=(0,))
    text = report.coverage(report.collect_runs(tmp_path), "synthetic").statement()
    assert "20 of the 100" in text and "Seed(s) 1, 2, 3, 4 have not been run yet for any speaker or variant." in text
    assert "missing:" not in text.lower()
    assert "None of them" not in text

"""The Performance and Data pages' figures: benchmark ratios, the bank-encoding curves, the synthetic
speakers' pose statistics beside the real ones, and the Sim histograms of the separability check."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from ccnce import report
from ccnce.config import SPEAKERS
from ccnce.data.separability import similarity_histogram, window_separability
from ccnce.data.synth.speakers import speaker_style
from ccnce.report.data_pages import POSE_QUANTITIES, REAL, SYNTHETIC, pose_quantities, synthetic_pose_stats

BENCH = {
    "step": {"none": {"ms_per_step": 100.0, "ratio_vs_none": 1.0}, "moco": {"ms_per_step": 160.0, "ratio_vs_none": 1.6}},
    "clustering": {"batch_sizes": [32, 128], "speedup": [18.0, 47.0], "speedup_vs_per_anchor": [2.5, 5.9],
                   "speedup_vs_full": [26.0, 19.0]},
    "cache": {"cached_vs_no_cache": 10.0, "batched_vs_per_item": 9.0, "build_s": 2.4},
    "bank_encoding": {"checkpoints": [25, 50], "seeds": [0], "chance": 0.05,
                      **{e: {"knn": [0.1, 0.2, 0.3], "ms_per_step": ms} for e, ms in
                         (("full", 300.0), ("sampled", 100.0), ("momentum", 80.0))}},
    "provenance": {"git": {"commit": "0123456789abcdef", "dirty": True}, "device": "CPU x86_64, 2 threads",
                   "written": "2026-11-28", "packages": {"torch": "2.13.0"}},
    "broken": "unreadable: Expecting value",
}


# ------------------------------------------------------------------------------------- performance
def test_bench_ratios_are_the_measured_time_ratios_of_each_benchmark():
    r = report.bench_ratios(BENCH).set_index("comparison")["ratio"]
    assert r["moco ÷ backbone alone"] == 1.6 and not any("none" in c for c in r.index)
    assert r["per-pair loop ÷ ours, batch 128"] == 47.0 and r["per-anchor + full re-encoding ÷ ours, batch 32"] == 26.0
    assert r["no cache ÷ cached (epoch)"] == 10.0 and "build_s" not in " ".join(r.index)
    assert r["full ÷ sampled (ms per step)"] == pytest.approx(3.0) and r["momentum ÷ sampled (ms per step)"] == pytest.approx(0.8)
    assert len(r) == 1 + 6 + 2 + 2  # provenance and the unreadable output are not benchmarks


def test_bench_figure_has_one_panel_per_benchmark_and_says_when_there_is_none():
    fig = report.bench_figure({k: BENCH[k] for k in ("step", "cache")})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[-1].get_xscale() == "log"
    with pytest.raises(report.MissingResults):
        report.bench_figure({"provenance": BENCH["provenance"]})


def test_bank_encoding_figure_draws_one_curve_per_encoding_and_chance():
    ax = report.bank_encoding_figure(BENCH["bank_encoding"]).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["full (300 ms/step)", "sampled (100 ms/step)", "momentum (80 ms/step)", "chance"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 25, 50]
    with pytest.raises(report.MissingResults):
        report.bank_encoding_figure(None)


def test_bench_provenance_note_names_device_and_commit():
    note = report.bench_provenance_note(BENCH)
    assert "CPU x86_64, 2 threads" in note and "`0123456789 with uncommitted changes`" in note
    assert "not recorded" in report.bench_provenance_note({})


# ------------------------------------------------------------------------------------------- data
def test_pose_quantities_of_a_known_pose():
    mean, var = np.zeros(104), np.zeros(104)
    mean[[1, 4]] = [-100.0, 100.0]  # shoulders 100 px either side of the neck
    mean[[2, 5]], mean[[54, 57]] = [-100.0, 100.0], [150.0, 150.0]  # elbows 150 px below them
    var[[3, 55]] = 50.0**2  # right wrist std 50 px in x and y; left wrist still
    q = pose_quantities(mean, var)
    assert list(q) == list(POSE_QUANTITIES)
    assert q["shoulder half-width (px)"] == pytest.approx(100.0) and q["upper arm (px)"] == pytest.approx(150.0)
    assert q["right wrist spread (std / half-width)"] == pytest.approx(0.5)
    assert q["left wrist spread (std / half-width)"] == 0.0


def test_real_speaker_statistics_agree_with_the_synthetic_styles():
    table = report.speaker_stats_table(None)
    assert set(table["source"]) == {REAL} and len(table) == len(SPEAKERS) * len(POSE_QUANTITIES)
    width = table[table["quantity"] == POSE_QUANTITIES[0]].set_index("speaker")["value"]
    for speaker in SPEAKERS:
        assert width[speaker] == pytest.approx(speaker_style(speaker).unit)


def test_synthetic_statistics_are_read_from_the_training_poses(pats_root):
    import h5py

    speaker = next(iter(pats_root.intervals))
    mean, var = synthetic_pose_stats(pats_root.root, speaker)
    frames = []
    for interval_id in pats_root.intervals[speaker]["train"]:
        with h5py.File(pats_root.root / "processed" / speaker / f"{interval_id}.h5") as f:
            frames.append(f["pose/data"][:])
    assert np.allclose(mean, np.concatenate(frames).mean(axis=0))
    table = report.speaker_stats_table(pats_root.root, speakers=[speaker])
    assert set(table["source"]) == {REAL, SYNTHETIC}
    fig = report.speaker_stats_figure(table)
    assert len(fig.axes) == len(POSE_QUANTITIES)


def test_similarity_histogram_counts_every_pair_once_on_shared_edges():
    s = np.array([-5.0, 0.0, 0.1, 0.2, 0.9, 1.0, 50.0])
    same = np.array([False, False, True, False, True, True, True])
    h = similarity_histogram(s, same, bins=10)
    assert len(h["edges"]) == 11 and len(h["same"]) == len(h["different"]) == 10
    assert sum(h["same"]) == 4 and sum(h["different"]) == 3  # the outliers land in the end bins
    assert h["different"][0] >= 1 and h["same"][-1] >= 1


def test_separability_figure_has_a_panel_per_speaker_with_the_threshold():
    rng = np.random.default_rng(0)
    gesture = np.repeat(np.arange(3), 10)[:, None].repeat(8, axis=1)
    pose = rng.normal(size=(30, 8, 4)) + gesture[:, :, None] * 0.8
    r = window_separability(pose, gesture)
    h = r["dot"]["histogram"]
    assert sum(h["same"]) == r["dot"]["same_pairs"] and sum(h["same"]) + sum(h["different"]) == r["dot"]["pairs"]
    fig = report.separability_figure({"speakers": {"a": r, "b": r}})
    assert len(fig.axes) == 2
    assert any(line.get_xdata()[0] == pytest.approx(r["dot"]["threshold"]) for line in fig.axes[0].get_lines())
    with pytest.raises(report.MissingResults):
        report.separability_figure({"speakers": {"a": {"dot": {}}}})

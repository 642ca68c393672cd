"""The Performance and Data pages' figures: benchmark ratios, the bank-encoding curves, the synthetic
speakers' pose statistics beside the real ones, and the Sim histograms of the separability check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
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
                         (("full", 300.0), ("sampled", 100.0), ("momentum", 80.0), ("memory", 60.0))}},
    "scale": {"ddp": {"variant": "ccnce", "profile": "cpu", "global_batch": 32, "world": 2, "rounds": 3, "steps": 10,
                      "threads_total": 2, "world_1": {"ms_per_step": 120.0, "windows_per_s": 266.7},
                      "world_2": {"ms_per_step": 80.0, "windows_per_s": 400.0}, "speedup": 1.5},
              "launchers": {"runs": 2, "profile": "smoke", "rounds": 3, "inprocess": {"wall_s": 60.0, "s_per_run": 30.0},
                            "local": {"wall_s": 66.0, "s_per_run": 33.0}, "local_vs_inprocess": 1.1}},
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
    assert r["memory ÷ sampled (ms per step)"] == pytest.approx(0.6)
    assert r["1 ÷ 2 processes (ms per global step)"] == 1.5 and r["submitit local ÷ in-process sweep (wall time)"] == 1.1
    assert len(r) == 1 + 6 + 2 + 3 + 2  # provenance and the unreadable output are not benchmarks


def test_bench_figure_has_one_panel_per_benchmark_and_says_when_there_is_none():
    fig = report.bench_figure({k: BENCH[k] for k in ("step", "cache")})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[-1].get_xscale() == "log"
    with pytest.raises(report.MissingResults):
        report.bench_figure({"provenance": BENCH["provenance"]})


def test_bank_encoding_figure_draws_one_curve_per_encoding_and_chance():
    ax = report.bank_encoding_figure(BENCH["bank_encoding"]).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["full (300 ms/step)", "sampled (100 ms/step)", "momentum (80 ms/step)", "memory (60 ms/step)",
                      "chance"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 25, 50]
    with pytest.raises(report.MissingResults):
        report.bank_encoding_figure(None)


def test_scale_table_puts_one_and_two_processes_and_both_launchers_side_by_side():
    t = report.scale_table(BENCH["scale"])
    ddp = "DDP: ccnce step, cpu profile, global batch 32"
    assert t.loc[(ddp, "1 process"), "time"] == "120.0 ms/step" and t.loc[(ddp, "2 processes"), "windows/s"] == "400"
    assert t.loc[(ddp, "2 processes"), "ratio"] == "1.50× faster"
    assert t.loc[("sweep: 2 smoke run(s)", "--launcher local (submitit)"), "ratio"] == "1.10× the time"
    with pytest.raises(report.MissingResults, match=r"ccnce bench scale --json > results/bench/scale.json"):
        report.scale_table(None)


def test_gpu_section_says_it_is_not_measured_or_shows_the_measurements(tmp_path):
    assert report.load_gpu_bench(tmp_path) == {}
    note = report.gpu_note({})
    assert "not measured" in note and "no GPU has been lent" in note and "scripts/gpu_check.sh" in note
    assert report.gpu_tables({}) == []
    gpu = tmp_path / "bench" / "gpu"
    (gpu / "paper_run" / "run").mkdir(parents=True)
    step = {v: {"ms_per_step": ms, "ratio_vs_none": ms / 60, "windows_per_s": 32000 / ms, "peak_mem_mib": 900.0}
            for v, ms in (("none", 60.0), ("ccnce", 66.0))}
    (gpu / "step_paper.json").write_text(json.dumps(step))
    (gpu / "concurrent_2.json").write_text(json.dumps({"K": 2, "windows_per_s_total": {"none": 900.0, "ccnce": 800.0}}))
    (gpu / "paper_run" / "run" / "provenance.json").write_text(json.dumps({"device": "NVIDIA H200 (CUDA 12.8)"}))
    loaded = report.load_gpu_bench(tmp_path)
    assert "measured on NVIDIA H200 (CUDA 12.8)" in report.gpu_note(loaded)
    steps, concurrent, cost = report.gpu_tables(loaded)
    assert steps.loc["ccnce", "ms_per_step"] == "66" and concurrent.loc["K = 2", "ccnce"] == 800.0
    assert list(cost.index) == ["all", "ccnce", "none"]
    assert cost.loc["all", "GPU-hours"] == pytest.approx(cost.loc[["ccnce", "none"], "GPU-hours"].sum(), abs=0.011)


def test_step_target_note_states_the_ratio_and_the_verdict():
    step = {"none": {"ms_per_step": 100.0, "ratio_vs_none": 1.0}, "ccnce": {"ms_per_step": 114.0, "ratio_vs_none": 1.14}}
    assert report.step_target_note(step) == ("A CC-NCE step costs **1.14×** the backbone's (114 vs 100 ms). "
                                             "Target ≤ 1.10×: **not met**: 0.04× of the backbone's step over it.")
    fast = {**step, "ccnce": {"ms_per_step": 105.0, "ratio_vs_none": 1.05}}
    assert report.step_target_note(fast).endswith("Target ≤ 1.10×: met.")
    assert "not measured" in report.step_target_note(None)
    measured = {**step, "ccnce": {**step["ccnce"], "ratio_ci95": [1.12, 1.16], "repetitions": 30}}
    assert report.step_target_note(measured) == (
        "A CC-NCE step costs **1.14×** the backbone's (114 vs 100 ms; 95 % CI 1.12–1.16× over 30 paired steps). "
        "Target ≤ 1.10×: **not met**: 0.04× of the backbone's step over it.")
    spans = {**step, "ccnce": {**step["ccnce"], "ratio_ci95": [1.08, 1.16], "repetitions": 30}}
    assert report.step_target_note(spans).endswith("Target ≤ 1.10×: undecided (the interval contains it).")


def test_step_target_note_names_the_cheaper_settings_measured_beside_the_default():
    step = {"none": {"ms_per_step": 100.0, "ratio_vs_none": 1.0},
            "ccnce": {"ms_per_step": 114.0, "ratio_vs_none": 1.14, "ratio_ci95": [1.12, 1.16], "repetitions": 30},
            "ccnce[bank_encoding=memory]": {"ms_per_step": 109.0, "ratio_vs_none": 1.09, "ratio_ci95": [1.07, 1.11]},
            "ccnce_parts": {"extra step": 14.0, "repetitions": 30}}
    note = report.step_target_note(step)
    assert "Cheaper settings, measured beside it: `ccnce[bank_encoding=memory]` 1.09× (CI 1.07–1.11)." in note
    assert 'the section "A cheaper CC-NCE?" says whether one trains as well as the default.' in note
    assert "not met" in note


def test_step_parts_table_gives_each_part_in_ms_and_as_a_share_of_the_backbone_step():
    parts = {"encode the batch for the bank": 4.0, "Algorithms 1-2": 2.5, "gather candidate keys": 1.0,
             "Eq. 7: candidates, scores, InfoNCE": 2.0, "rest of the term": 0.5, "backward + update": 3.0,
             "extra step": 13.0, "repetitions": 30}
    t = report.step_parts_table({"none": {"ms_per_step": 80.0}, "ccnce_parts": parts})
    assert list(t.index) == ["encode the batch for the bank", "Algorithms 1-2", "gather candidate keys",
                             "Eq. 7: candidates, scores, InfoNCE", "rest of the term", "backward + update", "extra step"]
    assert t.loc["encode the batch for the bank", "% of the backbone's step"] == 5.0
    assert t.loc["extra step", "ms"] == 13.0
    with pytest.raises(report.MissingResults, match="ccnce bench step"):
        report.step_parts_table(BENCH["step"])


def test_ccnce_parts_times_each_method_once_per_step_and_restores_the_instance():
    from types import SimpleNamespace

    from ccnce.bench.step import PARTS, ccnce_parts

    class Term:
        """Stands in for CCNCELoss: each method spends a known time (the fake clock below)."""

        def __init__(self) -> None:
            self.clustering = SimpleNamespace(observe=lambda: clock.tick(2.0), cluster=lambda: clock.tick(1.0))

        def encode_for_bank(self): clock.tick(4.0)
        def _keys(self): clock.tick(0.5)
        def _loss(self): self._keys(); clock.tick(2.0)
        def term(self): self.clustering.observe(); self.encode_for_bank(); self.clustering.cluster(); self._loss(); clock.tick(0.25)

    class Clock:
        now = 0.0

        def tick(self, ms: float) -> None:
            self.now += ms / 1000

    clock, term = Clock(), Term()

    def step(name: str, i: int) -> float:
        start = clock.now
        clock.tick(100.0)
        if name == "ccnce":
            term.term()
            clock.tick(3.0)  # its backward
        return (clock.now - start) * 1000

    import ccnce.bench.step as bench_step
    real = bench_step.time.perf_counter
    bench_step.time.perf_counter = lambda: clock.now
    try:
        parts = ccnce_parts(term, step, reps=5)
    finally:
        bench_step.time.perf_counter = real
    expected = dict(zip(PARTS, (4.0, 3.0, 0.5, 2.0, 0.25, 3.0)))
    assert {k: round(parts[k], 6) for k in PARTS} == expected
    assert parts["extra step"] == pytest.approx(12.75) and parts["repetitions"] == 5
    assert "term" not in vars(term) and not hasattr(vars(term.clustering)["observe"], "__wrapped__")
    assert vars(term.clustering)["observe"].__name__ == "<lambda>"  # the wrappers are gone, the originals back


def _cost_run(run, seed: int, dev: dict[str, float], **config) -> None:
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"best_epoch": 1, "l1": 0.5, "seed": seed}))
    (run / "config.json").write_text(json.dumps({"speaker": "maher", "seed": seed, "variant": "ccnce",
                                                 "bank_encoding": "momentum", **config}))
    rows = [{"epoch": 0, **{k: 9.0 for k in dev}}, {"epoch": 1, **dev}, {"epoch": 2, **{k: -9.0 for k in dev}}]
    for epoch, row in enumerate(rows):
        row.update(rec=1.0 - 0.1 * epoch, contrastive=0.0 if epoch == 0 or config.get("variant") == "none" else 5.0)
    pd.DataFrame(rows).to_csv(run / "history.csv", index=False)


def test_cheaper_ccnce_table_compares_dev_scores_at_the_kept_epoch_pair_by_pair(tmp_path):
    for seed in range(4):
        base = {"dev_l1": 0.50 + 0.01 * seed, "dev_gesture_acc": 0.40, "dev_fgd": 100.0 + seed}
        _cost_run(tmp_path / f"synthetic/maher/ccnce/seed{seed}", seed, base)
        cheap = {"dev_l1": base["dev_l1"] + 0.02, "dev_gesture_acc": 0.40 + (0.01 if seed % 2 else -0.01),
                 "dev_fgd": base["dev_fgd"] - 5.0}
        _cost_run(tmp_path / f"studies/cost/cheap/synthetic/maher/ccnce/seed{seed}", seed, cheap,
                  bank_encoding="memory")
    runs = report.collect_runs(tmp_path)
    t = report.cheaper_ccnce_table(runs, tmp_path).reset_index().set_index("dev metric")
    assert set(t["changes"]) == {"bank_encoding=memory"} and set(t["pairs"]) == {4}
    assert t.loc["l1", "reading"] == "worse" and t.loc["l1", "setting − default [95 % CI]"].startswith("+0.02 [")
    assert t.loc["fgd", "reading"] == "better" and t.loc["gesture_acc", "reading"] == "no difference found"
    assert t.loc["l1", "default"] == "0.515"  # the kept epoch's dev score, not the last or the first
    with pytest.raises(report.MissingResults, match="make study-cost"):
        report.cheaper_ccnce_table(runs, tmp_path / "elsewhere")
    step = {"ccnce[bank_encoding=memory]": {"ratio_vs_none": 1.07}}
    assert report.cheaper_ccnce_reading(report.cheaper_ccnce_table(runs, tmp_path), step) == (
        "**cheap** (`bank_encoding=memory`; its step costs 1.07× the backbone's) over 4 (speaker, seed) pairs: "
        "worse than the default on dev l1; it buys its speed with quality, so the default stays.")


def test_cheaper_ccnce_curves_draw_backbone_default_and_each_setting_on_the_same_pairs(tmp_path):
    for seed in range(2):
        dev = {"dev_l1": 0.5, "dev_gesture_acc": 0.4, "dev_fgd": 100.0}
        _cost_run(tmp_path / f"synthetic/maher/ccnce/seed{seed}", seed, dev)
        _cost_run(tmp_path / f"synthetic/maher/none/seed{seed}", seed, dev, variant="none")
        _cost_run(tmp_path / f"synthetic/bee/none/seed{seed}", seed, dev, variant="none")  # not a study pair
        _cost_run(tmp_path / f"studies/cost/cheap/synthetic/maher/ccnce/seed{seed}", seed, dev, bank_encoding="memory")
    rec, dev_l1, eq7 = report.cheaper_ccnce_curves(report.collect_runs(tmp_path), tmp_path).axes
    assert [line.get_label() for line in rec.get_lines()] == [
        "backbone alone (2 runs)", "CC-NCE (default) (2 runs)", "cheap (2 runs)"]
    assert len(eq7.get_lines()) == 2 and list(eq7.get_lines()[0].get_xdata()) == [1, 2]  # the term's epochs only
    with pytest.raises(report.MissingResults, match="make study-cost"):
        report.cheaper_ccnce_curves(report.collect_runs(tmp_path), tmp_path / "elsewhere")


def test_cheaper_ccnce_reading_names_a_candidate_when_nothing_is_worse():
    rows = [("s", "bank_sample_negatives=2", m, 10, "+0 [-1, +1]", "1", r)
            for m, r in (("l1", "no difference found"), ("gesture_acc", "better"), ("fgd", "no difference found"))]
    table = pd.DataFrame(rows, columns=["setting", "changes", "dev metric", "pairs", "d", "default", "reading"])
    table = table.set_index(["setting", "changes", "dev metric"])
    reading = report.cheaper_ccnce_reading(table)
    assert reading.startswith("**s** (`bank_sample_negatives=2`) over 10 (speaker, seed) pairs: better than the "
                              "default on dev gesture_acc, no worse on the rest; a candidate default")
    table["reading"] = "no difference found"
    assert "no dev difference from the default found" in report.cheaper_ccnce_reading(table)


def test_paired_ratio_interval_brackets_the_ratio_of_medians():
    from ccnce.bench.step import paired_ratio_interval

    baseline = [100.0 + i % 3 for i in range(30)]
    low, high = paired_ratio_interval([1.2 * b for b in baseline], baseline)
    assert low == pytest.approx(1.2) and high == pytest.approx(1.2)  # every pair has the same ratio
    noisy = [b * (1.1 + 0.02 * ((i * 7) % 5 - 2)) for i, b in enumerate(baseline)]
    low, high = paired_ratio_interval(noisy, baseline)
    assert 1.06 <= low <= 1.1 <= high <= 1.14


def test_bench_provenance_note_names_device_and_commit():
    note = report.bench_provenance_note(BENCH)
    assert "CPU x86_64, 2 threads" in note and "`0123456789 with uncommitted changes`" in note
    assert "written 2026-11-28" in note and "not recorded" in report.bench_provenance_note({})
    started = {**BENCH, "provenance": {**BENCH["provenance"], "started": "2026-12-02T10:00"}}
    assert "started 2026-12-02T10:00" in report.bench_provenance_note(started)  # make bench records its start


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

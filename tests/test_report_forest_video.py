"""Forest plots (t intervals, Holm) and the video of a test window, on the fake results tree."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

from ccnce import report
from ccnce.report import forest, video
from results_fixture import make_results_tree


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    make_results_tree(root, missing=(("colbert", "patchnce", 0), ("bee", "moco", 2)))
    return report.collect_runs(root)


def test_t_interval_is_mean_plus_minus_t_times_standard_error():
    d = np.array([0.1, -0.2, 0.4, 0.3, 0.0])
    low, high = forest.t_interval(d)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert (low, high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert np.isnan(forest.t_interval([1.0])[0])


def test_holm_matches_the_step_down_rule_and_skips_nan():
    # sorted 0.01, 0.02, 0.03, 0.5 → 4·0.01, 3·0.02, max(0.06, 2·0.03), max(0.06, 0.5)
    adjusted = forest.holm([0.03, np.nan, 0.01, 0.5, 0.02])
    assert adjusted[[2, 4, 0, 3]] == pytest.approx([0.04, 0.06, 0.06, 0.5])
    assert np.isnan(adjusted[1])
    assert forest.paired_t([0.0, 0.0, 0.0]) == 1.0 and forest.paired_t([1.0, 1.0]) == 0.0


def test_forest_table_pairs_shared_seeds_and_adjusts_across_the_family(runs):
    table = forest.forest_table(runs, "l1")
    assert len(table) == 6 * 3  # five speakers and the Mean, against three variants
    row = table[(table.speaker == "bee") & (table.comparison == "CC-NCE − MoCo")].iloc[0]
    assert row.n == 2  # bee's MoCo seed 2 is missing
    colbert = table[(table.speaker == "colbert") & (table.comparison == "CC-NCE − PatchNCE")].iloc[0]
    assert colbert.n == 2
    assert (table.p_holm >= table.p - 1e-12).all()
    assert (table.ci_low <= table.mean_diff).all() and (table.mean_diff <= table.ci_high).all()


def test_forest_figure_has_one_panel_per_comparison(runs):
    fig = forest.forest_figure(runs, "l1")
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["CC-NCE − none (backbone)", "CC-NCE − MoCo", "CC-NCE − PatchNCE"]
    assert "Holm" in fig._supxlabel.get_text()


def _streams(path) -> str:
    import imageio_ffmpeg

    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr


def test_encode_webm_carries_the_speech(tmp_path):
    frames = [np.full((60, 80, 3), 16 * k, np.uint8) for k in range(15)]
    sr = 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * sr) / sr).astype(np.float32)
    out = video.encode_webm(frames, tmp_path / "v.webm", (tone, sr))
    info = _streams(out)
    assert "Video: vp8" in info and "Audio: opus" in info and "Duration: 00:00:01.0" in info


def test_window_video_without_synthetic_data_is_silent_and_says_why(runs, tmp_path):
    out, note = video.window_video(runs, "synthetic", root=tmp_path / "none", out=tmp_path / "w.webm")
    info = _streams(out)
    assert "Video: vp8" in info and "Audio" not in info
    assert note.startswith("silent") and 0 < out.stat().st_size <= video.MAX_BYTES

"""The calibration probes (true motion shrunk, delayed, blended) and the Analysis page's table of them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ccnce.probes import blend, delay, probe_speaker, shrink, smooth
from ccnce.report.probes import first_crossing, load_probes, probe_summary, probe_table
from ccnce.report.runs import MEAN


def windows(n: int = 4, frames: int = 6, dim: int = 2) -> np.ndarray:
    return np.arange(n * frames * dim, dtype=float).reshape(n, frames, dim)


def test_shrink_pulls_towards_the_mean_pose():
    x = windows()
    assert np.array_equal(shrink(x, 1.0), x)
    assert np.array_equal(shrink(x, 0.0), np.zeros_like(x))
    assert np.allclose(shrink(x, 0.5), x / 2)


def test_delay_holds_the_first_frame_and_shifts_the_rest():
    x = windows(n=1, frames=5, dim=1)[..., 0]  # frames 0..4
    assert delay(x, 2).tolist() == [[0, 0, 0, 1, 2]]
    assert delay(x, 0).tolist() == x.tolist()
    assert delay(x, 99).tolist() == [[0, 0, 0, 0, 0]]  # longer than the window: the first frame throughout
    with pytest.raises(ValueError, match="delay"):
        delay(x, -1)


def test_smooth_is_a_centred_moving_average():
    x = np.array([[0.0, 0.0, 3.0, 0.0, 0.0]])[..., None]
    assert smooth(x, 1)[0, :, 0].tolist() == [0, 0, 3, 0, 0]
    assert np.allclose(smooth(x, 3)[0, :, 0], [0, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="smooth"):
        smooth(x, 0)


def test_blend_averages_each_window_with_distinct_others():
    x = np.stack([np.full((3, 2), float(v)) for v in (0, 10, 20, 30)])
    assert np.array_equal(blend(x, 1), x)
    out = blend(x, 4)  # every window with all three others: the grand mean
    assert np.allclose(out, 15.0)
    two = blend(x, 2, seed=3)
    for i in range(4):
        partner = 2 * two[i, 0, 0] - x[i, 0, 0]
        assert partner in {0, 10, 20, 30} - {x[i, 0, 0]}
    with pytest.raises(ValueError, match="blend"):
        blend(x, 5)


def test_first_crossing_interpolates_and_says_never():
    amounts, values = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, 0.1])
    assert first_crossing(amounts, values, 0.75) == pytest.approx(0.5)
    assert first_crossing(amounts, values, 0.3) == pytest.approx(1.5)
    assert math.isnan(first_crossing(amounts, values, 0.05))


def _probe_file(root, speaker: str, acc: dict, fid: dict) -> None:
    """Curves of three points per kind; W1 velocity rises 0, 10, 20 with the smoothing (alone, or after a
    blend of k windows, whose FID is 10 k more)."""
    amounts = {"shrink": (1.0, 0.5, 0.0), "delay": (0, 8, 16), "smooth": (1, 5, 9), "blend": (1, 2, 4)}
    probes = [{"kind": kind, "amount": a, "gesture_acc": acc[kind][i], "fid": fid[kind][i], "l1": 0.0, "fgd": 0.0,
               "expressiveness": a if kind == "shrink" else 1.0, "w1_vel": 10.0 * i if kind == "smooth" else 0.0}
              for kind, values in amounts.items() for i, a in enumerate(values)]
    probes += [{"kind": "blend_smooth", "k": k, "amount": w, "gesture_acc": 0.3, "fid": 10.0 * k + fid["smooth"][i],
                "l1": 0.0, "fgd": 0.0, "expressiveness": 1.0, "w1_vel": 10.0 * i}
               for k in (2, 4) for i, w in enumerate(amounts["smooth"])]
    (root / f"{speaker}.json").write_text(json.dumps({"speaker": speaker, "data_source": "synthetic",
                                                      "probes": probes}))


def test_probe_table_places_the_backbone_on_the_curves(tmp_path):
    root = tmp_path / "studies" / "probes"
    root.mkdir(parents=True)
    acc = {"shrink": (0.9, 0.9, 0.1), "delay": (0.9, 0.8, 0.7), "smooth": (0.9, 0.9, 0.8), "blend": (0.9, 0.5, 0.3)}
    fid = {"shrink": (0.0, 10.0, 90.0), "delay": (0.0, 0.1, 0.2), "smooth": (0.0, 4.0, 6.0), "blend": (0.0, 8.0, 20.0)}
    _probe_file(root, "maher", acc, fid)
    (root / "partial.json").write_text("")  # a study in progress is skipped
    runs = pd.DataFrame([{"data_source": "synthetic", "variant": "none", "speaker": "maher", "seed": s,
                          "gesture_acc": g, "fid": 50.0, "expressiveness": 0.5, "l1": 0.5, "w1_vel": 15.0}
                         for s, g in ((0, 0.35), (1, 0.45))])
    table = probe_table(runs, load_probes(tmp_path))
    row = table.loc["maher"]
    assert row["backbone gesture accuracy"] == pytest.approx(0.4)
    assert row["blend k with its gesture accuracy"] == pytest.approx(3.0)  # halfway from k=2 (0.5) to k=4 (0.3)
    assert row["FID of that blend"] == pytest.approx(14.0)
    assert math.isnan(row["delay d with its gesture accuracy"])  # 16 frames still reach 0.7
    assert row["shrunk to its expressiveness: FID"] == pytest.approx(10.0)
    assert row["shrunk to its expressiveness: gesture accuracy"] == pytest.approx(0.9)
    assert row["smoothing w with its W1 velocity"] == pytest.approx(7.0)  # W1 velocity 15: halfway from w 5 to 9
    assert row["FID of that smoothing"] == pytest.approx(5.0)
    assert row["that blend, smoothed to its W1 velocity: FID"] == pytest.approx(35.0)  # 10 k + 5 at k = 3
    assert table.loc[MEAN, "backbone FID"] == pytest.approx(50.0)
    text = probe_summary(runs, load_probes(tmp_path))
    assert "k = 3.0 windows" in text and "even a delay of 16 frames" in text
    assert "together (the blend, smoothed to the backbone's W1 velocity) for 70%" in text


def test_probe_speaker_scores_true_motion_as_perfect(synth_root):
    result = probe_speaker("lec_cosmic", data_root=str(synth_root), profile="smoke")
    rows = {(r["kind"], r["amount"]): r for r in result["probes"]}
    assert rows[("shrink", 1.0)]["l1"] == 0.0 and rows[("delay", 0)]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert rows[("shrink", 0.0)]["expressiveness"] == 0.0
    assert all(k <= result["test_windows"] for kind, k in rows if kind == "blend")  # k windows need k
    assert result["data_source"] == "synthetic" and result["provenance"]["code_fingerprint"]


def test_without_a_probe_study_the_page_says_what_is_missing(tmp_path):
    from ccnce.report.runs import MissingResults

    probes = load_probes(tmp_path)
    assert probes.empty
    with pytest.raises(MissingResults, match="make regime"):
        probe_table(pd.DataFrame(columns=["data_source", "variant"]), probes)

"""The full table's device-hours from step times (ccnce.report.performance.table_cost)."""

import math

from ccnce.report.performance import TRAIN_INTERVALS, table_cost, train_windows


def test_train_windows_of_a_mean_interval():
    # 10.7 s at 15 fps = 160 frames: windows start at 0, 5, …, 95 → 20 per interval
    assert train_windows(1) == 20 and train_windows(547) == 547 * 20
    assert train_windows(3, seconds=4.0) == 0  # 60 frames hold no 64-frame window


def test_table_cost_adds_up_runs_of_every_speaker_and_variant():
    df = table_cost({"none": 100.0, "ccnce": 200.0}, "CPU (example)", epochs=10, batch_size=20, seeds=3)
    bee = df.loc[("bee", "none")]
    assert bee["steps per run"] == 547 * 20 // 20 * 10
    assert math.isclose(bee["hours"], 547 * 10 * 100.0 / 3.6e6 * 3)
    assert math.isclose(df.loc[("bee", "ccnce"), "hours"], 2 * bee["hours"])
    total = df.loc[("all", "all")]
    assert total["runs"] == len(TRAIN_INTERVALS) * 2 * 3
    assert math.isclose(total["hours"], df.drop(index=("all", "all"))["hours"].sum())
    assert set(df["measured on"]) == {"CPU (example)"}

"""Figures: skeleton drawing and the per-class gesture strips of a synthetic root."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ccnce.data.skeleton import PARENTS  # noqa: E402
from ccnce.errors import DataError  # noqa: E402
from ccnce.plots import draw_skeleton, gesture_strips  # noqa: E402


def test_draw_skeleton_draws_every_bone_but_those_of_dropped_joints():
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 100, (52, 2))
    conf = np.ones(52)
    conf[15] = 0  # LIndex1: its bone to the hand root and to LIndex2 disappear
    fig, ax = plt.subplots()
    draw_skeleton(ax, joints, confidence=conf)
    bones = sum(p >= 0 for p in PARENTS)
    assert len(ax.lines) == bones - 2 + 1  # + the nose marker
    assert ax.yaxis_inverted()
    plt.close(fig)


def test_draw_skeleton_rejects_a_wrong_shape():
    fig, ax = plt.subplots()
    with pytest.raises(DataError, match="52, 2"):
        draw_skeleton(ax, np.zeros((48, 2)))
    plt.close(fig)


def test_gesture_strips_has_one_row_per_class(tmp_path):
    from ccnce.data.synth import generate
    from ccnce.data.synth.lexicon import N_GESTURES

    root = tmp_path / "s"
    generate(root, speakers=["lec_cosmic"], size="small", seed=2, progress=False)
    fig = gesture_strips(root, "lec_cosmic", frames=4)
    assert len(fig.axes) == N_GESTURES
    assert sum(len(ax.lines) > 0 for ax in fig.axes) >= N_GESTURES - 3  # small data may lack a class or two
    plt.close(fig)
    with pytest.raises(DataError, match="processed/bee"):
        gesture_strips(root, "bee")


def test_plausible_flags_keypoints_dropped_to_the_image_origin():
    import numpy as np

    from ccnce.data.skeleton import PARENTS
    from ccnce.plots import plausible

    rng = np.random.default_rng(0)
    joints = np.zeros((52, 2))
    joints[1], joints[4] = (-170.0, 0.0), (170.0, 0.0)  # shoulders
    for j, p in enumerate(PARENTS):
        if p >= 0 and j not in (1, 4):
            joints[j] = joints[p] + rng.normal(scale=30, size=2)
    joints[5] = (-400.0, -300.0)  # the left elbow lost: OpenPose's (0, 0) relative to a neck at (400, 300)
    ok = plausible(joints)
    assert ok[5] == 0 and ok[6] == 0  # the elbow and the wrist hanging from it
    assert ok.sum() == 50

"""Separability of true gestures by the paper's μ+σ similarity threshold."""

from __future__ import annotations

import numpy as np
import pytest

from ccnce.data.separability import (
    _auc,
    dominant_class,
    format_separability,
    measure_separability,
    threshold_scores,
)


def test_dominant_class_needs_the_share():
    g = np.array([[1, 1, 1, 0], [1, 1, 0, 2], [2, 0, 1, 3], [-1, -1, -1, 2]])
    np.testing.assert_array_equal(dominant_class(g, 0.5), [1, 1, -1, -1])
    np.testing.assert_array_equal(dominant_class(g, 0.75), [1, -1, -1, -1])


def test_threshold_scores_on_two_clean_blocks():
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    sim = np.where(labels[:, None] == labels[None, :], 10.0, 0.0)
    r = threshold_scores(sim, labels)
    assert r["precision"] == 1.0 and r["recall"] == 1.0 and r["auc"] == 1.0
    assert r["within_mean"] == 10.0 and r["across_mean"] == 0.0 and r["pairs"] == 15 and r["same_pairs"] == 6


def test_auc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 300).astype(float)
    positive = rng.random(300) < 0.3
    assert _auc(scores, positive) == pytest.approx(roc_auc_score(positive, scores))


def test_within_class_similarity_beats_across_class_on_synthetic_data(tmp_path):
    from ccnce.data.synth import generate

    root = tmp_path / "s"
    generate(root, speakers=["oliver"], size="small", seed=0, progress=False)
    result = measure_separability(root)
    r = result["speakers"]["oliver"]
    assert r["labelled"] > 0.5 * r["windows"] > 30
    for kind in ("dot", "cosine"):
        m = r[kind]
        assert m["within_mean"] > m["across_mean"], kind
        assert m["precision"] > m["base_rate"] and m["auc"] > 0.6, kind
    text = format_separability(result)
    assert "oliver" in text and "precision" not in text.splitlines()[0]

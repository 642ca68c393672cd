"""The gesture judge (classifier of true motion) and the trivial baselines that calibrate the metrics."""

import numpy as np
import pytest
import torch

from ccnce import gesture_accuracy as GA
from ccnce.baselines import baseline_poses, nearest


@pytest.fixture(scope="module")
def small(synth_root, tmp_path_factory):
    from ccnce.config import Config
    from ccnce.data.dataset import load_full_intervals, load_speaker

    cfg = Config(speaker="lec_cosmic")
    cache = tmp_path_factory.mktemp("gesture-cache")
    data = load_speaker(cfg, synth_root, progress=False, cache_dir=cache)
    return cfg, data, load_full_intervals(cfg, synth_root, "test", progress=False, data=data, cache_dir=cache)


def _windows(ws):
    b = ws.batch(np.arange(len(ws)))
    return b["pose"].numpy(), b["gesture"].numpy()


def test_accuracy_and_majority_rate_ignore_unlabelled_frames():
    labels = np.array([[0, 0, 1, -1], [2, 0, -1, -1]])
    predicted = np.array([[0, 1, 1, 5], [2, 2, 0, 0]])
    assert GA.frame_accuracy(predicted, labels) == pytest.approx(3 / 5)
    assert GA.majority_rate(labels) == pytest.approx(3 / 5)
    with pytest.raises(GA.M.MetricError):
        GA.frame_accuracy(predicted, np.full_like(labels, -1))


def test_judge_on_true_windows_reaches_its_recorded_accuracy(small):
    _, data, _ = small
    # the small fixture's one test interval is too short to judge a classifier: judge the training windows
    test = data.train
    judge = GA.judge(data, test)
    poses, labels = _windows(test)
    scores = judge.score(poses)
    # the true windows are scored exactly as the judge's own upper bound, with FGD 0 ...
    assert scores["gesture_acc"] == scores["gesture_acc_true"]
    assert scores["fgd"] == pytest.approx(0.0, abs=1e-6)
    # ... and the classifier learned the gestures: far above always guessing the majority class
    assert scores["gesture_acc_true"] > scores["gesture_acc_chance"] + 0.25
    assert scores["gesture_acc_chance"] == pytest.approx(GA.majority_rate(labels))
    # motion that is not the truth scores lower and farther
    still = judge.score(np.zeros_like(poses))
    assert still["gesture_acc"] < scores["gesture_acc_true"] and still["fgd"] > 1.0


def test_judge_is_fitted_once_and_reloaded(small):
    _, data, test = small
    first = GA.judge(data, test)
    stored = sorted(data.cache_dir.glob("gesture_classifier-*.pt"))
    assert len(stored) == 1
    written = stored[0].stat().st_mtime_ns
    again = GA.judge(data, data.dev)  # the dev windows' judge is the same classifier: nothing refitted
    assert sorted(data.cache_dir.glob("gesture_classifier-*.pt")) == stored
    assert stored[0].stat().st_mtime_ns == written
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_classifier_fitted_on_shuffled_labels_is_at_chance(small):
    _, data, test = small
    train_poses, train_labels = _windows(data.train)
    shuffled = np.random.default_rng(0).permutation(train_labels.reshape(-1)).reshape(train_labels.shape)
    model = GA.fit(train_poses, shuffled, int(train_labels.max()) + 1)
    poses, labels = _windows(test)
    accuracy = GA.frame_accuracy(GA.classify(model, poses).predicted, labels)
    assert accuracy <= GA.majority_rate(labels) + 0.05


def test_stored_classifier_of_another_version_is_refitted(small, monkeypatch):
    _, data, test = small
    GA.judge(data, test)
    monkeypatch.setattr(GA, "VERSION", GA.VERSION + 1)
    calls = []
    real_fit = GA.fit
    monkeypatch.setattr(GA, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    GA.judge(data, test)
    assert calls == [1]


# ---------------------------------------------------------------------------------------- baselines
def test_nearest_is_cosine():
    reference = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    query = np.array([[10.0, 1.0], [0.1, 3.0], [-2.0, -0.1]])
    assert nearest(query, reference).tolist() == [0, 1, 2]


def test_baselines_on_known_inputs(small):
    _, data, test = small
    poses, _ = _windows(test)
    assert np.array_equal(baseline_poses("mean_pose", data, test), np.zeros_like(poses))
    train = data.train.batch(np.arange(len(data.train)))["pose"].numpy()
    drawn = baseline_poses("random_window", data, test, seed=3)
    pick = np.random.default_rng(3).integers(len(data.train), size=len(test))
    assert np.array_equal(drawn, train[pick])
    assert not np.array_equal(drawn, baseline_poses("random_window", data, test, seed=4))
    # retrieval returns real training windows
    retrieved = baseline_poses("nn_audio", data, test)
    assert all(any(np.array_equal(r, t) for t in train) for r in retrieved)
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_poses("oracle", data, test)


def test_audio_retrieval_finds_a_window_of_the_same_audio(small):
    from ccnce.baselines import audio_embeddings

    _, data, _ = small
    # a training window queried against the training set is its own nearest neighbour
    emb = audio_embeddings(data.train)
    assert (nearest(emb[:10], emb) == np.arange(10)).all()

"""Gesture accuracy and FGD: does the generated motion perform the gesture the speech calls for?

The paper could only show this in pictures. On synthetic data every frame carries its true gesture class
(``synth/gesture``), so we fit one fixed classifier per speaker on the **true** training pose windows and
apply it to generated test windows (EVALUATION.md, "Beyond the paper"):

- ``gesture_acc``: the share of generated test frames that the classifier assigns the true class of
  that frame (frames without a true class are left out);
- ``gesture_acc_true``: the same classifier on the true test windows: the upper bound a generator could
  reach, and the classifier's own held-out accuracy;
- ``gesture_acc_chance``: the share of the test frames' majority class (always guessing it);
- ``fgd``: the Fréchet distance between Gaussians fitted to the classifier's per-frame features of
  generated vs true test frames: a latent Fréchet Gesture Distance in the spirit of Yoon et al. 2020
  ("Speech gesture generation from the trimodal context of text, audio, and speaker identity", SIGGRAPH
  Asia), who used an autoencoder's window features; ours are the features a gesture classifier learned,
  with a receptive field of :data:`RECEPTIVE_FIELD` frames, so they describe motion, not single poses.

The classifier (:class:`GestureClassifier`) is a small, fixed 1-D convolutional net over z-normalised
pose frames, clipped to ±:data:`CLIP` (a dropped keypoint lies tens of z-units away; unclipped, a few
such frames swing the feature covariance and FGD): three dilated convolutions (dilation 1, 2, 4; kernel 5; :data:`WIDTH` channels) and a 1×1
convolution to the class logits of every frame. It is trained once per speaker and data cache entry with
a fixed seed, fixed epochs and Adam, on every third training window (hop 15) against per-frame labels, and stored
next to the window cache (``gesture_classifier.pt``), so that every run and baseline of a speaker is
scored by the same classifier.
"""

from __future__ import annotations

import fcntl
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ccnce import metrics as M
from ccnce.data.skeleton import POSE_DIM

log = logging.getLogger(__name__)

WIDTH = 64
KERNEL = 5
DILATIONS = (1, 2, 4)
RECEPTIVE_FIELD = 1 + sum((KERNEL - 1) * d for d in DILATIONS)  # 29 frames, about 2 s at 15 fps
STEPS = 150  # Adam steps of BATCH windows (about 14 epochs of the default data); fixed, whatever the size
BATCH = 64
LR = 2e-3
FIT_SEED = 0
FIT_STRIDE = 3  # fit on every third training window: hop-5 windows overlap by 92 %, hop 15 loses little
FILE = "gesture_classifier.pt"
CLIP = 8.0  # input clip in z-units: OpenPose's dropped keypoints sit tens of z-units off and would dominate
VERSION = 3  # bump when the architecture or the fit changes: stored classifiers of another version are refit


class GestureClassifier(nn.Module):
    """Per-frame gesture classes of pose windows: (B, T, 96) → logits (B, T, G), features (B, T, WIDTH)."""

    def __init__(self, n_classes: int, pose_dim: int = POSE_DIM) -> None:
        super().__init__()
        layers, c_in = [], pose_dim
        for d in DILATIONS:
            layers += [nn.Conv1d(c_in, WIDTH, KERNEL, dilation=d, padding=d * (KERNEL - 1) // 2), nn.LeakyReLU(0.2)]
            c_in = WIDTH
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv1d(WIDTH, n_classes, kernel_size=1)
        self.n_classes = n_classes

    def forward(self, pose: Tensor) -> tuple[Tensor, Tensor]:
        f = self.features(pose.clamp(-CLIP, CLIP).transpose(1, 2))
        return self.head(f).transpose(1, 2), f.transpose(1, 2)


@dataclass
class GestureScores:
    """What the classifier says about a set of windows: per-frame predictions and features."""

    predicted: np.ndarray  # (N, T) class ids
    features: np.ndarray  # (N·T, WIDTH) per-frame features


@torch.no_grad()
def classify(model: GestureClassifier, poses: np.ndarray, batch: int = 256) -> GestureScores:
    """Run ``model`` over z-normalised pose windows ``poses`` (N, T, 96)."""
    model.eval()
    predicted, features = [], []
    for start in range(0, len(poses), batch):
        x = torch.from_numpy(np.ascontiguousarray(poses[start:start + batch], dtype=np.float32))
        logits, f = model(x)
        predicted.append(logits.argmax(dim=-1).numpy())
        features.append(f.reshape(-1, f.shape[-1]).numpy())
    return GestureScores(np.concatenate(predicted), np.concatenate(features).astype(np.float64))


def fit(poses: np.ndarray, labels: np.ndarray, n_classes: int, progress: bool = False) -> GestureClassifier:
    """Train a :class:`GestureClassifier` on pose windows (N, T, 96) and per-frame labels (N, T) (-1: none).

    Deterministic for given inputs: fixed seed, fixed order of batches, :data:`STEPS` steps (epochs of
    shuffled windows, repeated as needed).
    """
    from tqdm.auto import tqdm

    known = labels >= 0
    if not known.any():
        raise M.MetricError("gesture classifier: no frame of the training windows has a true gesture class")
    gen = torch.Generator().manual_seed(FIT_SEED)
    with torch.random.fork_rng():
        torch.manual_seed(FIT_SEED)
        model = GestureClassifier(n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x_all = torch.from_numpy(np.ascontiguousarray(poses, dtype=np.float32))
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    model.train()
    batches: list[Tensor] = []
    for _ in tqdm(range(STEPS), desc="fitting the gesture classifier", unit="step", disable=not progress):
        if not batches:
            batches = list(torch.randperm(len(x_all), generator=gen).split(BATCH))[::-1]
        idx = batches.pop()
        logits, _ = model(x_all[idx])
        loss = loss_fn(logits.reshape(-1, n_classes), y_all[idx].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    return model


def frame_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Share of frames with a true class (``labels >= 0``) whose predicted class equals it."""
    known = np.asarray(labels) >= 0
    if not known.any():
        raise M.MetricError("gesture accuracy: no frame has a true gesture class")
    return float(np.mean(np.asarray(predicted)[known] == np.asarray(labels)[known]))


def majority_rate(labels: np.ndarray) -> float:
    """Share of the most frequent class among frames with a true class (the accuracy of always guessing it)."""
    known = np.asarray(labels)[np.asarray(labels) >= 0]
    if known.size == 0:
        raise M.MetricError("gesture accuracy: no frame has a true gesture class")
    return float(np.bincount(known).max() / known.size)


class GestureJudge:
    """One speaker's fixed classifier and its verdicts on true and generated test windows."""

    def __init__(self, model: GestureClassifier, true_poses: np.ndarray, labels: np.ndarray) -> None:
        self.model = model
        self.labels = labels
        self.true = classify(model, true_poses)

    def score(self, generated: np.ndarray) -> dict[str, float]:
        """``gesture_acc``, ``gesture_acc_true``, ``gesture_acc_chance`` and ``fgd`` of generated windows that
        correspond one to one to the true windows this judge was built with."""
        gen = classify(self.model, generated)
        return {
            "gesture_acc": frame_accuracy(gen.predicted, self.labels),
            "gesture_acc_true": frame_accuracy(self.true.predicted, self.labels),
            "gesture_acc_chance": majority_rate(self.labels),
            "fgd": M.fid(gen.features, self.true.features),
        }


def load_or_fit(cache_dir: Path, train_poses: np.ndarray, train_labels: np.ndarray, n_classes: int,
                progress: bool = False) -> GestureClassifier:
    """The classifier stored in ``cache_dir`` (the speaker's window-cache entry), fitted there once.

    The file is named after the number of windows it is fitted on, so configs that subsample the
    training windows differently (``max_train_windows``) never share or overwrite each other's
    classifier. A file lock makes concurrent runs of one speaker fit it once and share it.
    """
    path = Path(cache_dir) / FILE.replace(".pt", f"-{len(train_poses)}.pt")
    with open(Path(cache_dir) / f".{FILE}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if path.exists():
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("version") == VERSION and state.get("n_classes") == n_classes:
                model = GestureClassifier(n_classes)
                model.load_state_dict(state["weights"])
                return model.eval()
            log.info("%s: stored gesture classifier is outdated; refitting", path)
        log.info("fitting the gesture classifier of %s (once per data cache entry)", cache_dir)
        model = fit(train_poses, train_labels, n_classes, progress=progress)
        tmp = path.with_suffix(".tmp")
        torch.save({"version": VERSION, "n_classes": n_classes, "weights": model.state_dict()}, tmp)
        tmp.replace(path)
        return model


def judge(data, test_full, progress: bool = False) -> GestureJudge | None:
    """The gesture judge of a speaker (:class:`~ccnce.data.dataset.SpeakerData`) for the windows ``test_full``
    (its full test windows, or its dev windows); None when the data has no true gesture classes (e.g. real PATS)."""
    train = data.train.batch(np.arange(0, len(data.train), FIT_STRIDE))
    test = test_full.batch(np.arange(len(test_full)))
    train_labels, test_labels = train["gesture"].numpy(), test["gesture"].numpy()
    if not (train_labels >= 0).any() or not (test_labels >= 0).any():
        return None
    # the classes of the training windows alone: the same classifier for the dev and the test windows (a
    # class that only the evaluated windows have is one it cannot name, and counts as missed)
    n_classes = int(train_labels.max()) + 1
    model = load_or_fit(data.cache_dir, train["pose"].numpy(), train_labels, n_classes, progress=progress)
    return GestureJudge(model, test["pose"].numpy(), test_labels)

"""Calibration probes: the true test motion, spoiled in one known way, scored by the runs' metric code.

The backbone misses two of its targets (FID, gesture accuracy). Is that because it moves too little, or
because it moves wrongly? Each probe answers for one kind of error, on the true test windows ``x`` of a
speaker (z-normalised, so the training mean pose is the origin):

- ``shrink`` by a factor ``a``: ``a · x``, motion right in shape and timing but smaller, as a generator
  that regresses to the mean produces (its expressiveness is ``a``);
- ``delay`` by ``d`` frames: ``x[t − d]`` (the first frame held), motion right in shape and size but late;
- ``smooth`` over ``w`` frames: a centred moving average, motion without the keypoint detector's frame-to-frame
  jitter, which real poses carry and no generator should reproduce;
- ``blend`` of ``k`` windows: the mean of the true window and ``k − 1`` other test windows drawn at random
  (fixed seed), a generator that hedges between gestures it cannot tell apart;
- ``blend_smooth``: a blend of ``k`` (:data:`BLEND_SMOOTH_K`) then smoothed over ``w`` frames, both errors at once.

``ccnce study probes --speaker S`` prints every probe's metrics (:func:`ccnce.evaluate.motion_metrics`,
the function that scores runs and baselines); the Analysis page sets the backbone beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SHRINK: tuple[float, ...] = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)
DELAY: tuple[int, ...] = (0, 1, 2, 4, 8, 16)
SMOOTH: tuple[int, ...] = (1, 3, 5, 9, 15, 31)
BLEND: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
BLEND_SMOOTH_K: tuple[int, ...] = (2, 3, 4)
METRICS: tuple[str, ...] = ("l1", "fid", "fgd", "gesture_acc", "expressiveness", "w1_vel")


def shrink(x: np.ndarray, a: float) -> np.ndarray:
    """``a · x``: windows ``x`` of z-normalised poses, pulled towards the mean pose (the origin)."""
    return a * x


def delay(x: np.ndarray, d: int) -> np.ndarray:
    """``x[t − d]`` along the frame axis (axis 1) of windows ``x``, the first frame held for ``t < d``."""
    if d < 0:
        raise ValueError(f"delay must be >= 0 frames, got {d}")
    if d == 0:
        return x.copy()
    d = min(d, x.shape[1] - 1)
    return np.concatenate([np.repeat(x[:, :1], d, axis=1), x[:, :-d]], axis=1)


def smooth(x: np.ndarray, w: int) -> np.ndarray:
    """The centred moving average of ``w`` frames along axis 1 of windows ``x`` (edges: the nearest frame)."""
    from scipy.ndimage import uniform_filter1d

    if w < 1:
        raise ValueError(f"smooth needs a window of >= 1 frames, got {w}")
    return uniform_filter1d(x, size=w, axis=1, mode="nearest")


def blend(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The mean of each window of ``x`` and ``k − 1`` other windows of ``x`` drawn without replacement."""
    if not 1 <= k <= len(x):
        raise ValueError(f"blend needs 1 <= k <= {len(x)} windows, got {k}")
    rng = np.random.default_rng(seed)
    out = x.copy()
    for i in range(len(x)):
        others = rng.choice(np.delete(np.arange(len(x)), i), size=k - 1, replace=False)
        out[i] = (x[i] + x[others].sum(axis=0)) / k
    return out


def probe_speaker(speaker: str, data_root: str | None = None, profile: str = "cpu",
                  progress: bool = False) -> dict[str, Any]:
    """Every probe of :data:`SHRINK`, :data:`DELAY`, :data:`SMOOTH` and :data:`BLEND` on ``speaker``'s true
    test windows: ``{"speaker", "data_source", "test_windows", "probes": [{"kind", "amount", <metrics>}], "provenance"}``."""
    from ccnce import provenance
    from ccnce.config import Config
    from ccnce.data.dataset import load_full_intervals, load_speaker
    from ccnce.data.source import resolve_data
    from ccnce.evaluate import motion_metrics

    cfg = Config.from_profile(profile, speaker=speaker, data_root=data_root, variant="none")
    source = resolve_data(cfg.data_root, progress=progress)
    data = load_speaker(cfg, source.root, progress=progress)
    test = load_full_intervals(cfg, source.root, "test", progress=progress, data=data)
    true = test.batch(np.arange(len(test)))["pose"].numpy()
    blended = {k: blend(true, k) for k in BLEND_SMOOTH_K if k <= len(true)}
    jobs = ([("shrink", a, None, lambda a: shrink(true, a)) for a in SHRINK]
            + [("delay", d, None, lambda d: delay(true, d)) for d in DELAY]
            + [("smooth", w, None, lambda w: smooth(true, w)) for w in SMOOTH]
            + [("blend", k, None, lambda k: blend(true, k)) for k in BLEND if k <= len(true)]
            + [("blend_smooth", w, k, lambda w, k=k: smooth(blended[k], w)) for k in blended for w in SMOOTH])
    rows = []
    for kind, amount, k, spoil in _progress(jobs, progress, speaker):
        scores = motion_metrics(spoil(amount), true, data, test)
        rows.append({"kind": kind, "amount": amount, **({"k": k} if k is not None else {}),
                     **{m: float(scores.get(m, np.nan)) for m in METRICS}})
    return {"speaker": speaker, "data_source": source.name, "profile": profile, "test_windows": int(len(true)),
            "probes": rows,
            "provenance": {**provenance.collect("cpu", source.name, source.fingerprint), "written": provenance.now()}}


def _progress(jobs: list, progress: bool, speaker: str):
    if not progress:
        return jobs
    from tqdm.auto import tqdm

    return tqdm(jobs, desc=f"probes {speaker}", unit="probe")


def format_probes(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`probe_speaker`'s result."""
    lines = [f"{result['speaker']} ({result['data_source']}, {result['test_windows']} true test windows)",
             f"{'probe':<24}" + "".join(f"{m:>16}" for m in METRICS)]
    for row in result["probes"]:
        label = f"{row['kind']} {row['amount']:g}" + (f" (k {row['k']})" if "k" in row else "")
        lines.append(f"{label:<24}" + "".join(f"{row[m]:>16.3f}" for m in METRICS))
    return "\n".join(lines)

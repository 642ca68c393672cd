"""A test window as a video with its speech: generated over true skeletons, one panel per variant, at the
data's 15 fps, with the window's audio, the way gesture researchers judge motion. Encoded by the ffmpeg
binary of the pip package ``imageio-ffmpeg`` as WebM (VP8 + Opus: every Chromium and Firefox plays it).

Where the audio comes from: the synthetic dataset stores features, not waveforms, so the window's speech
is spoken again by eSpeak from the interval's script (:func:`interval_speech`). The script, the voice and
the word timings are deterministic (the stored poses, which follow the word timings, are regenerated
bit for bit); the waveform's fine detail (pitch phase) depends on eSpeak's state in the generating
process, so it is the same speech, not the same samples. Real PATS has no waveform either: its video is
silent and says so.
"""

from __future__ import annotations

import html
import subprocess
import tempfile
import wave as wavfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ccnce.config import Config
from ccnce.data.skeleton import LEFT_ARM, PARENTS, RIGHT_ARM, from_kept
from ccnce.errors import CcnceError
from ccnce.plots import plausible
from ccnce.report.figures import BODY_COLOR, LEFT_COLOR, RIGHT_COLOR, TRUE_COLOR
from ccnce.report.qualitative import _NO_FACE, _qualitative_inputs
from ccnce.report.runs import VARIANT_LABEL, MissingResults, run_label, synthetic_root
from ccnce.results import read_json

FPS = 15
MEDIA_URL = "../_static/media"  # from a page under book/ to the build's _static/
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class WindowSource:
    """Where a test window of a run lies in its dataset: interval, first frame, words and phrase family."""

    speaker: str
    interval_id: str
    start: int
    frames: int
    words: str
    gesture: int  # dominant true class, -1 unknown


def media_dir() -> Path:
    """``<static>/media``: beside the CSV downloads (:func:`ccnce.report.trust.downloads_dir`), in the
    folder the book build copies to ``_static/``."""
    from ccnce.report.trust import downloads_dir

    return downloads_dir().parent / "media"


def locate_window(run: Path, position: int, root: str | Path) -> WindowSource:
    """The ``position``-th window of the run's full test set (:func:`ccnce.data.dataset.load_full_intervals`:
    non-overlapping windows of whole test intervals, intervals in index order), found by re-reading the
    test intervals with the run's data settings (no cache needed)."""
    from ccnce.data.pats import IntervalError, PatsRoot
    from ccnce.data.windows import valid_starts
    from ccnce.evaluate import dominant_class

    cfg = Config.from_dict({k: v for k, v in read_json(Path(run) / "config.json").items() if k != "config_hash"})
    pats = PatsRoot(root)
    seen = 0
    for interval_id in pats.intervals(cfg.speaker, "test"):
        try:
            interval = pats.read(cfg.speaker, interval_id, cfg.pose_key, cfg.audio_key)
        except IntervalError:
            continue
        starts, _ = valid_starts(interval, cfg.window, cfg.window, cfg.audio_key, cfg.audio_alignment)
        if position < seen + len(starts):
            s = int(starts[position - seen])
            gesture = interval.ground_truth.get("gesture")
            cls = int(dominant_class(gesture[None, s:s + cfg.window])[0]) if gesture is not None else -1
            return WindowSource(cfg.speaker, interval_id, s, cfg.window, _words(interval, s, cfg.window), cls)
        seen += len(starts)
    raise MissingResults(f"{run_label(run)}: the test set under {root} has {seen} windows, no window {position}")


def test_window_classes(run: Path, poses: np.ndarray, root: str | Path, tolerance: float = 1e-2) -> np.ndarray:
    """The dominant true gesture class of each of ``poses`` (…, T, 96 pixels, e.g. a run's stored cluster
    members), found by matching them to the run's full test windows re-read from ``root``; -1 where no
    window matches or the data has no classes."""
    from ccnce.data.pats import IntervalError, PatsRoot
    from ccnce.data.windows import valid_starts
    from ccnce.evaluate import dominant_class

    cfg = Config.from_dict({k: v for k, v in read_json(Path(run) / "config.json").items() if k != "config_hash"})
    pats = PatsRoot(root)
    windows, classes = [], []
    for interval_id in pats.intervals(cfg.speaker, "test"):
        try:
            interval = pats.read(cfg.speaker, interval_id, cfg.pose_key, cfg.audio_key)
        except IntervalError:
            continue
        gesture = interval.ground_truth.get("gesture")
        for s in valid_starts(interval, cfg.window, cfg.window, cfg.audio_key, cfg.audio_alignment)[0]:
            windows.append(interval.pose[s:s + cfg.window])
            classes.append(int(dominant_class(gesture[None, s:s + cfg.window])[0]) if gesture is not None else -1)
    poses = np.asarray(poses, dtype=float)
    flat = poses.reshape(-1, *poses.shape[-2:])
    out = np.full(len(flat), -1, dtype=np.int64)
    if windows:
        stack = np.stack(windows)
        for i, p in enumerate(flat):
            err = np.abs(stack - p).max(axis=(1, 2))
            if err.min() <= tolerance * max(1.0, np.abs(p).max()):
                out[i] = classes[int(err.argmin())]
    return out.reshape(poses.shape[:-2])


def _words(interval, start: int, frames: int) -> str:
    """The words spoken in frames [start, start + frames), decoded from ``text/tokens`` (WordPiece ids)."""
    from ccnce.models.pretrained import load_tokenizer

    ids = interval.tokens[start:start + frames]
    first = np.r_[True, ids[1:] != ids[:-1]] & (ids > 0)
    return load_tokenizer().decode([int(i) for i in ids[first]]).strip()


def interval_speech(root: str | Path, speaker: str, interval_id: str) -> tuple[np.ndarray, int]:
    """The speech of one synthetic interval, spoken again: (float32 waveform, sample rate), aligned with
    the interval's frame 0 (the same script, voice, leading silence and word timings as the generator's
    :func:`ccnce.data.synth.interval.make_interval`)."""
    from ccnce.data.synth import plan_speaker, read_marker
    from ccnce.data.synth.script import build_script, flatten
    from ccnce.data.synth.speakers import speaker_style
    from ccnce.data.synth.speech import Synthesizer

    marker = read_marker(root)
    if marker is None:
        raise MissingResults(f"{root} is not a synthetic dataset (no ccnce_synth.json): no speech to replay")
    plan = plan_speaker(speaker, marker["size"], int(marker["seed"]))
    ip = next((p for p in plan.intervals if p.interval_id == interval_id), None)
    if ip is None:
        raise MissingResults(f"no interval {interval_id} in the synthetic plan of {speaker}")
    style = speaker_style(speaker)
    # the first draws of make_interval, in its order: script, words, then the leading silence
    rng = np.random.default_rng(list(ip.seed))
    words, breaks, _ = flatten(build_script(rng, ip.seconds, style.voice.rate), rng)
    utt = Synthesizer().speak(words, style.voice, breaks)
    lead = int(rng.uniform(0.05, 0.4) * utt.sr)
    return np.concatenate([np.zeros(lead, np.float32), np.asarray(utt.wave, np.float32)]), utt.sr


def _write_wav(path: Path, samples: np.ndarray, sr: int) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wavfile.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def _segments(joints: np.ndarray) -> np.ndarray:
    """(52, 2) joints → (n_bones, 2, 2) line segments child–parent; face bones and bones to a dropped
    keypoint (:func:`ccnce.plots.plausible`) collapse to a point at the parent."""
    ok = plausible(joints)
    return np.array([[joints[p], joints[j] if ok[j] and ok[p] else joints[p]]
                     for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]])


def _segment_colors() -> list[str]:
    return [RIGHT_COLOR if j in RIGHT_ARM else LEFT_COLOR if j in LEFT_ARM else BODY_COLOR
            for j, p in enumerate(PARENTS) if p >= 0 and _NO_FACE[j] and _NO_FACE[p]]


def _render(seqs: dict[str, tuple[np.ndarray, np.ndarray]], title: str, subtitle: str) -> list[np.ndarray]:
    """RGB frames (H, W, 3) uint8: one panel per variant, generated (colour) over true (grey)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.4 * len(seqs), 2.8), dpi=100)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(seqs), squeeze=False)[0]
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.08, top=0.76, wspace=0.02)
    both = np.concatenate([np.concatenate([p, t]) for p, t in seqs.values()])
    ok = plausible(both) > 0
    lo, hi = both[ok].min(axis=0), both[ok].max(axis=0)
    pad = 0.04 * (hi - lo).max()
    colors = _segment_colors()
    lines = []
    for ax, (v, (pred, true)) in zip(axes, seqs.items()):
        true_lc = LineCollection(_segments(true[0]), colors=TRUE_COLOR, linewidths=3.5)
        pred_lc = LineCollection(_segments(pred[0]), colors=colors, linewidths=1.8)
        ax.add_collection(true_lc), ax.add_collection(pred_lc)
        ax.set_xlim(lo[0] - pad, hi[0] + pad), ax.set_ylim(hi[1] + pad, lo[1] - pad)
        ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(VARIANT_LABEL.get(v, v), fontsize=9)
        lines.append((true_lc, pred_lc, pred, true))
    fig.suptitle(title, fontsize=8)
    fig.text(0.5, 0.86, subtitle, ha="center", fontsize=8, style="italic", wrap=True)
    label = fig.text(0.5, 0.02, "", ha="center", fontsize=7, color="#555555")
    n = min(len(t) for *_, t in lines)
    frames = []
    for t in range(n):
        for true_lc, pred_lc, pred, true in lines:
            true_lc.set_segments(_segments(true[t]))
            pred_lc.set_segments(_segments(pred[t]))
        label.set_text(f"frame {t + 1}/{n} (15 fps); generated (colour), true (grey)")
        canvas.draw()
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return frames


def encode_webm(frames: list[np.ndarray], out: Path, speech: tuple[np.ndarray, int] | None = None,
                fps: int = FPS) -> Path:
    """Frames (equal-sized RGB uint8) → WebM (VP8; Opus audio when ``speech`` = (waveform, rate) is given,
    cut or padded to the frames' duration)."""
    import imageio_ffmpeg

    h, w = frames[0].shape[:2]
    frames = [f[: h - h % 2, : w - w % 2] for f in frames]  # yuv420p needs even sizes
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ccnce-video-") as tmp:
        silent = Path(tmp) / "video.webm"
        writer = imageio_ffmpeg.write_frames(str(silent), (frames[0].shape[1], frames[0].shape[0]), fps=fps,
                                             codec="libvpx", macro_block_size=1, quality=None, bitrate="400k",
                                             output_params=["-auto-alt-ref", "0"])
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
        writer.close()
        if speech is None:
            silent.replace(out)
            return out
        samples, sr = speech
        n = int(round(len(frames) / fps * sr))
        samples = np.concatenate([samples[:n], np.zeros(max(0, n - len(samples)), np.float32)])
        audio = Path(tmp) / "speech.wav"
        _write_wav(audio, samples, sr)
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(silent), "-i", str(audio),
               "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "libopus", "-b:a", "48k", "-shortest", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CcnceError(f"ffmpeg could not add the speech to {out.name}: {proc.stderr.strip()[-300:]}")
    return out


def window_video(runs: pd.DataFrame, data_source: str = "synthetic", speaker: str | None = None,
                 seed: int | None = None, window: int = 0, root: str | Path | None = None,
                 out: str | Path | None = None) -> tuple[Path, str]:
    """Write the video of stored test window ``window`` (of ``generated.npz``) into :func:`media_dir` and
    return (path, a one-line description). With a synthetic dataset at ``root`` (default
    :func:`~ccnce.report.runs.synthetic_root`) the video carries the window's speech; without one it is silent
    and the description says why."""
    paths, data, speaker, seed = _qualitative_inputs(runs, data_source, speaker, seed, window)
    seqs = {v: (from_kept(np.asarray(d["pred"][window], float)), from_kept(np.asarray(d["true"][window], float)))
            for v, d in data.items()}
    root = Path(root) if root is not None else synthetic_root()
    first = next(iter(paths.values()))
    position = int(data[next(iter(data))]["window"][window]) if "window" in data[next(iter(data))] else window
    speech, words, note = None, "", ""
    src = None
    if data_source == "synthetic" and (root / "cmu_intervals_df.csv").exists():
        try:
            src = locate_window(first, position, root)
        except CcnceError as e:  # a run this build's dataset cannot place (other data, unreadable config)
            note = f"silent: the window could not be found in the synthetic dataset at {root} ({e})"
    if src is not None:
        wave, sr = interval_speech(root, speaker, src.interval_id)
        lo = int(round(src.start / FPS * sr))
        speech = (wave[lo:], sr)
        words = src.words
        note = (f"speech of test interval {src.interval_id}, frames {src.start}–{src.start + src.frames - 1}, "
                f"spoken again by eSpeak from its script")
    elif not note:
        note = ("silent: " + ("real PATS stores no waveform" if data_source != "synthetic"
                              else f"no synthetic dataset at {root} in this build, so no speech to replay"))
    title = f"{data_source} · {speaker} · seed {seed} · test window {position}"
    frames = _render(seqs, title, f"“{words}”" if words else "")
    out = Path(out) if out is not None else media_dir() / f"window-{data_source}-{speaker}-seed{seed}-{position}.webm"
    encode_webm(frames, out, speech)
    if out.stat().st_size > MAX_BYTES:
        raise CcnceError(f"{out.name} is {out.stat().st_size / 1e6:.1f} MB, over the 1 MB budget of the book's video")
    return out, note


def video_html(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs) -> str:
    """:func:`window_video` as an HTML5 ``<video>`` (controls, the file under ``_static/media``) and its note."""
    path, note = window_video(runs, data_source, **kwargs)
    return (f'<video class="ccnce-video" controls preload="auto" width="100%" '
            f'src="{MEDIA_URL}/{html.escape(path.name)}"></video>'
            f'<p class="ccnce-video-note">{html.escape(note)}.</p>')


def show_video(runs: pd.DataFrame, data_source: str = "synthetic", **kwargs) -> None:
    """Display :func:`video_html` in a notebook, or say what is missing."""
    from IPython.display import HTML, display

    from ccnce.report.notebook import show

    try:
        display(HTML(video_html(runs, data_source, **kwargs)))
    except MissingResults as e:
        show(f"*Video not available: {e}.*")

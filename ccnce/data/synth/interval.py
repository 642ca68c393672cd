"""One synthetic interval end to end: script → speech → gesture timeline → pose → every PATS key.

Everything random is drawn from one generator seeded by (dataset seed, speaker, interval index), so an
interval's content does not depend on which process makes it. The waveform additionally depends on the
order of utterances in the process (see :mod:`ccnce.data.synth.speech`), which the generator fixes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccnce.data.synth import audio, text
from ccnce.data.synth.body import assemble
from ccnce.data.synth.detector import detect, normalize
from ccnce.data.synth.motion import FPS, timeline_controls
from ccnce.data.synth.script import build_script, flatten, phrase_spans, schedule
from ccnce.data.synth.speakers import SpeakerStyle, stats
from ccnce.data.synth.speech import Synthesizer

SHORT_MAX_S = 4.0  # a deliberately short interval stays below one 64-frame window (4.27 s)


@dataclass(frozen=True)
class IntervalPlan:
    speaker: str
    index: int  # position among the speaker's intervals
    interval_id: str
    seconds: float  # target spoken length
    short: bool
    seed: tuple[int, ...]  # entropy for this interval's generator


@dataclass
class Interval:
    arrays: dict[str, np.ndarray]  # PATS key → array (text/meta excluded)
    meta: pd.DataFrame  # text/meta
    wave: np.ndarray  # float32 waveform the audio keys were computed from
    sr: int
    words: list[str]

    @property
    def n_frames(self) -> int:
        return len(self.arrays["pose/data"])

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.sr


def _truncate(wave: np.ndarray, onsets: np.ndarray, sr: int, max_s: float) -> tuple[np.ndarray, int]:
    """Cut a too-long short interval at ``max_s``; returns the wave and how many words remain."""
    if len(wave) / sr <= max_s:
        return wave, len(onsets)
    keep = max(1, int(np.searchsorted(onsets, max_s - 0.3)))
    return wave[: int(max_s * sr)], keep


def make_interval(plan: IntervalPlan, style: SpeakerStyle, synth: Synthesizer,
                  vocab: dict[str, list[int]]) -> Interval:
    """Every PATS key (and the ``synth/`` truth) of one interval; ``vocab`` maps words to WordPiece ids."""
    rng = np.random.default_rng(list(plan.seed))
    segments = build_script(rng, plan.seconds, style.voice.rate)
    words, breaks, word_family = flatten(segments, rng)
    utt = synth.speak(words, style.voice, breaks)
    sr = utt.sr
    lead = int(rng.uniform(0.05, 0.4) * sr)
    tail = int(rng.uniform(0.1, 0.5) * sr)
    wave = np.concatenate([np.zeros(lead, np.float32), utt.wave, np.zeros(tail, np.float32)])
    onsets = utt.onsets + lead / sr
    if plan.short:
        wave, keep = _truncate(wave, onsets, sr, SHORT_MAX_S)
        words, word_family, onsets = words[:keep], word_family[:keep], onsets[:keep]
    # End the audio half a pose frame after the start of the last pose frame: then every audio key
    # covers exactly the n pose frames (whatever its frame rate), and no reader has to trim.
    n = int(len(wave) * FPS / sr) + 1
    length = int(round((n - 0.5) / FPS * sr))
    wave = np.concatenate([wave, np.zeros(max(0, length - len(wave)), np.float32)])[:length]
    wave = wave + audio.room(len(wave), rng)
    duration = len(wave) / sr

    start, end = text.word_frames(onsets, n)
    spans = phrase_spans(word_family, onsets, duration)
    instances = schedule(spans, duration, rng)
    arms, gesture = timeline_controls(instances, n, style, rng)
    clean = assemble(arms, style, gesture, rng)
    neck = style.neck + rng.normal(0.0, 0.7, 2) * style.neck_std
    t = np.arange(n) / FPS
    neck_abs = neck + 0.04 * style.unit * np.stack(
        [np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3)),
         0.5 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3))], axis=1)
    data, confidence = detect(clean, np.maximum(neck_abs, 40.0), style, rng)

    phrase = np.full(n, -1, dtype=np.int64)
    for family, _, _, i, j in spans:
        phrase[int(start[i]):int(end[j])] = family
    tokens = text.frame_tokens(words, start, end, n, vocab)
    s = stats(style.name)
    arrays = {
        "pose/data": data,
        "pose/normalize": normalize(data),
        "pose/confidence": confidence,
        "audio/log_mel_400": audio.log_mel_400(wave, sr),
        "audio/log_mel_512": audio.log_mel_512(wave, sr),
        "audio/silence": audio.silence(wave, sr),
        "text/tokens": tokens,
        "text/bert": text.frame_bert(tokens, s["text/bert/mean"], np.sqrt(s["text/bert/var"])),
        "text/w2v": text.frame_w2v(words, start, end, n),
        "synth/gesture": gesture,
        "synth/phrase": phrase,
    }
    return Interval(arrays=arrays, meta=text.meta_frame(words, start, end), wave=wave, sr=sr, words=words)

"""What a synthetic speaker says in one interval, and which gestures go where on its timeline.

An interval's script alternates filler speech and key phrases. After eSpeak has said it, the schedule
places one gesture instance per key phrase (its class drawn from the phrase family, the preparation a
little before the phrase onset, lasting past it) and fills the remaining gaps with filler motion: rest,
beats or a gesture that no phrase explains (lexicon.FILLER_MOTION).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccnce.data.synth.lexicon import BEATS, FAMILIES, FILLER_MOTION, FILLERS, N_GESTURES, REST, sample_class
from ccnce.data.synth.motion import Instance

TOPIC_REPEAT = 0.35  # a key phrase's family repeats the previous one's (a speaker stays on a topic)
PAUSE_PROB = 0.6  # a segment ends with a comma pause
MIN_GESTURE_S, MAX_GESTURE_S = 1.5, 3.5
MERGE_GAP_S = 1.0  # same-class gestures closer than this stay up: one gesture unit


@dataclass
class Segment:
    words: list[str]
    family: int = -1  # -1: filler


def _filler(rng: np.random.Generator, n_phrases: int) -> Segment:
    picks = rng.choice(len(FILLERS), size=n_phrases)
    return Segment([w for i in picks for w in FILLERS[i].split()])


def _key(rng: np.random.Generator, previous: int) -> Segment:
    family = previous if previous >= 0 and rng.random() < TOPIC_REPEAT else int(rng.integers(len(FAMILIES)))
    phrasing = FAMILIES[family].phrasings[int(rng.integers(len(FAMILIES[family].phrasings)))]
    return Segment(phrasing.split(), family)


def build_script(rng: np.random.Generator, seconds: float, words_per_minute: float) -> list[Segment]:
    """Filler and key-phrase segments whose spoken length is about ``seconds``."""
    per_word = 60.0 / words_per_minute
    segments = [_filler(rng, int(rng.integers(1, 3)))] if seconds > 3.0 else []
    family, spoken = -1, 0.0
    while True:
        key = _key(rng, family)
        family = key.family
        segments.append(key)
        spoken = sum(len(s.words) for s in segments) * per_word * 0.95  # eSpeak is a little faster than its rate
        if spoken >= seconds:
            break
        segments.append(_filler(rng, int(rng.integers(1, 4))))
    return segments


def flatten(segments: list[Segment], rng: np.random.Generator) -> tuple[list[str], set[int], np.ndarray]:
    """All words, the indices after which to pause, and each word's family (-1: filler)."""
    words: list[str] = []
    breaks: set[int] = set()
    family = []
    for seg in segments:
        words += seg.words
        family += [seg.family] * len(seg.words)
        if rng.random() < PAUSE_PROB:
            breaks.add(len(words) - 1)
    return words, breaks, np.asarray(family, dtype=np.int64)


def phrase_spans(word_family: np.ndarray, onsets: np.ndarray, duration: float) -> list[tuple[int, float, float, int, int]]:
    """(family, start s, end s, first word, last word) of every key phrase."""
    spans = []
    ends = np.append(onsets[1:], duration)
    i = 0
    while i < len(word_family):
        j = i
        while j + 1 < len(word_family) and word_family[j + 1] == word_family[i]:
            j += 1
        if word_family[i] >= 0:
            spans.append((int(word_family[i]), float(onsets[i]), float(ends[j]), i, j))
        i = j + 1
    return spans


def schedule(spans: list[tuple[int, float, float, int, int]], duration: float,
             rng: np.random.Generator) -> list[Instance]:
    """Gesture instances on the timeline (seconds, non-overlapping, sorted).

    A key phrase's gesture starts 0.1–0.4 s before the phrase and outlasts it; when the next key phrase
    calls for the same class soon after, the hands stay up and the two merge into one gesture unit.
    """
    keyed: list[Instance] = []
    prev_end = 0.0
    for family, t0, t1, _, _ in spans:
        cls = sample_class(FAMILIES[family], rng)
        onset = max(t0 - rng.uniform(0.1, 0.4), prev_end + 0.1, 0.0)
        length = np.clip((t1 - onset + rng.uniform(0.3, 0.8)) * rng.uniform(1.0, 1.3), MIN_GESTURE_S, MAX_GESTURE_S)
        offset = min(onset + length, duration)
        if keyed and keyed[-1].cls == cls and onset - keyed[-1].offset < MERGE_GAP_S:
            keyed[-1].offset = offset
        elif offset - onset >= 0.8:
            keyed.append(Instance(cls, onset, offset, family))
        else:
            continue  # no room: the phrase is said without its gesture (it happens)
        prev_end = offset
    instances = list(keyed)
    bounds = [0.0] + [x for inst in keyed for x in (inst.onset, inst.offset)] + [duration]
    kinds = [k for k, _ in FILLER_MOTION]
    probs = np.array([p for _, p in FILLER_MOTION])
    for g0, g1 in zip(bounds[::2], bounds[1::2]):
        start = g0 + rng.uniform(0.1, 0.4)
        while g1 - 0.1 - start >= MIN_GESTURE_S:
            kind = kinds[rng.choice(len(kinds), p=probs)]
            length = min(rng.uniform(MIN_GESTURE_S, MAX_GESTURE_S), g1 - 0.1 - start)
            if kind != "rest":
                cls = BEATS if kind == "beats" else int(rng.choice([c for c in range(N_GESTURES) if c != REST]))
                instances.append(Instance(cls, start, start + length))
            start += length + rng.uniform(0.3, 1.0)
    return sorted(instances, key=lambda inst: inst.onset)

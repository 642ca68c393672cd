"""Real speech for the synthetic speakers: espeak-ng through ctypes, with word timings from its events.

The pip package ``espeakng-loader`` ships ``libespeak-ng.so`` and its voice data; we drive the C API in
synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``): the synthesis callback receives 16-bit samples and
``espeakEVENT_WORD`` events whose ``audio_position`` (ms from the start of the utterance) is when each
word is actually said. Those onsets are what ``text/meta``, ``text/tokens`` and the gesture strokes are
aligned to.

Determinism (checked, see tests/test_synth.py): eSpeak's wave generator keeps state across utterances
inside one process (pitch phase, flutter, resonators); ``espeak_Terminate`` does not reset it and neither
do the random seeds. The *same sequence of utterances in a fresh process* is byte-identical, so the
generator synthesises every work unit (one speaker) in its own fresh process, in a fixed order. We still
seed eSpeak's and libc's random generators before each utterance.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from ccnce.errors import DataError

# espeak_AUDIO_OUTPUT, espeak_EVENT_TYPE, espeak_PARAMETER, flags (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """An eSpeak voice (language + variant, e.g. ``en-us+m3``), speed in words per minute, pitch 0–99."""

    name: str
    rate: int
    pitch: int
    pitch_range: int = 50


@dataclass
class Utterance:
    """A synthesised word sequence: float32 waveform in [-1, 1] and each word's onset in seconds."""

    wave: np.ndarray
    sr: int
    onsets: np.ndarray  # (n_words,) seconds, non-decreasing


class Synthesizer:
    """One eSpeak engine. Create at most one per process: the C library is a process-wide singleton."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - a pinned dependency
            raise DataError("the synthetic dataset needs the package espeakng-loader (pip install it)") from e
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._libc = ctypes.CDLL(None)
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self._lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.sr = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                              espeakng_loader.get_data_path().encode(), _INITIALIZE_DONT_EXIT)
        if self.sr <= 0:
            raise DataError(f"espeak-ng failed to initialise (status {self.sr})")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int]] = []  # (text_position, audio_position ms) of word events
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: the C side holds a raw pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: Voice | None = None

    def _on_audio(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                self._events.append((events[i].text_position, events[i].audio_position))
            i += 1
        return 0

    def set_voice(self, voice: Voice) -> None:
        if voice == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise DataError(f"espeak-ng has no voice {voice.name!r}")
        for param, value in ((_PARAM_RATE, voice.rate), (_PARAM_PITCH, voice.pitch),
                             (_PARAM_RANGE, voice.pitch_range), (_PARAM_VOLUME, 100)):
            self._lib.espeak_SetParameter(param, value, 0)
        self._voice = voice

    def speak(self, words: list[str], voice: Voice, breaks: set[int] = frozenset(), seed: int = 1) -> Utterance:
        """Say ``words`` (lower-case, no punctuation) with a comma pause after each index in ``breaks``.

        Word events are matched to words by their character position in the text we built.
        """
        self.set_voice(voice)
        text, starts = _compose(words, breaks)
        self._chunks, self._events = [], []
        self._lib.espeak_ng_SetRandSeed(seed)
        self._libc.srand(seed)
        data = text.encode()
        status = self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if status != 0 or not self._chunks:
            raise DataError(f"espeak-ng could not synthesise {text[:60]!r} (status {status})")
        wave = np.concatenate(self._chunks).astype(np.float32) / 32768.0
        return Utterance(wave=wave, sr=self.sr, onsets=_match_onsets(starts, self._events, len(wave) / self.sr))


def _compose(words: list[str], breaks: set[int]) -> tuple[str, list[int]]:
    """The text to say and the 1-based character position where each word starts (eSpeak's convention)."""
    parts, starts, pos = [], [], 1
    for i, word in enumerate(words):
        starts.append(pos)
        piece = word + ("," if i in breaks else "") + " "
        parts.append(piece)
        pos += len(piece)
    return "".join(parts).rstrip(), starts


def _match_onsets(starts: list[int], events: list[tuple[int, int]], duration: float) -> np.ndarray:
    """Onset (s) of each word: the word event nearest its character position at or after the word start.

    A word without its own event (eSpeak merged it with a neighbour) starts where the previous word does;
    the result is made non-decreasing so that words tile time.
    """
    if not events:
        raise DataError("espeak-ng reported no word events")
    if len(events) == len(starts):  # the usual case: one event per word, in order
        onsets = np.array([ms for _, ms in events], dtype=float) / 1000.0
        return np.maximum.accumulate(np.clip(onsets, 0.0, duration))
    ev_pos = np.array([p for p, _ in events])
    ev_ms = np.array([ms for _, ms in events], dtype=float)
    onsets = np.empty(len(starts))
    for i, s in enumerate(starts):
        # eSpeak reports some positions one character early (after a clause break): allow it
        j = int(np.argmin(np.abs(ev_pos - s)))
        onsets[i] = ev_ms[j] / 1000.0
    onsets = np.maximum.accumulate(np.clip(onsets, 0.0, duration))
    return onsets

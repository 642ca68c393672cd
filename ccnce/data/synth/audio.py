"""PATS audio features from a waveform, with exactly the parameters of PATS.md.

- ``audio/log_mel_400``: resampled to 16 kHz, n_fft 512, window 400, hop 160 (100 Hz), 64 mel bands
  125–7500 Hz, magnitude (power 1) mel, ``center=False``, natural log with zeros replaced by 1e-6.
- ``audio/log_mel_512``: at the native sample rate, n_fft 2048, hop 512, 128 mel bands, power mel,
  natural log with zeros replaced by 1e-10. PATS's native rate is 44.1 kHz (~86 Hz frames); eSpeak's is
  22050 Hz, so the synthetic ``log_mel_512`` runs at ~43 Hz. Readers align by time, not by frame count.
- ``audio/silence``: 1 where the waveform is silent, per 1/30 s, so ~2×T long like the real key (a known
  bug of the original pipeline, reproduced on purpose).
"""

from __future__ import annotations

import numpy as np

MEL400_SR = 16000
SILENCE_RATE = 30.0
SILENCE_RMS = 0.01


def log_mel_400(wave: np.ndarray, sr: int) -> np.ndarray:
    """(Ta, 64) float64 log magnitude mel spectrogram at 100 Hz (PATS ``audio/log_mel_400``)."""
    import librosa

    y = librosa.resample(wave, orig_sr=sr, target_sr=MEL400_SR) if sr != MEL400_SR else wave
    mel = librosa.feature.melspectrogram(y=y, sr=MEL400_SR, n_fft=512, win_length=400, hop_length=160,
                                         n_mels=64, fmin=125, fmax=7500, power=1.0, center=False)
    mel = mel.astype(np.float64)
    mel[mel == 0] = 1e-6
    return np.log(mel).T


def log_mel_512(wave: np.ndarray, sr: int) -> np.ndarray:
    """(Ta, 128) float64 log power mel spectrogram at sr/512 Hz (PATS ``audio/log_mel_512``)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=wave, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
    mel = mel.astype(np.float64)
    mel[mel == 0] = 1e-10
    return np.log(mel).T


def silence(wave: np.ndarray, sr: int) -> np.ndarray:
    """(~2T,) int64: 1 where the RMS of a 1/30 s block is below the speech threshold, else 0."""
    block = sr / SILENCE_RATE
    n = int(len(wave) / block)
    edges = np.round(np.arange(n + 1) * block).astype(int)
    rms = np.array([np.sqrt(np.mean(wave[a:b].astype(np.float64) ** 2)) for a, b in zip(edges[:-1], edges[1:])])
    return (rms < SILENCE_RMS).astype(np.int64)


def room(n: int, rng: np.random.Generator, level: float = 3e-4) -> np.ndarray:
    """A quiet noise floor (about -70 dBFS), so that silence is not digital zero."""
    return (level * rng.normal(size=n)).astype(np.float32)
